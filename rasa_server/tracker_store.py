"""The SQL tracker store, with work per message that does not grow with the
conversation's length.

Rasa's SQLTrackerStore loads every event of a conversation session on each
message, replays them into a tracker, and RulePolicy then featurises the
whole history twice per turn (`DialogueStateTracker.past_states`); the action
server is sent the whole history too, and saving counts the session's stored
events to find the new ones. Over 300 turns the median reply time grew about
six-fold (`make bench`).

`RecentHistorySQLTrackerStore` stores exactly what Rasa's store stores (same
table, one row per event, every event of every conversation, so `make review`
and `make purge` read it as before) but loads a bounded tracker:

- the session's current state: the `session_started` event, the latest
  `restart` or `reset_slots` after it, and each slot's latest `slot` event
  that is still in force (not undone by a later `rewind`, the core
  fallback's UserUtteranceReverted);
- the recent turns, whole: the last `recent_turns` member messages with
  everything after them, reaching back to the turn of the latest run of an
  action in `keep_turn_of` (the coverage answer that `action_record_feedback`
  rates), but never more than `max_turns` member messages back.

Those are a subsequence of the session's events, in their stored order, so
replaying them gives the tracker Rasa would build: the same slots, latest
message, latest action and bot message, and the same predictions, since this
assistant's rules look at the last turn only. Sessions holding an event whose
effect outlasts its turn and which the above does not carry (`undo`, loops,
pauses; this assistant sends none) are loaded whole, as Rasa does.

Saving writes only the events added since the tracker was loaded (Rasa
counts the stored events instead, which a bounded tracker would get wrong).
Each lookup is an index seek on two indexes this store adds to Rasa's
`events` table, so the work per message is the same at turn 300 as at turn 30.

Session starts need nothing special: Rasa's `action_session_start` copies
the slot events it finds in the loaded tracker, which here are at most the
current value of each slot plus those of the recent turns.
"""

import itertools
import json
import logging
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    AllSlotsReset,
    Event,
    Restarted,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

logger = logging.getLogger(__name__)

DEFAULT_RECENT_TURNS = 5
DEFAULT_MAX_TURNS = 50

# Events whose effect outlasts their turn and that the bounded load does not
# carry over: a session holding one before its recent turns is loaded whole.
# (The others either end with their turn, such as followup, entities and
# user_featurization, or are carried: slot, restart, reset_slots, rewind.)
LOAD_WHOLE_SESSION_AFTER = (
    "undo",
    "pause",
    "resume",
    "active_loop",
    "form",
    "loop_interrupted",
    "form_validation",
    "action_execution_rejected",
)
# The indexes every lookup seeks on; Rasa's table has one on sender_id only.
INDEXES = {
    "ix_events_sender_type_id": ("sender_id", "type_name", "id"),
    "ix_events_sender_type_name_id": ("sender_id", "type_name", "action_name", "id"),
}


class LoadedTracker(DialogueStateTracker):
    """A tracker that knows how many of its events are already stored.

    `stored_event_count` is the number of leading events of `events` that
    the store holds; `save` writes the ones after them.
    """

    stored_event_count: int = 0


