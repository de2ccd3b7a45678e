"""The bounded tracker store (rasa_server/tracker_store.py) gives the tracker
Rasa's own SQL tracker store gives, where it matters, and stores every event
exactly once.

Conversations are generated (Hypothesis) from the turns this assistant's
conversations are made of (questions that set slots, coverage answers, core
fallbacks that Rasa undoes, restarts, slot resets, session starts, pauses),
stored with Rasa's SQLTrackerStore, then read back by both stores on the same
database (SQLite here, Postgres in a slow test) and compared: slots, the
latest message, action and bot message, the recent applied events, the
states RulePolicy featurises, and the coverage answer feedback would rate.
"""

import asyncio
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.core.actions.action import ActionSessionStart
from rasa.core.tracker_store import AwaitableTrackerStore, FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

import rasa_server.tracker_store as bounded_store
from actions.action_record_feedback import last_coverage
from launch.paths import PROJECT_DIR
from rasa_server import fixes
from rasa_server.tracker_store import INDEXES, LoadedTracker, RecentHistorySQLTrackerStore
from tests.support.postgres import fresh_database

fixes.apply_fixes()
DOMAIN = Domain.load(PROJECT_DIR / "domain.yml")
SLOTS = ["state", "plan_type", "topic", "care_setting"]
VALUES = ["TX", "IL", "hmo", "ppo", "referral", "spa", None]
RECENT_TURNS = 2
MAX_TURNS = 6
COVERAGE_ACTION = "action_answer_coverage"

# One turn: its kind, and the slots (with values) it sets.
Turn = Tuple[str, List[Tuple[str, Optional[str]]]]
TURN_KINDS = ["question", "coverage", "fallback", "restart", "reset", "session", "pause"]
turns = st.lists(
    st.tuples(
        st.sampled_from(TURN_KINDS),
        st.lists(st.tuples(st.sampled_from(SLOTS), st.sampled_from(VALUES)), max_size=3),
    ),
    max_size=30,
)


def conversation_events(plan: List[Turn]) -> List[Event]:
    """The events Rasa stores for these turns, in order, with rising timestamps."""
    clock = iter(range(1_000_000, 2_000_000))
    values: Dict[str, Any] = {}

    def at() -> float:
        return float(next(clock))

    def session_start() -> List[Event]:
        events: List[Event] = [ActionExecuted("action_session_start", timestamp=at())]
        events += [SessionStarted(timestamp=at())]
        events += [
            SlotSet(name, value, timestamp=at()) for name, value in values.items() if value is not None
        ]
        return events + [ActionExecuted("action_listen", timestamp=at())]

    events = session_start()
    for number, (kind, slots) in enumerate(plan):
        sets = [SlotSet(name, value, timestamp=at()) for name, value in slots]
        if kind == "session":
            events += session_start()
            continue
        events += [UserUttered(f"message {number}", {"name": "inform", "confidence": 1.0}, timestamp=at())]
        if kind == "fallback":
            # Slots from the message, then the core fallback, which Rasa undoes.
            events += [*sets, ActionExecuted("action_default_fallback", timestamp=at())]
            events += [BotUttered("Sorry?", timestamp=at()), UserUtteranceReverted(timestamp=at())]
            events += [ActionExecuted("action_listen", timestamp=at())]
            continue
        values.update(dict(slots))
        action = COVERAGE_ACTION if kind == "coverage" else "utter_greet"
        events += [ActionExecuted(action, timestamp=at()), *sets]
        if kind == "coverage":
            payload = {"coverage": {"topic": f"topic {number}", "rules": [f"rule.{number}"]}}
            events += [
                BotUttered(f"answer {number}", timestamp=at()),
                BotUttered(data={"custom": payload}, timestamp=at()),
            ]
        else:
            events += [BotUttered(f"reply {number}", timestamp=at())]
        if kind == "restart":
            events += [ActionExecuted("action_restart", timestamp=at()), Restarted(timestamp=at())]
            values.clear()
        elif kind == "reset":
            events += [ActionExecuted("action_reset_all", timestamp=at()), AllSlotsReset(timestamp=at())]
            values.clear()
        elif kind == "pause":
            events += [ConversationPaused(timestamp=at()), ConversationResumed(timestamp=at())]
        events += [ActionExecuted("action_listen", timestamp=at())]
    return events


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def stores(url: str) -> Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore]:
    rasa_store = SQLTrackerStore(DOMAIN, host=url)
    bounded = RecentHistorySQLTrackerStore(
        DOMAIN, host=url, recent_turns=RECENT_TURNS, max_turns=MAX_TURNS, keep_turn_of=[COVERAGE_ACTION]
    )
    return rasa_store, bounded


