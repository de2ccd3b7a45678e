"""Load: 50 REST and 20 socket.io conversations of 10 turns each, all at the
same time, against one real Rasa server and action server on loopback.

Each conversation has a plan context of its own (state and plan type, which
it changes half-way) and mixes context-setting turns with coverage questions.
Every reply must be exactly what the rules engine answers for that
conversation's own context: a reply built for another conversation's plan
counts as cross-talk. The test asserts no 5xx, no unanswered turn, no
cross-talk, no other wrong answer, and that the server's tracker store holds
each conversation's 10 turns under its own id. It prints the counts, the wall
time and turn latency percentiles, and asserts no timing.

The servers are the module's own, not the session's: the server log and the
tracker store then hold this load alone, so the test can read both.
"""

import asyncio
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import aiohttp
import pytest
import socketio

from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from plan_coverage.replies import answer_custom
from tests.support.servers import running_assistant
from tests.support.socketio_client import ChatClient, ends_with_id_card_line
from tests.support.tracker_store import stored_events, user_events

pytestmark = pytest.mark.slow

RULES = load_rules()
REST_CONVERSATIONS = 50
SOCKETIO_CONVERSATIONS = 20
TURNS = 10
SITE = "http://members.example"
# Generous bounds for a busy 2-core machine; nothing here measures speed.
TURN_TIMEOUT_S = 120.0
LOAD_TIMEOUT_S = 600.0
# socket.io conversation i follows plan SOCKETIO_OFFSET + i, apart from REST's.
SOCKETIO_OFFSET = 1000
STATES = list(RULES.context_values["state"])
PLAN_TYPES = list(RULES.context_values["plan_type"])
# Questions the end-to-end tests show the model reads as these topics, with
# the qualifiers each names (care setting, purpose, stage: issue 11); none
# names a state, plan type or insurer.
Qualifiers = Dict[str, Optional[str]]
NONE: Qualifiers = {}
QUESTIONS: List[Tuple[str, str, Qualifiers]] = [
    ("is massage therapy covered by my blue cross plan?", "coverage_overview", NONE),
    ("will bcbs pay for a massage at a day spa?", "spa_wellness", {"setting": "spa"}),
    (
        "my physical therapist wants to add massage to my rehab after knee surgery, is that covered",
        "therapy_massage",
        {"setting": "physical_therapy", "purpose": "medical"},
    ),
    (
        "i stopped improving but want to keep getting monthly massages, will they still pay",
        "maintenance_care",
        {"stage": "maintenance"},
    ),
    ("does massage therapy need prior authorization", "prior_authorization", NONE),
    ("how do i get the pre auth for massage, what do i submit", "preauth_steps", NONE),
    ("do i need a referral for massage therapy", "referral", NONE),
    ("will they reimburse an out of network provider for massage", "out_of_network", NONE),
    ("what does a therapist need to chart for massage to be reimbursed", "documentation", NONE),
    ("how many massage sessions will they cover a year", "visit_limits", NONE),
    ("how can i find out what my own plan covers", "plan_lookup", NONE),
]

Message = Dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """One member message and the plan context its answer must be for."""

    text: str
    metadata: Dict[str, str]
    context: PlanContext
    topic: Optional[str]  # None: the turn only gives the plan context

    def expected_reply(self) -> List[Message]:
        """The reply's text and custom messages, as the rules engine makes them."""
        if self.topic is None:
            return [{"text": noted_text(self.context)}]
        answer = RULES.answer(self.topic, self.context)
        return [{"text": answer.text}, {"custom": answer_custom(answer)}, {"text": answer.closing}]


@dataclass
class TurnResult:
    """What happened to one turn."""

    conversation: str
    turn: Turn
    # REST: the HTTP status. socket.io has none per turn: 200 once the reply
    # came; a server error there shows as a dropped connection or no reply.
    status: Optional[int] = None
    reply: List[Message] = field(default_factory=list)
    latency_s: float = 0.0
    finished_at: float = 0.0  # time.perf_counter() when the reply was complete
    error: str = ""


def plan_type_button(plan_type: str) -> str:
    """The payload of the plan-type button the assistant offers (a command members may send)."""
    return "/inform" + json.dumps({"plan_type": plan_type})


