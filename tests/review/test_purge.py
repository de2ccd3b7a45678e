"""Retention: `make purge DAYS=N` deletes exactly the conversations whose last
event is older than N days, from real Rasa SQL tracker stores (SQLite here,
Postgres in a database of its own), and the review report states it."""

import asyncio
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from tests.support.postgres import fresh_database
from tools import purge as purge_cli
from tools import review
from tools.review_store import engine_for, last_purge

DAY = 86400.0
# Conversation -> the ages (days) of its events. Only "old" and "old-twice"
# end before the 30-day limit; "came-back" started 40 days ago but its last
# event is from yesterday, so it stays whole.
CONVERSATIONS: Dict[str, List[float]] = {
    "old": [45.0, 44.9],
    "old-twice": [60.0, 31.0],
    "came-back": [40.0, 1.0],
    "recent": [2.0, 0.1],
    "just-inside": [29.5],
}
KEPT = {"came-back", "recent", "just-inside"}


def fill(url: str, now: float) -> Dict[str, str]:
    """The conversations in a real Rasa SQL tracker store; their sender ids."""
    store = SQLTrackerStore(host=url)
    senders = {name: f"{name}-{uuid.uuid4().hex[:8]}" for name in CONVERSATIONS}

    async def save_all() -> None:
        for name, ages in CONVERSATIONS.items():
            events = []
            for age in ages:
                at = now - age * DAY
                events += [
                    UserUttered("is massage covered?", timestamp=at),
                    BotUttered("It depends on your plan.", timestamp=at + 1),
                    ActionExecuted("action_listen", timestamp=at + 2),
                ]
            await store.save(DialogueStateTracker.from_events(senders[name], events))

    asyncio.run(save_all())
    store.engine.dispose()
    return senders


def remaining(url: str) -> List[str]:
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT DISTINCT sender_id FROM events").fetchall()
    finally:
        engine.dispose()
    return [row[0] for row in rows]


def check_purge(url: str, tmp_path: Path) -> None:
    senders = fill(url, time.time())
    assert purge_cli.main(["--days", "30", "--store", url]) == 0
    assert sorted(remaining(url)) == sorted(senders[name] for name in KEPT)
    engine = engine_for(url)
    try:
        logged = last_purge(engine)
    finally:
        engine.dispose()
    assert logged is not None and logged[1:] == (30, 2)
    # A second purge finds nothing more to delete.
    assert purge_cli.main(["--days", "30", "--store", url]) == 0
    assert len(remaining(url)) == len(KEPT)
    # The report states the retention in force.
    assert "kept 30 days after a conversation's last message" in review.retention_text(url)


def test_purge_on_sqlite(tmp_path: Path) -> None:
    check_purge(f"sqlite:///{tmp_path / 'tracker.db'}", tmp_path)


def test_purge_needs_a_number_of_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAYS", raising=False)
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert purge_cli.main(["--store", f"sqlite:///{tmp_path / 'tracker.db'}"]) == 2
    assert purge_cli.main(["--days", "0", "--store", f"sqlite:///{tmp_path / 'tracker.db'}"]) == 2


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the local Postgres, dropped afterwards."""
    with fresh_database("purge_test") as url:
        yield url


@pytest.mark.slow
def test_purge_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    check_purge(postgres_url, tmp_path)