def recent_applied(tracker: DialogueStateTracker) -> List[Event]:
    """The applied events from the first member message on (the recent turns, for a loaded tracker)."""
    applied = tracker.applied_events()
    first = next(
        (index for index, event in enumerate(applied) if isinstance(event, UserUttered)), len(applied)
    )
    return applied[first:]


def carried_slots(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """The slot values Rasa's action_session_start carries into a new session,
    leaving out values a slot reset cleared.

    Rasa's own list (`_slot_set_events_from_tracker`) reads `applied_events()`,
    which ignores AllSlotsReset, so it would carry over values set before a
    reset; the bounded tracker loads only values in force. The assistant never
    resets slots, so the values in force are what must match.
    """
    carried = ActionSessionStart._slot_set_events_from_tracker(tracker)
    applied = tracker.applied_events()
    resets = [index for index, event in enumerate(applied) if isinstance(event, AllSlotsReset)]
    if resets:
        in_force = {id(event) for event in applied[resets[-1] + 1 :] if isinstance(event, SlotSet)}
        applied_slots = [event for event in applied if isinstance(event, SlotSet)]
        carried = [c for c, event in zip(carried, applied_slots, strict=True) if id(event) in in_force]
    return {event.key: event.value for event in carried}


def messages_since_last(tracker: DialogueStateTracker, action_name: str) -> Optional[int]:
    """How many member messages came after the latest run of the action (None if it never ran)."""
    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == action_name:
            return count
        count += isinstance(event, UserUttered)
    return None


def check_same_tracker(
    rasa_store: SQLTrackerStore, bounded: RecentHistorySQLTrackerStore, plan: List[Turn]
) -> None:
    sender = f"conversation-{uuid.uuid4().hex}"
    events = conversation_events(plan)
    run(rasa_store.save(DialogueStateTracker.from_events(sender, events, DOMAIN.slots)))
    full = run(rasa_store.retrieve(sender))
    loaded = run(bounded.retrieve(sender))
    assert isinstance(loaded, LoadedTracker)
    assert loaded.stored_event_count == len(loaded.events) <= len(full.events)
    assert loaded.current_slot_values() == full.current_slot_values()
    assert loaded.latest_message == full.latest_message
    assert loaded.latest_action == full.latest_action
    assert loaded.latest_bot_utterance == full.latest_bot_utterance
    assert (loaded.followup_action, loaded.is_paused(), loaded.active_loop) == (
        full.followup_action,
        full.is_paused(),
        full.active_loop,
    )
    # The recent turns as Rasa applies them (a core fallback undoes its own
    # turn, so fewer than RECENT_TURNS may remain), and the states RulePolicy
    # reads for them: all but the first, which has no earlier action here.
    recent = recent_applied(loaded)
    assert recent == full.applied_events()[len(full.applied_events()) - len(recent) :]
    actions = sum(isinstance(event, ActionExecuted) for event in recent)
    if actions:
        assert loaded.past_states(DOMAIN)[-actions:] == full.past_states(DOMAIN)[-actions:]
    # A session start carries the same slot values over (Rasa copies the
    # loaded tracker's slot events: here one per slot plus the recent turns').
    assert carried_slots(loaded) == carried_slots(full)
    since_coverage = messages_since_last(full, COVERAGE_ACTION)
    if since_coverage is not None and since_coverage < MAX_TURNS:
        as_sent = [event.as_dict() for event in loaded.events]
        assert last_coverage(as_sent) == last_coverage([event.as_dict() for event in full.events])


def check_saves_only_new_events(
    rasa_store: SQLTrackerStore, bounded: RecentHistorySQLTrackerStore, plan: List[Turn]
) -> None:
    sender = f"conversation-{uuid.uuid4().hex}"
    events = conversation_events(plan)
    run(rasa_store.save(DialogueStateTracker.from_events(sender, events, DOMAIN.slots)))
    loaded = run(bounded.retrieve(sender))
    new = [
        UserUttered("one more", {"name": "inform", "confidence": 1.0}),
        ActionExecuted(COVERAGE_ACTION),
        SlotSet("state", "OK"),
        BotUttered("answer"),
        ActionExecuted("action_listen"),
    ]
    for event in new:
        loaded.update(event)
    run(bounded.save(loaded))
    run(bounded.save(loaded))  # saving again adds nothing
    every = run(rasa_store.retrieve_full_tracker(sender))
    assert list(every.events) == events + new
    assert run(bounded.retrieve(sender)).get_slot("state") == "OK"


def stored_rows(store: SQLTrackerStore, sender: str) -> List[Tuple[Any, ...]]:
    """Every column of the conversation's rows but the id, in order."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT type_name, timestamp, intent_name, action_name, data FROM events "
                "WHERE sender_id = :sender ORDER BY id"
            ),
            {"sender": sender},
        )
        return [tuple(row) for row in rows]


def check_same_rows(
    rasa_store: SQLTrackerStore, bounded: RecentHistorySQLTrackerStore, plan: List[Turn]
) -> None:
    """The bounded store writes exactly the rows Rasa's store writes for the same events."""
    events = conversation_events(plan)
    by_rasa, by_bounded = (f"rows-{uuid.uuid4().hex}" for _ in range(2))
    run(rasa_store.save(DialogueStateTracker.from_events(by_rasa, events, DOMAIN.slots)))
    tracker = bounded.init_tracker(by_bounded)
    for event in events:
        tracker.update(event)
    run(bounded.save(tracker))
    assert stored_rows(bounded, by_bounded) == stored_rows(rasa_store, by_rasa)
    assert len(stored_rows(bounded, by_bounded)) == len(events)


@pytest.fixture(scope="module")
def sqlite_stores(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'tracker.db'}"
    rasa_store, bounded = stores(url)
    yield rasa_store, bounded
    rasa_store.engine.dispose()
    bounded.engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=turns)