def plan_in_words(state: str, plan_type: str) -> str:
    """A member saying their plan: "i have a ppo plan in texas"."""
    label = RULES.context_values["plan_type"][plan_type].lower()
    article = "an" if plan_type == "hmo" else "a"
    return f"i have {article} {label} plan in {RULES.context_values['state'][state].lower()}"


def conversation_plan(index: int) -> List[Turn]:
    """Ten turns for conversation `index`: its plan context, questions, a new plan type, questions.

    Even conversations say their plan in the first message; odd ones are on
    a member portal that sends the plan as metadata with every message. Both
    switch plan type with the plan-type button at turn 6, which re-answers
    the question before it.
    """
    state, plan_type = STATES[index % len(STATES)], PLAN_TYPES[(index // len(STATES)) % len(PLAN_TYPES)]
    new_plan_type = PLAN_TYPES[(PLAN_TYPES.index(plan_type) + 1) % len(PLAN_TYPES)]
    portal = index % 2 == 1
    metadata = {"state": state, "plan_type": plan_type} if portal else {}
    questions = iter([QUESTIONS[(index + k) % len(QUESTIONS)] for k in range(TURNS)])
    turns: List[Turn] = []
    if not portal:
        turns.append(Turn(plan_in_words(state, plan_type), metadata, PlanContext(state, plan_type), None))
    while len(turns) < 5:
        text, topic, qualifiers = next(questions)
        turns.append(Turn(text, metadata, PlanContext(state, plan_type, **qualifiers), topic))
    asked = turns[-1]
    # The plan-type button re-answers the question before it, qualifiers and all.
    turns.append(
        Turn(
            plan_type_button(new_plan_type),
            metadata,
            replace(asked.context, plan_type=new_plan_type),
            asked.topic,
        )
    )
    while len(turns) < TURNS:
        text, topic, qualifiers = next(questions)
        turns.append(Turn(text, metadata, PlanContext(state, new_plan_type, **qualifiers), topic))
    return turns


def noted_text(context: PlanContext) -> str:
    """The reply to a message that only gives the plan context."""
    return str(RULES.prompts["context_noted"].format(plan=RULES.describe_plan(context)))


# What a context-only message gets for each plan: one for another plan is cross-talk.
NOTED_TEXTS = {noted_text(PlanContext(state, plan_type)) for state in STATES for plan_type in PLAN_TYPES}


def comparable(reply: List[Message]) -> List[Message]:
    """The parts of a reply members see that the test compares: text and custom payloads."""
    return [{key: message[key] for key in ("text", "custom") if key in message} for message in reply]


def contexts_in(reply: List[Message]) -> List[Tuple[Optional[str], Optional[str]]]:
    """The plan contexts a reply's coverage payloads are for."""
    return [
        (message["custom"]["coverage"].get("state"), message["custom"]["coverage"].get("plan_type"))
        for message in reply
        if "coverage" in (message.get("custom") or {})
    ]


# --- REST ------------------------------------------------------------------


async def rest_conversation(session: aiohttp.ClientSession, url: str, index: int) -> List[TurnResult]:
    """One member's conversation over the REST channel, turn after turn."""
    sender = f"load-rest-{index}-{uuid.uuid4().hex[:8]}"
    results = []
    for turn in conversation_plan(index):
        result = TurnResult(sender, turn)
        body: Dict[str, Any] = {"sender": sender, "message": turn.text}
        if turn.metadata:
            body["metadata"] = turn.metadata
        started = time.perf_counter()
        try:
            async with session.post(url, json=body) as response:
                result.status = response.status
                content = await response.text()
            result.reply = json.loads(content) if result.status == 200 else []
            if result.status != 200:
                result.error = content[:200]
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            result.error = repr(error)
        result.finished_at = time.perf_counter()
        result.latency_s = result.finished_at - started
        results.append(result)
    return results


# --- socket.io -------------------------------------------------------------


async def socketio_conversation(base_url: str, index: int) -> Tuple[List[TurnResult], int, float]:
    """One member's conversation over socket.io (long-polling, from the member site).

    Returns the turns, how often the server dropped the connection, and how
    long connecting took (up to the session id).
    """
    client = ChatClient(base_url, origin=SITE)
    dropped = 0
    closing = False

    def on_disconnect() -> None:
        nonlocal dropped
        dropped += 0 if closing else 1

    client.sio.on("disconnect", on_disconnect)
    plan = conversation_plan(SOCKETIO_OFFSET + index)
    started = time.perf_counter()
    try:
        session_id = await client.connect()
    except (socketio.exceptions.ConnectionError, asyncio.TimeoutError) as error:
        failed = [TurnResult(f"socketio-{index}", turn, error=f"no session: {error!r}") for turn in plan]
        return failed, dropped, time.perf_counter() - started
    connect_s = time.perf_counter() - started
    results: List[TurnResult] = []
    try:
        for turn in plan:
            result = TurnResult(session_id, turn)
            # A coverage answer ends with the ID-card line; a noted plan is one message.
            complete = ends_with_id_card_line if turn.topic is not None else bool
            started = time.perf_counter()
            try:
                result.reply = await client.ask(session_id, turn.text, turn.metadata, until=complete)
                result.status = 200
            except (socketio.exceptions.SocketIOError, asyncio.TimeoutError) as error:
                result.error = repr(error)
            result.finished_at = time.perf_counter()
            result.latency_s = result.finished_at - started
            results.append(result)
    finally:
        closing = True
        await client.close()
    return results, dropped, connect_s


# --- the load ----------------------------------------------------------------


PROBLEMS = ("5xx", "unanswered", "cross-talk", "wrong answer")


def problems_of(result: TurnResult) -> List[str]:
    """What went wrong with one turn, as kinds from PROBLEMS.

    Cross-talk: a reply addressed to another conversation, or for another
    plan context than this conversation's own.
    """
    own_context = (result.turn.context.state, result.turn.context.plan_type)
    foreign_recipients = {m.get("recipient_id") for m in result.reply} - {None, result.conversation}
    foreign_noted = {m.get("text") for m in result.reply} & (NOTED_TEXTS - {noted_text(result.turn.context)})
    cross_talk = bool(foreign_recipients or foreign_noted) or any(
        context != own_context for context in contexts_in(result.reply)
    )
    answered = result.status == 200 and bool(result.reply)
    wrong = answered and not cross_talk and comparable(result.reply) != result.turn.expected_reply()
    found = {
        "5xx": result.status is not None and result.status >= 500,
        "unanswered": not answered,
        "cross-talk": answered and cross_talk,
        "wrong answer": wrong,
    }
    return [kind for kind, failed in found.items() if failed]


@dataclass
class LoadReport:
    """Counts over every turn of every conversation."""

    results: List[TurnResult]
    wall_s: float  # from the start of the load to this channel's last reply
    dropped_connections: int = 0
    connect_s: List[float] = field(default_factory=list)  # socket.io: time to a session

    def problems(self, kind: str) -> List[str]:
        """Descriptions of the turns with one kind of problem (one of PROBLEMS)."""
        return [
            f"{r.conversation} {r.turn.text!r} {r.turn.context}: status {r.status} {r.error} "
            f"reply {comparable(r.reply)}"[:600]
            for r in self.results
            if kind in problems_of(r)
        ]

    def summary(self, channel: str) -> str:
        latencies = sorted(r.latency_s for r in self.results if r.status == 200)
        p50 = statistics.median(latencies) if latencies else float("nan")
        p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
        conversations = len({r.conversation for r in self.results})
        counts = ", ".join(f"{kind} {len(self.problems(kind))}" for kind in PROBLEMS)
        connecting = f"; slowest connect {max(self.connect_s):.1f} s" if self.connect_s else ""
        return (
            f"{channel}: {conversations} conversations, {len(self.results)} turns answered within "
            f"{self.wall_s:.1f} s of the start (both channels at once); {counts}; dropped connections "
            f"{self.dropped_connections}; turn latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000 if latencies else float('nan'):.0f} ms{connecting}"
        )


async def run_load(assistant: Assistant) -> Tuple[LoadReport, LoadReport]:
    """Every REST and socket.io conversation at the same time; one report per channel."""
    timeout = aiohttp.ClientTimeout(total=TURN_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=REST_CONVERSATIONS)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        started = time.perf_counter()
        rest = asyncio.gather(
            *(rest_conversation(session, assistant.rest_url, i) for i in range(REST_CONVERSATIONS))
        )
        sio = asyncio.gather(
            *(socketio_conversation(assistant.base_url, i) for i in range(SOCKETIO_CONVERSATIONS))
        )
        rest_results, sio_results = await asyncio.wait_for(asyncio.gather(rest, sio), LOAD_TIMEOUT_S)
    rest_turns = [r for conversation in rest_results for r in conversation]
    sio_turns = [r for conversation, _, _ in sio_results for r in conversation]
    return (
        LoadReport(rest_turns, wall_time(rest_turns, started)),
        LoadReport(
            sio_turns,
            wall_time(sio_turns, started),
            sum(dropped for _, dropped, _ in sio_results),
            [connect_s for _, _, connect_s in sio_results],
        ),
    )


def wall_time(results: List[TurnResult], started: float) -> float:
    """From the start of the load to the last reply (closing connections not counted)."""
    return max((r.finished_at for r in results), default=started) - started


@pytest.fixture(scope="module")
def load_server(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """One action server and one Rasa server for the load, with a log and tracker store of their own."""
    with running_assistant(tmp_path_factory.mktemp("load"), site_origins=[SITE]) as running:
        yield running


def stored_turns(assistant: Assistant, conversation: str) -> Tuple[int, Optional[str], Optional[str]]:
    """What the server's tracker store holds of a conversation: its member
    turns, and the state and plan type it last set."""
    events = stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [conversation])
    slots = {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
    return len(user_events(events)), slots.get("state"), slots.get("plan_type")


def test_concurrent_conversations_get_their_own_answers(
    load_server: Assistant, capsys: pytest.CaptureFixture
) -> None:
    rest, sio = asyncio.run(run_load(load_server))
    with capsys.disabled():
        print(f"\n[load] {rest.summary('REST')}\n[load] {sio.summary('socket.io')}")

    for report, conversations in ((rest, REST_CONVERSATIONS), (sio, SOCKETIO_CONVERSATIONS)):
        assert len(report.results) == conversations * TURNS
        for kind in PROBLEMS:
            found = report.problems(kind)
            assert not found, f"{len(found)} turns with {kind}:\n" + "\n".join(found[:5])
    assert sio.dropped_connections == 0

    # The server's own record: each conversation's 10 turns under its own id,
    # ending on its own plan context.
    for report in (rest, sio):
        for conversation in {r.conversation for r in report.results}:
            last = [r.turn for r in report.results if r.conversation == conversation][-1]
            stored = stored_turns(load_server, conversation)
            assert stored == (TURNS, last.context.state, last.context.plan_type), conversation

    # running_assistant keeps the servers' log beside their tracker store.
    tracker_db = Path(load_server.rasa_server.env["TRACKER_STORE_URL"].removeprefix("sqlite:///"))
    log = (tracker_db.parent / "servers.log").read_text(errors="replace")
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]


def test_every_conversation_has_a_plan_context_of_its_own() -> None:
    # The load can only show cross-talk if conversations differ: all 20 state
    # and plan type pairs occur, and every plan has 10 turns that need answers.
    plans = [conversation_plan(i) for i in range(REST_CONVERSATIONS)]
    assert {(p[0].context.state, p[0].context.plan_type) for p in plans} == {
        (s, t) for s in STATES for t in PLAN_TYPES
    }
    for plan in plans:
        assert len(plan) == TURNS
        assert plan[-1].context.plan_type != plan[0].context.plan_type
        assert sum(turn.topic is not None for turn in plan) >= TURNS - 1


def test_the_checks_tell_cross_talk_from_other_problems() -> None:
    turn = conversation_plan(0)[1]
    other = Turn(turn.text, {}, replace(turn.context, state="MT", plan_type="medicaid"), turn.topic)
    own_reply = [dict(m, recipient_id="me") for m in turn.expected_reply()]
    assert problems_of(TurnResult("me", turn, 200, own_reply)) == []
    assert problems_of(TurnResult("me", turn, 200, other.expected_reply())) == ["cross-talk"]
    assert problems_of(TurnResult("you", turn, 200, own_reply)) == ["cross-talk"]
    noted = conversation_plan(0)[0]
    assert problems_of(TurnResult("me", noted, 200, [{"text": noted_text(other.context)}])) == ["cross-talk"]
    assert problems_of(TurnResult("me", turn, 200, own_reply[:1])) == ["wrong answer"]
    assert problems_of(TurnResult("me", turn, 502)) == ["5xx", "unanswered"]
    assert problems_of(TurnResult("me", turn, None, error="timeout")) == ["unanswered"]
