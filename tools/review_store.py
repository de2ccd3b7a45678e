"""The tracker store, read and trimmed for review: streaming its events for a
period, and deleting conversations past the retention period.

Rasa's SQL tracker store (SQLite or Postgres) keeps one row per event in the
table `events` (id, sender_id, type_name, timestamp, intent_name,
action_name, data). Everything here is plain SQL through SQLAlchemy, so the
same code reads both databases, and rows are streamed (a server-side cursor
on Postgres), never loaded all at once.
"""

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError

from launch.servers import EMBEDDED_TRACKER_DB

TRACKER_STORE_ENV = "TRACKER_STORE_URL"
# Purges are logged here, in the tracker store's own database, so the report
# can say which retention is in force wherever it runs.
RETENTION_TABLE = "retention_runs"
# The event types the report reads; the others (session starts, restarts...)
# say nothing about what members asked.
REVIEWED_TYPES = ("user", "bot", "action", "slot")
FETCH_ROWS = 5000


def store_url(url: Optional[str] = None) -> str:
    """The tracker store to read: the argument, TRACKER_STORE_URL, or `make run`'s SQLite file."""
    return url or os.environ.get(TRACKER_STORE_ENV) or f"sqlite:///{EMBEDDED_TRACKER_DB}"


def shown_url(url: str) -> str:
    """The store's URL without its password, for the report."""
    return make_url(url).render_as_string(hide_password=True)


def missing_sqlite_file(url: str) -> Optional[str]:
    """The SQLite file of the URL when it does not exist (nothing stored yet), else None."""
    parts = make_url(url)
    if parts.get_backend_name() != "sqlite" or not parts.database or parts.database == ":memory:":
        return None
    return None if os.path.exists(parts.database) else parts.database


def checked_store(url: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """The store URL to read (`store_url`) and its missing SQLite file, if any.

    Raises ValueError, with a one-line reason, for a URL that is not a database URL.
    """
    url = store_url(url)
    try:
        return url, missing_sqlite_file(url)
    except (ArgumentError, NoSuchModuleError):
        raise ValueError(f"the tracker store URL is not a database URL: {url.split('@')[-1]!r}") from None


def database_reason(error: DatabaseError) -> str:
    """The first line of the database's own message, without SQLAlchemy's SQL and links."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    return reason[0] if reason else type(error).__name__


def engine_for(url: str) -> Engine:
    """An engine for the store (no pool kept: one report, one connection)."""
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def has_events_table(engine: Engine) -> bool:
    return bool(sa.inspect(engine).has_table("events"))


@dataclass(frozen=True)
class EventRow:
    """One stored event, as the report needs it. `data` is None for action events."""

    sender_id: str
    type_name: str
    timestamp: float
    intent_name: Optional[str]
    action_name: Optional[str]
    data: Optional[str]


def stream_events(engine: Engine, since: datetime, until: datetime) -> Iterator[EventRow]:
    """The events of the period (since <= time < until) in the order they were stored.

    Action events come without their JSON (the name is a column), which
    keeps the stream small; rows are fetched FETCH_ROWS at a time.
    """
    query = sa.text(
        "SELECT sender_id, type_name, timestamp, intent_name, action_name, "
        "CASE WHEN type_name = 'action' THEN NULL ELSE data END "
        "FROM events WHERE timestamp >= :since AND timestamp < :until "
        "AND type_name IN ('user', 'bot', 'action', 'slot') ORDER BY id"
    )
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True).execute(
            query, {"since": since.timestamp(), "until": until.timestamp()}
        )
        while True:
            rows = result.fetchmany(FETCH_ROWS)
            if not rows:
                break
            for row in rows:
                yield EventRow(*row)


def oldest_event(engine: Engine) -> Optional[datetime]:
    """When the oldest event still in the store happened, if any."""
    with engine.connect() as connection:
        value = connection.execute(sa.text("SELECT MIN(timestamp) FROM events")).scalar()
    return None if value is None else datetime.fromtimestamp(float(value), timezone.utc)


# ---- retention ------------------------------------------------------------

_METADATA = sa.MetaData()
_RETENTION_RUNS = sa.Table(
    RETENTION_TABLE,
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("purged_at", sa.Float, nullable=False),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("conversations", sa.Integer, nullable=False),
    sa.Column("events", sa.Integer, nullable=False),
)


@dataclass(frozen=True)
class Purge:
    """What one purge removed."""

    days: int
    cutoff: datetime
    conversations: int
    events: int


def purge(engine: Engine, days: int, now: Optional[float] = None) -> Purge:
    """Delete every conversation whose last event is older than `days` days.

    A conversation is all events of one sender id: it goes as a whole, or
    stays as a whole (a member who came back yesterday keeps last month's
    turns until the whole conversation is past the limit). The purge is
    logged in `retention_runs`, one transaction with the deletion.
    """
    if days < 1:
        raise ValueError("DAYS must be a whole number of days, at least 1")
    cutoff = (time.time() if now is None else now) - days * 86400
    stale = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"
    _METADATA.create_all(engine, tables=[_RETENTION_RUNS])
    with engine.begin() as connection:
        conversations = int(
            connection.execute(
                sa.text(f"SELECT COUNT(*) FROM ({stale}) AS stale"), {"cutoff": cutoff}
            ).scalar()
            or 0
        )
        deleted = connection.execute(
            sa.text(f"DELETE FROM events WHERE sender_id IN ({stale})"), {"cutoff": cutoff}
        ).rowcount
        connection.execute(
            _RETENTION_RUNS.insert().values(
                purged_at=time.time() if now is None else now,
                days=days,
                conversations=conversations,
                events=int(deleted or 0),
            )
        )
    return Purge(days, datetime.fromtimestamp(cutoff, timezone.utc), conversations, int(deleted or 0))


def last_purge(engine: Engine) -> Optional[Tuple[datetime, int, int]]:
    """(when, days, conversations removed) of the latest purge logged in the store."""
    if not sa.inspect(engine).has_table(RETENTION_TABLE):
        return None
    with engine.connect() as connection:
        row: Any = connection.execute(
            sa.select(_RETENTION_RUNS.c.purged_at, _RETENTION_RUNS.c.days, _RETENTION_RUNS.c.conversations)
            .order_by(_RETENTION_RUNS.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return datetime.fromtimestamp(float(row[0]), timezone.utc), int(row[1]), int(row[2])