def event_row(sender_id: Text, event: Event) -> Dict[Text, Any]:
    """The `events` table row Rasa's SQLTrackerStore stores for `event` (column name to value)."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


class RecentHistorySQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store loading the current state and the recent turns only.

    Configured in endpoints.yml like Rasa's (`url` a full SQLAlchemy URL),
    plus `recent_turns` (member messages always loaded, at least 1),
    `max_turns` (the most member messages ever loaded for `keep_turn_of`)
    and `keep_turn_of` (action names). Raises ValueError for counts below 1
    or max_turns below recent_turns.
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        recent_turns: int = DEFAULT_RECENT_TURNS,
        max_turns: int = DEFAULT_MAX_TURNS,
        keep_turn_of: Sequence[Text] = (),
        **kwargs: Any,
    ) -> None:
        recent_turns, max_turns = int(recent_turns), int(max_turns)
        if recent_turns < 1 or max_turns < recent_turns:
            raise ValueError(
                f"recent_turns must be at least 1 and max_turns at least recent_turns, "
                f"not {recent_turns} and {max_turns}"
            )
        super().__init__(domain=domain, host=host, event_broker=event_broker, **kwargs)
        self.recent_turns = recent_turns
        self.max_turns = max_turns
        self.keep_turn_of = tuple(keep_turn_of or ())
        self._create_indexes()

    def _create_indexes(self) -> None:
        """Add the lookup indexes to an existing or new `events` table.

        Several servers may start at once on one Postgres: a lost race is
        harmless (the index exists), and any other failure only costs speed.
        """
        for name, columns in INDEXES.items():
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON events ({', '.join(columns)})")
                    )
            except DBAPIError as error:
                logger.warning("Could not create the tracker store index %s: %s", name, type(error).__name__)

    def init_tracker(self, sender_id: Text) -> DialogueStateTracker:
        """A new, empty tracker; none of its events are stored yet."""
        return LoadedTracker(sender_id, self.domain.slots, max_event_history=self.max_event_history)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The tracker of the latest session: its current state and recent turns
        (module docstring); None for a conversation with no events."""
        with self.session_scope() as session:
            rows = self._recent_history(session, sender_id)
        events = [json.loads(data) for data in rows]
        if not (self.domain and events):
            return None
        tracker = LoadedTracker.from_dict(sender_id, events, self.domain.slots)
        tracker.stored_event_count = len(tracker.events)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events (for trackers this store did not
        load, the events Rasa's own store would add).

        The rows are Rasa's (SQLTrackerStore.save), written in one INSERT of
        all of them instead of one ORM object each: a member turn adds about
        six events, and the ORM's unit of work cost more than the database.
        """
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [
                event_row(tracker.sender_id, event) for event in self._additional_events(session, tracker)
            ]
            if rows:
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
            session.commit()
        if isinstance(tracker, LoadedTracker):
            tracker.stored_event_count = len(tracker.events)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterable:
        if isinstance(tracker, LoadedTracker):
            return itertools.islice(tracker.events, tracker.stored_event_count, None)
        return super()._additional_events(session, tracker)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publish the new events to the event broker, if one is configured."""
        if self.event_broker is None or not isinstance(tracker, LoadedTracker):
            await super().stream_events(tracker)
            return
        new_events = list(itertools.islice(tracker.events, tracker.stored_event_count, None))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    # ---- the bounded load ------------------------------------------------

    def _recent_history(self, session: Session, sender_id: Text) -> List[str]:
        """The JSON of the events to load, in stored order (see the module docstring)."""
        ids = _Lookups(session, sender_id)
        session_start = ids.latest([SessionStarted.type_name])
        floor = session_start if session_start is not None else 0
        tail_start = self._tail_start(ids, floor)
        if tail_start is None or ids.any_between(LOAD_WHOLE_SESSION_AFTER, floor, tail_start):
            # A short session, or one whose state the bounded load cannot carry.
            return ids.data(since=floor)
        cut = ids.latest([Restarted.type_name, AllSlotsReset.type_name], above=floor, below=tail_start)
        prefix = [start for start in (session_start, cut) if start is not None]
        slot_names = tuple(slot.name for slot in self.domain.slots)
        prefix += ids.slots_in_force(slot_names, above=cut if cut is not None else floor, below=tail_start)
        return ids.data(since=tail_start, also=prefix)

    def _tail_start(self, ids: "_Lookups", floor: int) -> Optional[int]:
        """The id of the first event of the recent turns, or None when the
        session has no more member messages than `recent_turns`."""
        first_message = ids.nth_latest_user_message(self.recent_turns, above=floor)
        if first_message is None:
            return None
        kept = ids.latest([ActionExecuted.type_name], above=floor, action_names=self.keep_turn_of)
        if kept is not None and kept < first_message:
            kept_message = ids.latest([UserUttered.type_name], above=floor, below=kept)
            if kept_message is not None:
                # Back to that turn, but no further than max_turns member messages.
                oldest = ids.nth_latest_user_message(self.max_turns, above=floor)
                first_message = max(kept_message, oldest if oldest is not None else floor)
        listen = ids.latest(
            [ActionExecuted.type_name], above=floor, below=first_message, action_names=[ACTION_LISTEN_NAME]
        )
        return listen if listen is not None else first_message


# Plain SQL on Rasa's `events` table (the same for SQLite and Postgres), each
# statement an index seek; texts are built once and cached.
_NO_ID = -1
_BIG_ID = 2**62


@lru_cache(maxsize=None)
def _latest_statement(type_count: int, with_action_names: int) -> TextClause:
    types = ", ".join(f":type_{index}" for index in range(type_count))
    names = ", ".join(f":name_{index}" for index in range(with_action_names))
    return sa.text(
        f"SELECT MAX(id) FROM events WHERE sender_id = :sender AND type_name IN ({types}) "
        + (f"AND action_name IN ({names}) " if with_action_names else "")
        + "AND id > :above AND id < :below"
    )


# Member messages a `rewind` (the core fallback's UserUtteranceReverted) did
# not undo: a rewind undoes its own turn, from the member message on.
_NOT_UNDONE = (
    "NOT EXISTS (SELECT 1 FROM events r WHERE r.sender_id = :sender AND r.type_name = 'rewind' "
    "AND r.id > {row}.id AND r.id < COALESCE((SELECT MIN(u.id) FROM events u "
    "WHERE u.sender_id = :sender AND u.type_name = 'user' AND u.id > {row}.id), :below))"
)
_NTH_LATEST_USER_MESSAGE = sa.text(
    "SELECT m.id FROM events m WHERE m.sender_id = :sender AND m.type_name = 'user' AND m.id > :above "
    f"AND {_NOT_UNDONE.format(row='m')} ORDER BY m.id DESC LIMIT 1 OFFSET :skip"
)


@lru_cache(maxsize=None)
def _any_between_statement(type_count: int) -> TextClause:
    types = ", ".join(f":type_{index}" for index in range(type_count))
    return sa.text(
        f"SELECT id FROM events WHERE sender_id = :sender AND type_name IN ({types}) "
        "AND id > :above AND id < :below LIMIT 1"
    )


@lru_cache(maxsize=None)
def _slots_in_force_statement(slot_count: int) -> TextClause:
    # For each slot, its latest slot event that no rewind undid: a rewind
    # undoes the events after its turn's member message, so a slot event is
    # undone when a rewind follows it before the next member message.
    one_slot = (
        "SELECT id FROM (SELECT s.id FROM events s "
        "WHERE s.sender_id = :sender AND s.type_name = 'slot' AND s.action_name = :slot_{index} "
        f"AND s.id > :above AND s.id < :below AND {_NOT_UNDONE.format(row='s')} "
        "ORDER BY s.id DESC LIMIT 1) AS slot_{index}"
    )
    return sa.text(" UNION ALL ".join(one_slot.format(index=index) for index in range(slot_count)))


@lru_cache(maxsize=None)
def _data_statement(extra_ids: int) -> TextClause:
    extra = ", ".join(f":id_{index}" for index in range(extra_ids))
    return sa.text(
        "SELECT data FROM events WHERE sender_id = :sender AND "
        + (f"(id >= :since OR id IN ({extra}))" if extra_ids else "id >= :since")
        + " ORDER BY id"
    )


class _Lookups:
    """Index seeks into one conversation's rows of Rasa's `events` table."""

    def __init__(self, session: Session, sender_id: Text) -> None:
        self.session = session
        self.sender_id = sender_id

    def _scalar(self, statement: TextClause, **parameters: Any) -> Optional[int]:
        value = self.session.execute(statement, {"sender": self.sender_id, **parameters}).scalar()
        return int(value) if value is not None else None

    def latest(
        self,
        type_names: Sequence[Text],
        above: int = _NO_ID,
        below: int = _BIG_ID,
        action_names: Sequence[Text] = (),
    ) -> Optional[int]:
        """The id of the latest event of these types (and, if given, these
        action names) with above < id < below, or None."""
        parameters: Dict[str, Any] = {f"type_{index}": name for index, name in enumerate(type_names)}
        parameters.update({f"name_{index}": name for index, name in enumerate(action_names)})
        statement = _latest_statement(len(type_names), len(action_names))
        return self._scalar(statement, above=above, below=below, **parameters)

    def nth_latest_user_message(self, n: int, above: int) -> Optional[int]:
        """The id of the n-th latest member message after `above` that no
        `rewind` undid, or None if there are fewer."""
        return self._scalar(_NTH_LATEST_USER_MESSAGE, above=above, below=_BIG_ID, skip=n - 1)

    def any_between(self, type_names: Sequence[Text], above: int, below: int) -> bool:
        """True when an event of one of these types lies between the ids."""
        parameters = {f"type_{index}": name for index, name in enumerate(type_names)}
        statement = _any_between_statement(len(type_names))
        return self._scalar(statement, above=above, below=below, **parameters) is not None

    def slots_in_force(self, slot_names: Sequence[Text], above: int, below: int) -> List[int]:
        """For each slot, the id of its latest `slot` event between the ids
        that no `rewind` (the core fallback's UserUtteranceReverted) undid."""
        if not slot_names:
            return []
        parameters = {f"slot_{index}": name for index, name in enumerate(slot_names)}
        rows = self.session.execute(
            _slots_in_force_statement(len(slot_names)),
            {"sender": self.sender_id, "above": above, "below": below, **parameters},
        )
        return sorted(int(row[0]) for row in rows)

    def data(self, since: int, also: Sequence[int] = ()) -> List[str]:
        """The JSON of the events from id `since` on, and of the events `also`, in stored order."""
        parameters = {f"id_{index}": value for index, value in enumerate(also)}
        rows = self.session.execute(
            _data_statement(len(also)), {"sender": self.sender_id, "since": since, **parameters}
        )
        return [row[0] for row in rows]