def test_the_bounded_tracker_is_rasas_tracker_where_it_matters(
    sqlite_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore], plan: List[Turn]
) -> None:
    check_same_tracker(*sqlite_stores, plan)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=turns)
def test_saving_adds_exactly_the_new_events(
    sqlite_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore], plan: List[Turn]
) -> None:
    check_saves_only_new_events(*sqlite_stores, plan)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=turns)
def test_the_rows_are_rasas_rows(
    sqlite_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore], plan: List[Turn]
) -> None:
    check_same_rows(*sqlite_stores, plan)


def test_a_new_conversation_through_rasa_s_wrappers_is_saved_without_counting_events(
    sqlite_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore],
) -> None:
    """Rasa wraps the configured store; a new conversation's tracker still comes from it,
    so saving its first turn writes the new events without counting the stored ones."""
    rasa_store, bounded = sqlite_stores
    wrapped = AwaitableTrackerStore(FailSafeTrackerStore(bounded))
    sender = f"wrapped-{uuid.uuid4().hex}"
    statements: List[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lower())

    sa.event.listen(bounded.engine, "before_cursor_execute", record)
    try:
        tracker = run(wrapped.get_or_create_tracker(sender, max_event_history=40))
        assert isinstance(tracker, LoadedTracker) and tracker._max_event_history == 40
        tracker.update(UserUttered("hi"))
        tracker.update(ActionExecuted("action_listen"))
        run(wrapped.save(tracker))
    finally:
        sa.event.remove(bounded.engine, "before_cursor_execute", record)
    assert not [statement for statement in statements if "count(" in statement]
    assert [type(event) for event in run(rasa_store.retrieve_full_tracker(sender)).events] == [
        ActionExecuted,
        UserUttered,
        ActionExecuted,
    ]


@pytest.mark.parametrize(
    ("last_turn", "loaded_messages"),
    [
        # The latest coverage answer long ago: back max_turns messages, no further.
        ("question", MAX_TURNS),
        # The latest coverage answer in the recent turns: those turns only.
        ("coverage", RECENT_TURNS),
    ],
)
def test_a_long_session_loads_its_state_and_recent_turns_only(
    sqlite_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore], last_turn: str, loaded_messages: int
) -> None:
    rasa_store, bounded = sqlite_stores
    plan: List[Turn] = [("coverage", [("state", "TX")])] + [("question", [("topic", "referral")])] * 200
    plan.append((last_turn, []))
    sender = f"long-{uuid.uuid4().hex}"
    run(rasa_store.save(DialogueStateTracker.from_events(sender, conversation_events(plan), DOMAIN.slots)))
    loaded = run(bounded.retrieve(sender))
    assert loaded.get_slot("state") == "TX" and loaded.get_slot("topic") == "referral"
    assert sum(isinstance(event, UserUttered) for event in loaded.events) == loaded_messages
    # The state (session start, one event per slot) and at most 7 events per turn.
    assert len(loaded.events) <= 1 + len(SLOTS) + 7 * loaded_messages + 1


