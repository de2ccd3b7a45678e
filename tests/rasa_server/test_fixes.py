"""The project's fixes to Rasa internals keep Rasa's behaviour."""

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import jsonschema
import pytest
import rasa
import rasa.core.tracker_store
import rasa.shared.utils.common
import sqlalchemy as sa
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from launch.paths import PROJECT_DIR
from launch.servers import embedded_stores, free_port, quiet_env
from rasa_server import always_a_reply, fixes, keep_alive
from rasa_server.keep_alive import CLIENT_KEEP_ALIVE_S, KeepAliveEndpointConfig
from rasa_server.limits import DEFAULT_ACTION_TIMEOUT_S
from rasa_server.nlg import PhrasesNaturalLanguageGenerator, response_text
from tests.support.postgres import fresh_database

fixes.apply_fixes()
DOMAIN = Domain.load(PROJECT_DIR / "domain.yml")

VALID = {
    "events": [{"event": "slot", "timestamp": None, "name": "state", "value": "TX"}],
    "responses": [{"text": "Hello", "buttons": []}, {"custom": {"coverage": {"topic": "referral"}}}],
}
INVALID = [
    {"events": "not a list", "responses": []},
    {"events": [{"no_event_key": 1}], "responses": []},
    {"events": [], "responses": "nope"},
    "not an object",
    {"events": None},
    {"events": [1]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": 7}]},
    {"events": [{"event": "slot", "name": "state"}]},  # no value
    {"events": [{"event": "slot", "name": 3, "value": 1}]},
    {"events": [{"event": "entities", "entities": "TX"}]},
    {"events": [{"event": "entities", "entities": [{"entity": "state"}]}]},
    {"events": [{"event": "user", "parse_data": {"intent": "ask"}}]},
    {"events": [{"event": "user", "text": 5}]},
    {"events": [{"event": "action", "hide_rule_turn": "yes"}]},
    {"events": [{"event": "bot", "timestamp": "today"}]},
    {"events": [{"event": "bot", "metadata": []}]},
    {"events": [{"event": "session_started"}, {"event": "slot", "name": "x"}]},
    {"events": [], "responses": [1]},
]


def test_valid_action_results_pass() -> None:
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_action_results_fail_as_in_rasa(result: Any) -> None:
    with pytest.raises(jsonschema.ValidationError) as upstream:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as fixed:
        RemoteAction("action_x", None)._validate_action_result(result)
    assert fixed.value.message.startswith(upstream.value.message)
    assert "Failed to validate Action server response" in fixed.value.message


def _events_of_every_type() -> List[Dict[str, Any]]:
    import datetime

    from rasa.shared.core import events

    return [
        event.as_dict()
        for event in (
            events.UserUttered("is massage covered?", {"name": "ask_coverage", "confidence": 0.9}, []),
            events.UserUttered("/greet", {"name": "greet"}, [{"entity": "language", "value": "es"}]),
            events.ActionExecuted("action_answer_coverage", policy="RulePolicy", confidence=1.0),
            SlotSet("state", "TX"),
            SlotSet("portal_context", {"state": "TX", "plan_type": None}),
            events.EntitiesAdded([{"entity": "state", "value": "TX"}]),
            BotUttered("Massage is covered when...", {"custom": {"coverage": {"topic": "referral"}}}),
            events.FollowupAction("utter_greet"),
            events.ReminderScheduled("remind", datetime.datetime(2026, 1, 1)),
            events.ReminderCancelled(name="remind"),
            events.ActionExecutionRejected("action_x"),
            events.LoopInterrupted(True),
            events.ActiveLoop("some_form"),
            events.AllSlotsReset(),
            events.ConversationPaused(),
            events.ConversationResumed(),
            events.StoryExported(),
            events.Restarted(),
            events.ActionReverted(),
            events.UserUtteranceReverted(),
            events.SessionStarted(),
            events.AgentUttered("hi"),
        )
    ] + [
        # Legacy event types Rasa 3.6 still reads.
        {"event": "form", "name": "some_form", "timestamp": None},
        {"event": "form_validation", "validate": True, "timestamp": None},
        {"event": "user_featurization", "use_text_for_featurization": True, "timestamp": None},
    ]


def test_checking_each_event_against_its_own_type_gives_rasa_s_verdict() -> None:
    """The dispatching validator accepts exactly what Rasa's `oneOf` schema accepts."""
    fast = fixes.EventDispatchValidator.from_schema(RemoteAction.action_response_format_spec())
    assert fast is not None
    every_type = _events_of_every_type()
    assert {event["event"] for event in every_type} == set(fast.by_event_name)
    responses = [
        {"events": every_type, "responses": [{"text": "hi"}]},
        *({"events": [event]} for event in every_type),
        VALID,
        {},
        *INVALID,
    ]
    full = jsonschema.Draft202012Validator(RemoteAction.action_response_format_spec())
    for response in responses:
        assert fast.is_valid(response) == full.is_valid(response), response
    assert sum(not full.is_valid(response) for response in responses) == len(INVALID)


def test_a_schema_of_another_shape_is_left_to_the_full_check() -> None:
    schema = RemoteAction.action_response_format_spec()
    no_names = {"properties": {"events": {"items": {"oneOf": [{"type": "object"}]}}}}
    assert fixes.EventDispatchValidator.from_schema(no_names) is None
    assert fixes.EventDispatchValidator.from_schema({"type": "object"}) is None
    assert fixes.EventDispatchValidator.from_schema(schema) is not None


def test_the_dispatching_validator_is_faster_than_oneof() -> None:
    """A ratio measured in one run, not a time: the reason the fix exists."""
    import time

    response = {"events": _events_of_every_type()[:8], "responses": [{"text": "hi"}]}
    fast = fixes.EventDispatchValidator.from_schema(RemoteAction.action_response_format_spec())
    full = fixes._action_response_validator()
    assert fast is not None

    def seconds(check: Any) -> float:
        started = time.perf_counter()
        for _ in range(50):
            assert check(response)
        return time.perf_counter() - started

    assert seconds(full.is_valid) > 3 * seconds(fast.is_valid)


def test_event_types_resolve_as_in_rasa() -> None:
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        upstream = next(c for c in rasa.shared.utils.common.all_subclasses(Event) if c.type_name == name)
        assert Event.resolve_by_type(name) is upstream
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_sqlite_databases_use_the_write_ahead_log(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_the_sqlite_tracker_store_reuses_pooled_connections(tmp_path: Path) -> None:
    from sqlalchemy.pool import QueuePool

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert rasa.core.tracker_store.create_engine_kwargs(url)["poolclass"] is QueuePool
    store = rasa.core.tracker_store.SQLTrackerStore(host=url)
    assert isinstance(store.engine.pool, QueuePool)
    postgres = "postgresql://postgres@127.0.0.1:5432/test"
    assert "poolclass" not in rasa.core.tracker_store.create_engine_kwargs(postgres)


# Custom action calls: a time limit, and an answer when they fail. Each case
# runs Rasa's RemoteAction against a real HTTP server in this process.

MEMBER_TEXT = "my member question about massage at the clinic on main street"
SLOT_VALUE = "a slot value only this conversation has"
ACTION_NAME = "action_answer_coverage"


def unavailable_text() -> str:
    return response_text(always_a_reply.ANSWER_UNAVAILABLE_RESPONSE, DOMAIN)


def member_tracker() -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "member-1", [UserUttered(MEMBER_TEXT), SlotSet("topic", SLOT_VALUE)], slots=DOMAIN.slots
    )


async def serve_webhook(port: int, handler: Any) -> web.AppRunner:
    """An action server on `port` whose /webhook is `handler`; stop it with `cleanup()`."""
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def run_action(endpoint: EndpointConfig) -> List[Event]:
    """The custom action's events for `member_tracker()`, called at `endpoint`."""
    nlg = PhrasesNaturalLanguageGenerator(domain=DOMAIN)
    return await RemoteAction(ACTION_NAME, endpoint).run(
        CollectingOutputChannel(), nlg, member_tracker(), DOMAIN
    )


async def run_action_against(handler: Any, timeout: Any = None) -> List[Event]:
    """Run the custom action, through the endpoint the server uses, with an action
    server whose /webhook is `handler` (None: nothing listens on the port)."""
    port = free_port()
    settings = {} if timeout is None else {"timeout": timeout}
    endpoint = KeepAliveEndpointConfig(url=f"http://127.0.0.1:{port}/webhook", **settings)
    runner = await serve_webhook(port, handler) if handler is not None else None
    try:
        return await run_action(endpoint)
    finally:
        await endpoint.close()
        if runner is not None:
            await runner.cleanup()


async def answers_late(request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.json_response({"events": [], "responses": []})


async def fails_like_rasa_sdk(request: web.Request) -> web.Response:
    # rasa_sdk's error handler sends the whole request back: the conversation.
    return web.json_response({"error": "boom", "request_body": await request.json()}, status=500)


async def answers_invalid_events(request: web.Request) -> web.Response:
    event = {"event": "slot", "name": "topic", "value": SLOT_VALUE, "timestamp": "not a number"}
    return web.json_response({"events": [event], "responses": []})


async def answers_no_json(request: web.Request) -> web.Response:
    return web.Response(text="<html>Bad gateway</html>", content_type="text/html")


async def answers_broken_json(request: web.Request) -> web.Response:
    return web.Response(text='{"events": [', content_type="application/json")


async def is_not_found(request: web.Request) -> web.Response:
    return web.json_response({"error": "no such action", "action_name": ACTION_NAME}, status=404)


async def rejects(request: web.Request) -> web.Response:
    return web.json_response({"error": "not this turn", "action_name": ACTION_NAME}, status=400)


async def answers(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response(
        {
            "events": [{"event": "slot", "timestamp": None, "name": "state", "value": "TX"}],
            "responses": [{"text": f"Answer for {body['sender_id']}"}],
        }
    )


FAILURES = [
    pytest.param(None, None, "could not connect to the action server", id="refused"),
    pytest.param(answers_late, "0.5", "no answer within 0.5 s", id="slow"),
    pytest.param(fails_like_rasa_sdk, None, "the action server answered HTTP 500", id="error-500"),
    pytest.param(is_not_found, None, "the action server answered HTTP 404", id="error-404"),
    pytest.param(
        answers_invalid_events, None, "the action server's response is not valid", id="invalid-events"
    ),
    pytest.param(answers_no_json, None, "the action server's response is not valid", id="not-json"),
    pytest.param(answers_broken_json, None, "the action server's response is not valid", id="broken-json"),
]


@pytest.mark.parametrize("handler, timeout, failure", FAILURES)
def test_a_failed_action_call_answers_with_the_id_card_line(
    handler: Any, timeout: Optional[str], failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        events = asyncio.run(run_action_against(handler, timeout))
    assert len(events) == 1 and isinstance(events[0], BotUttered)
    assert events[0].text == unavailable_text()
    assert events[0].metadata["utter_action"] == "utter_answer_unavailable"
    logged = [r.getMessage() for r in caplog.records if r.name == "rasa_server.always_a_reply"]
    assert len(logged) == 1 and f"'{ACTION_NAME}' failed: {failure}" in logged[0]
    assert MEMBER_TEXT not in caplog.text and SLOT_VALUE not in caplog.text


def test_a_successful_action_call_is_unchanged() -> None:
    events = asyncio.run(run_action_against(answers, "5"))
    assert [type(event) for event in events] == [BotUttered, SlotSet]
    assert events[0].text == "Answer for member-1"
    assert (events[1].key, events[1].value) == ("state", "TX")


def test_a_rejected_action_call_still_reaches_rasa_as_a_rejection() -> None:
    with pytest.raises(ActionExecutionRejection) as rejection:
        asyncio.run(run_action_against(rejects))
    assert rejection.value.action_name == ACTION_NAME


def test_the_fallback_is_a_response_of_the_domain() -> None:
    assert always_a_reply.ANSWER_UNAVAILABLE_RESPONSE in DOMAIN.responses
    assert "ID card" in unavailable_text()


@pytest.mark.parametrize(
    "settings, timeout_s",
    [
        ({}, DEFAULT_ACTION_TIMEOUT_S),
        ({"timeout": ""}, DEFAULT_ACTION_TIMEOUT_S),
        ({"timeout": "2"}, 2.0),
        ({"timeout": 0.5}, 0.5),
        ({"timeout": "300"}, 300.0),
    ],
)
def test_the_action_timeout_comes_from_the_action_endpoint(
    settings: Dict[str, Any], timeout_s: float
) -> None:
    assert DEFAULT_ACTION_TIMEOUT_S < 300
    assert (
        always_a_reply.action_timeout_s(EndpointConfig(url="http://127.0.0.1:1/webhook", **settings))
        == timeout_s
    )
    assert always_a_reply.action_timeout_s(None) == DEFAULT_ACTION_TIMEOUT_S


@pytest.mark.parametrize("value", ["ten", "0", "-1", "301", "nan", "inf"])
def test_a_bad_action_timeout_stops_the_server_at_start_up(value: str, tmp_path: Path) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"action_endpoint:\n  url: http://127.0.0.1:1/webhook\n  timeout: '{value}'\n")
    with pytest.raises(RasaException, match="action_endpoint timeout"):
        AvailableEndpoints.read_endpoints(str(endpoints))


def read_project_endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> AvailableEndpoints:
    """endpoints.yml read as the server reads it, with an embedded store, an action
    server URL, ACTION_TIMEOUT_S=7 and `env` in the environment."""
    settings = {
        **embedded_stores(tmp_path / "tracker.db"),
        "ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook",
        "ACTION_TIMEOUT_S": "7",
        **env,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return AvailableEndpoints.read_endpoints(str(PROJECT_DIR / "endpoints.yml"))


def test_endpoints_yml_takes_the_action_timeout_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints = read_project_endpoints(tmp_path, monkeypatch)
    assert always_a_reply.action_timeout_s(endpoints.action) == 7.0
    assert quiet_env()["ACTION_TIMEOUT_S"] == "7"
    monkeypatch.delenv("ACTION_TIMEOUT_S")
    assert quiet_env()["ACTION_TIMEOUT_S"] == f"{DEFAULT_ACTION_TIMEOUT_S:g}" == "10"


def test_the_redis_lock_store_keeps_the_project_s_key_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa takes only a letters-and-digits prefix and otherwise falls back to its own,
    with a warning: the endpoints' prefix must be one it keeps."""
    from rasa.core.lock_store import LockStore, RedisLockStore

    endpoints = read_project_endpoints(tmp_path, monkeypatch, LOCK_STORE_TYPE="redis")
    lock_store = LockStore.create(endpoints.lock_store)
    assert isinstance(lock_store, RedisLockStore)
    prefix = endpoints.lock_store.kwargs["key_prefix"]
    assert lock_store.key_prefix == f"{prefix}:lock:"


def test_custom_action_calls_carry_no_domain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No action reads the domain, so endpoints.yml's selective domain leaves it out of every call."""
    endpoints = read_project_endpoints(tmp_path, monkeypatch)
    tracker = DialogueStateTracker.from_events("member", [UserUttered("does my plan cover massage?")])
    assert DOMAIN.user_actions
    for action_name in DOMAIN.user_actions:
        call = RemoteAction(action_name, endpoints.action)._action_call_format(tracker, DOMAIN)
        assert "domain" not in call, action_name
        assert call["tracker"]["latest_message"]["text"] == "does my plan cover massage?"


def recording_client_ports(client_ports: List[int], handler: Any) -> Any:
    """`handler`, appending each request's client port to `client_ports` first."""

    async def recording(request: web.Request) -> web.Response:
        client_ports.append(request.transport.get_extra_info("peername")[1])
        return await handler(request)

    return recording


def answered_by(events: List[Event]) -> str:
    """The text of the action's one answer (not the ID-card line)."""
    texts = [event.text for event in events if isinstance(event, BotUttered)]
    assert len(texts) == 1 and texts[0] != unavailable_text(), texts
    return texts[0]


def test_custom_action_calls_reuse_one_connection_where_rasa_opens_one_per_call() -> None:
    client_ports: List[int] = []
    records_client_port = recording_client_ports(client_ports, answers)

    async def three_calls_each() -> None:
        port = free_port()
        runner = await serve_webhook(port, records_client_port)
        kept_alive = KeepAliveEndpointConfig(url=f"http://127.0.0.1:{port}/webhook", timeout="5")
        try:
            for endpoint in [kept_alive] * 3 + [EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")] * 3:
                assert answered_by(await run_action(endpoint)) == "Answer for member-1"
        finally:
            await kept_alive.close()
            await runner.cleanup()

    asyncio.run(three_calls_each())
    assert len(client_ports) == 6
    assert len(set(client_ports[:3])) == 1
    assert len(set(client_ports[3:])) == 3 and not set(client_ports[3:]) & set(client_ports[:3])


def test_a_kept_alive_connection_gives_way_to_a_restarted_or_idle_action_server() -> None:
    client_ports: List[int] = []

    def server_named(name: str) -> Any:
        async def answers_with_name(request: web.Request) -> web.Response:
            return web.json_response({"events": [], "responses": [{"text": name}]})

        return recording_client_ports(client_ports, answers_with_name)

    async def calls_across_a_restart() -> List[str]:
        port = free_port()
        endpoint = KeepAliveEndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
        answers_seen = []
        try:
            runner = await serve_webhook(port, server_named("first"))
            answers_seen.append(answered_by(await run_action(endpoint)))
            await runner.cleanup()
            runner = await serve_webhook(port, server_named("restarted"))
            answers_seen.append(answered_by(await run_action(endpoint)))
            # Idle past the client's keep-alive (shorter than Sanic's 5 s): a new connection.
            await asyncio.sleep(CLIENT_KEEP_ALIVE_S + 0.5)
            answers_seen.append(answered_by(await run_action(endpoint)))
            await runner.cleanup()
        finally:
            await endpoint.close()
        return answers_seen

    assert asyncio.run(calls_across_a_restart()) == ["first", "restarted", "restarted"]
    assert len(set(client_ports)) == 3


def test_the_server_s_action_endpoint_keeps_connections_alive_with_every_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints = read_project_endpoints(tmp_path, monkeypatch)
    assert isinstance(endpoints.action, KeepAliveEndpointConfig)
    assert endpoints.action.url == "http://127.0.0.1:1/webhook"
    assert endpoints.action.kwargs == {"timeout": "7", "enable_selective_domain": True}
    other = EndpointConfig(
        "http://a:1/w",
        {"p": 1},
        {"h": "v"},
        {"username": "u", "password": "p"},
        "t",
        "tn",
        "ca.pem",
        type="x",
        k=2,
    )
    copy = KeepAliveEndpointConfig.from_endpoint(other)
    assert {k: v for k, v in vars(copy).items() if k not in ("_sessions", "_closing")} == vars(other)


def test_a_call_whose_connection_the_server_closed_is_sent_once_more() -> None:
    """A draining or restarting action server may close a kept-open connection under a call."""
    calls: List[int] = []

    async def closes_the_first_call(request: web.Request) -> web.Response:
        if len(calls) == 1:
            request.transport.close()
        return await answers(request)

    async def one_call() -> List[Event]:
        port = free_port()
        runner = await serve_webhook(port, recording_client_ports(calls, closes_the_first_call))
        endpoint = KeepAliveEndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
        try:
            return await run_action(endpoint)
        finally:
            await endpoint.close()
            await runner.cleanup()

    assert answered_by(asyncio.run(one_call())) == "Answer for member-1"
    assert len(calls) == 2 and calls[0] != calls[1]


@pytest.mark.parametrize(("max_age_s", "connections"), [(0.25, "several"), (30.0, "one")])
def test_sessions_are_renewed_by_age_so_new_action_servers_get_calls(
    max_age_s: float, connections: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls every 0.1 s never leave a connection idle; only the session's age moves them."""
    monkeypatch.setattr(keep_alive, "SESSION_MAX_AGE_S", max_age_s)
    client_ports: List[int] = []
    records_client_port = recording_client_ports(client_ports, answers)

    async def calls_for_a_second() -> Any:
        port = free_port()
        runner = await serve_webhook(port, records_client_port)
        endpoint = KeepAliveEndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
        try:
            for _ in range(10):
                assert answered_by(await run_action(endpoint)) == "Answer for member-1"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0)  # the retired sessions' closing tasks run
            return list(endpoint._sessions.values())[0], endpoint._closing
        finally:
            await endpoint.close()
            await runner.cleanup()

    current, closing = asyncio.run(calls_for_a_second())
    assert not closing and not current.retired
    if connections == "one":
        assert len(set(client_ports)) == 1
    else:
        assert 3 <= len(set(client_ports)) <= 10


def test_sessions_of_ended_event_loops_are_let_go() -> None:
    async def a_call(endpoint: KeepAliveEndpointConfig, port: int) -> None:
        runner = await serve_webhook(port, answers)
        try:
            assert answered_by(await run_action(endpoint)) == "Answer for member-1"
        finally:
            await runner.cleanup()

    port = free_port()
    endpoint = KeepAliveEndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
    for _ in range(3):
        asyncio.run(a_call(endpoint, port))
    assert len(endpoint._sessions) == 1


@pytest.fixture
def fresh_postgres() -> Iterator[sa.engine.URL]:
    with fresh_database("table_creation_test") as url:
        yield sa.engine.make_url(url)


@pytest.mark.parametrize("trial", range(3))
def test_servers_started_together_create_the_tables_on_a_fresh_postgres_without_a_clash(
    fresh_postgres: sa.engine.URL, caplog: pytest.LogCaptureFixture, trial: int
) -> None:
    # Four Rasa tracker stores connecting at the same moment, as the Rasa
    # servers of `make run-cluster` do. Without the fix all but one usually
    # clash on Postgres' `pg_type` and warn ("UniqueViolation", "Could not
    # create tables"), and each of those waits 5 s before trying again.
    url = fresh_postgres
    together = threading.Barrier(4)
    stores: List[rasa.core.tracker_store.SQLTrackerStore] = []

    def connect() -> None:
        together.wait()
        stores.append(
            rasa.core.tracker_store.SQLTrackerStore(
                DOMAIN,
                dialect="postgresql",
                host=url.host,
                port=url.port,
                db=url.database,
                username=url.username,
                password=url.password,
            )
        )

    with caplog.at_level(logging.WARNING, logger="rasa.core.tracker_store"):
        threads = [threading.Thread(target=connect) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    try:
        assert len(stores) == 4
        assert [r.getMessage()[:120] for r in caplog.records if r.name == "rasa.core.tracker_store"] == []
        assert "events" in sa.inspect(stores[0].engine).get_table_names()
    finally:
        for store in stores:
            store.engine.dispose()
