"""Previews never mix with member conversations, checked in a real server's own stores.

This module starts its own servers whose tracker store and event broker are
SQLite files, so the test can read exactly what the server stored for
members and what it published as traffic.
"""

import secrets
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator, List, Set, Tuple

import pytest

from launch.servers import Assistant, free_port
from tests.preview.preview_client import post_json, post_preview

pytestmark = pytest.mark.slow

ENDPOINTS = """\
action_endpoint:
  url: ${{ACTION_ENDPOINT_URL}}
tracker_store:
  type: SQL
  dialect: sqlite
  db: {trackers}
event_broker:
  type: SQL
  dialect: sqlite
  db: {events}
"""


class RecordingAssistant:
    """The assistant with SQLite tracker store and event broker files to inspect."""

    def __init__(self, folder: Path, log: Any) -> None:
        self.trackers = folder / "trackers.db"
        self.events = folder / "events.db"
        endpoints = folder / "endpoints.yml"
        endpoints.write_text(ENDPOINTS.format(trackers=self.trackers, events=self.events))
        self.assistant = Assistant(
            rasa_port=free_port(),
            action_port=free_port(),
            output=log,
            extra_rasa_args=["--endpoints", str(endpoints)],
            agent_token=secrets.token_urlsafe(24),
        )

    def stored_events(self) -> List[Tuple[str, str, str]]:
        """Every event in the tracker store: sender id, event type, event data."""
        with sqlite3.connect(self.trackers) as db:
            return list(db.execute("SELECT sender_id, type_name, data FROM events ORDER BY id"))

    def published_senders(self) -> Set[str]:
        """The conversation ids of every event the broker published."""
        with sqlite3.connect(self.events) as db:
            return {row[0] for row in db.execute("SELECT sender_id FROM events")}

    def published_count(self) -> int:
        with sqlite3.connect(self.events) as db:
            return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])


@pytest.fixture(scope="module")
def recording(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingAssistant]:
    folder = tmp_path_factory.mktemp("recording")
    with (folder / "servers.log").open("wb") as log:
        running = RecordingAssistant(folder, log)
        try:
            running.assistant.start()
        except RuntimeError as error:
            pytest.fail(
                f"{error}; server output:\n{(folder / 'servers.log').read_text(errors='replace')[-4000:]}"
            )
        try:
            yield running
        finally:
            running.assistant.stop()


def member_says(assistant: Assistant, sender: str, text: str, **metadata: str) -> List[Any]:
    return post_json(assistant.rest_url, {"sender": sender, "message": text, "metadata": metadata})


def test_previews_leave_member_conversations_and_traffic_untouched(recording: RecordingAssistant) -> None:
    assistant = recording.assistant
    member = f"member-{uuid.uuid4().hex}"
    first = member_says(assistant, member, "do i need a referral?", state="TX", plan_type="hmo")
    assert any("coverage" in (m.get("custom") or {}) for m in first)
    members_events = recording.stored_events()
    published = recording.published_count()
    assert {sender for sender, _, _ in members_events} == {member}
    assert recording.published_senders() == {member}

    token = f"Bearer {assistant.agent_token}"
    previews = [
        {"text": "do i need a referral?", "state": "OK", "plan_type": "ppo"},
        # A sender in the body is not the preview's to choose: it is ignored.
        {"text": "it's a ppo", "sender": member},
        {"text": "is massage covered?", "history": ["i have bcbs of illinois", "medicaid"]},
        {"text": "qwzx plorb vvv"},
    ]
    for body in previews:
        status, answer, content = post_preview(assistant.preview_url, body, token)
        assert status == 200, content[:300]
        assert answer["messages"]

    assert recording.stored_events() == members_events, "a preview changed the members' tracker store"
    assert recording.published_count() == published, "a preview was published as member traffic"
    assert recording.published_senders() == {member}

    # The member's own context is what it was: the previews' PPO and Oklahoma never reached it.
    again = member_says(assistant, member, "do i need a referral?")
    coverage = next(m["custom"]["coverage"] for m in again if "coverage" in (m.get("custom") or {}))
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", "hmo", "required")
    assert {sender for sender, _, _ in recording.stored_events()} == {member}