def test_a_new_conversation_is_stored_whole(
    sqlite_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore],
) -> None:
    rasa_store, bounded = sqlite_stores
    sender = f"new-{uuid.uuid4().hex}"
    assert run(bounded.retrieve(sender)) is None
    tracker = run(bounded.create_tracker(sender))
    tracker.update(UserUttered("hi"))
    run(bounded.save(tracker))
    assert [type(event) for event in run(rasa_store.retrieve_full_tracker(sender)).events] == [
        ActionExecuted,
        UserUttered,
    ]


def test_the_lookup_indexes_exist_and_are_used(
    sqlite_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore],
) -> None:
    _, bounded = sqlite_stores
    names = {index["name"] for index in sa.inspect(bounded.engine).get_indexes("events")}
    assert set(INDEXES) <= names
    statements = [
        (bounded_store._latest_statement(1, 1), {"type_0": "action", "name_0": "action_listen"}),
        (bounded_store._latest_statement(2, 0), {"type_0": "restart", "type_1": "reset_slots"}),
        (bounded_store._NTH_LATEST_USER_MESSAGE, {"skip": 4}),
        (bounded_store._any_between_statement(2), {"type_0": "undo", "type_1": "pause"}),
        (bounded_store._slots_in_force_statement(2), {"slot_0": "state", "slot_1": "topic"}),
    ]
    with bounded.engine.connect() as connection:
        for statement, parameters in statements:
            values = {"sender": "x", "above": 0, "below": 10, **parameters}
            plan = connection.execute(sa.text(f"EXPLAIN QUERY PLAN {statement.text}"), values).fetchall()
            details = [str(row[-1]) for row in plan]
            # Every read of the events table seeks on one of the two indexes;
            # only the one-row results of the per-slot subqueries are scanned.
            searches = [detail for detail in details if detail.startswith("SEARCH")]
            scans = [detail for detail in details if detail.startswith("SCAN")]
            assert searches and all("INDEX ix_events_sender_type" in detail for detail in searches), details
            assert all(detail.split()[1].startswith("slot_") for detail in scans), details


def test_counts_are_checked() -> None:
    with pytest.raises(ValueError):
        RecentHistorySQLTrackerStore(DOMAIN, host="sqlite://", recent_turns=0)
    with pytest.raises(ValueError):
        RecentHistorySQLTrackerStore(DOMAIN, host="sqlite://", recent_turns=5, max_turns=4)


def test_every_rasa_event_type_is_accounted_for() -> None:
    # An upgrade that adds an event type must say whether its effect outlasts its turn.
    from rasa.shared.core.events import Event as RasaEvent
    from rasa.shared.utils.common import all_subclasses

    carried = {"slot", "restart", "reset_slots", "rewind", "session_started"}
    within_turn = {"user", "bot", "action", "followup", "entities", "user_featurization", "agent"}
    no_state = {"reminder", "cancel_reminder", "export", "event"}
    # `rasa test` marks its story evaluation with these; a server never stores them.
    no_state |= {"wrong_action", "wrong_utterance", "warning_predicted"}
    names = {cls.type_name for cls in all_subclasses(RasaEvent)}
    assert names <= carried | within_turn | no_state | set(bounded_store.LOAD_WHOLE_SESSION_AFTER), names


@pytest.fixture
def postgres_stores() -> Iterator[Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore]]:
    with fresh_database("tracker_store_test") as url:
        rasa_store, bounded = stores(url)
        try:
            yield rasa_store, bounded
        finally:
            rasa_store.engine.dispose()
            bounded.engine.dispose()


@pytest.mark.slow
def test_the_same_on_postgres(postgres_stores: Tuple[SQLTrackerStore, RecentHistorySQLTrackerStore]) -> None:
    @settings(max_examples=40, deadline=None)
    @given(plan=turns)
    def same(plan: List[Turn]) -> None:
        check_same_tracker(*postgres_stores, plan)
        check_saves_only_new_events(*postgres_stores, plan)
        check_same_rows(*postgres_stores, plan)

    same()
    names = {index["name"] for index in sa.inspect(postgres_stores[1].engine).get_indexes("events")}
    assert set(INDEXES) <= names
