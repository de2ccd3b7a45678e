"""Personal details members type (member IDs, SSNs, birth dates, phone
numbers, emails) never reach the tracker store or the servers' log, on
either member channel; the member is told once, and still gets the answer.

Two real set-ups: the session's assistant (SQLite tracker store, normal log
level) and one with the Postgres tracker store and Rasa's debug log, which
logs every message it receives."""

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from channels.member_channel import PERSONAL_DETAILS_NOTICE
from channels.member_input import normalise_text
from launch.cluster import cluster_stores, reachable
from launch.servers import Assistant
from rasa_server.nlg import response_text
from tests.support.personal_details import CORPUS
from tests.support.prerequisites import skip_unless_required
from tests.support.replies import ends_with_a_closing_line
from tests.support.servers import running_assistant, send_rest
from tests.support.socketio_client import ChatClient, ends_with_id_card_line
from tests.support.tracker_store import stored_events, user_events

pytestmark = pytest.mark.slow

Reply = List[Dict[str, Any]]
NOTICE = "Please don't share personal details"
# Each message holds details and a real question; the secrets are what must
# not be stored or logged anywhere, in forms long enough not to turn up by
# chance (in a timestamp, say).
MESSAGES = [
    ("my member id is XOF839201557, does my texas hmo cover massage at a spa?", ["839201557"]),
    ("SSN 518-47-2963 - do i need a referral for massage therapy?", ["518-47-2963", "518472963"]),
    (
        "does massage therapy need prior authorization? I was born 04/17/1961, my phone is (312) 555-0187",
        ["04/17/1961", "555-0187", "3125550187"],
    ),
    (
        "email jane.r.doe@example.org or 2145550199 please: is out of network massage covered?",
        ["jane.r.doe", "2145550199"],
    ),
    ("my dob is March 3, 1975 and group number is 77120449", ["March 3, 1975", "77120449"]),
]
SECRETS = [secret for _, secrets in MESSAGES for secret in secrets]


def coverage_of(reply: Reply) -> Optional[Dict[str, Any]]:
    payloads = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
    return payloads[-1] if payloads else None


def notices_in(reply: Reply) -> int:
    return sum(NOTICE in message.get("text", "") for message in reply)


def socketio_conversation(assistant: Assistant) -> Tuple[str, List[Reply]]:
    """The conversation id and the replies of one widget-like conversation.

    The widget is also given each message as the server kept it: every one
    of them here had personal details, so each comes back, without them.
    """

    async def conversation() -> Tuple[str, List[Reply], List[str]]:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            session_id = await client.connect()
            replies = [await client.ask(session_id, text) for text, _ in MESSAGES]
            return session_id, replies, client.member_texts
        finally:
            await client.close()

    session_id, replies, member_texts = asyncio.run(conversation())
    assert len(member_texts) == len(MESSAGES)
    assert all("[…]" in text for text in member_texts)
    for secret in SECRETS:
        assert secret not in str(member_texts)
    return session_id, replies


def check_replies(replies: List[Reply]) -> None:
    """Told once, at the first message, and every question still answered."""
    assert [notices_in(reply) for reply in replies] == [1] + [0] * (len(replies) - 1)
    assert replies[0][0]["text"].startswith(NOTICE), "the notice comes before the answer"
    topics = [(coverage_of(reply) or {}).get("topic") for reply in replies]
    assert topics[:4] == ["spa_wellness", "referral", "prior_authorization", "out_of_network"]
    assert (coverage_of(replies[0]) or {}).get("state") == "TX"
    assert all(ends_with_id_card_line(reply) for reply in replies)
    for reply in replies:
        for secret in SECRETS:
            assert secret not in str(reply)


def stored_events_when_saved(
    tracker_store_url: str, sender_ids: List[str], user_messages: int
) -> List[Dict[str, Any]]:
    """The conversations' events once all their member messages are stored.

    Rasa sends the reply before it saves the turn, so the last turn of a
    conversation may reach the store a moment after the member saw it.
    """
    deadline = time.monotonic() + 30
    while True:
        events = stored_events(tracker_store_url, sender_ids)
        if len(user_events(events)) >= user_messages or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def check_nothing_kept(tracker_store_url: str, log_path: Path, sender_ids: List[str]) -> None:
    """No secret in these stored conversations or in the log; placeholders stored instead."""
    events = stored_events_when_saved(tracker_store_url, sender_ids, len(MESSAGES) * len(sender_ids))
    stored = str(events)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    for secret in SECRETS:
        assert secret not in stored, secret
        assert secret not in log, secret
    texts = [event["text"] for event in user_events(events)]
    assert len(texts) == len(MESSAGES) * len(sender_ids)
    assert all("[" in text for text in texts), texts  # placeholders where the details were
    assert "Removed personal details from a member message" in log


def test_rest_and_socketio_with_the_sqlite_store(
    assistant: Assistant, assistant_dir: Path, send: Callable[..., Reply]
) -> None:
    sender = f"pii-rest-{uuid.uuid4().hex[:10]}z"
    check_replies([send(sender, text) for text, _ in MESSAGES])
    session_id, socket_replies = socketio_conversation(assistant)
    check_replies(socket_replies)
    check_nothing_kept(
        assistant.rasa_server.env["TRACKER_STORE_URL"], assistant_dir / "servers.log", [sender, session_id]
    )


@pytest.fixture(scope="module")
def postgres_debug_assistant(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Assistant]:
    """An assistant on the Postgres tracker store, logging at debug level."""
    stores = dict(cluster_stores(), LOCK_STORE_TYPE="in_memory")
    if not reachable("127.0.0.1", 5432):
        skip_unless_required("Postgres is not reachable on 127.0.0.1:5432")
    run_dir = tmp_path_factory.mktemp("pii-postgres")
    with running_assistant(
        run_dir, stores=stores, extra_rasa_args=["--debug"], site_origins=["http://127.0.0.1:9"]
    ) as running:
        running.run_dir = run_dir  # type: ignore[attr-defined]
        yield running


def test_rest_and_socketio_with_the_postgres_store_and_debug_log(
    postgres_debug_assistant: Assistant,
) -> None:
    assistant = postgres_debug_assistant
    sender = f"pii-pg-{uuid.uuid4().hex[:10]}z"

    check_replies([send_rest(assistant.rest_url, sender, text) for text, _ in MESSAGES])
    session_id, socket_replies = socketio_conversation(assistant)
    check_replies(socket_replies)
    log_path = assistant.run_dir / "servers.log"  # type: ignore[attr-defined]
    # Rasa's debug log writes every parsed message: a leak would show here.
    assert "processor.message.parse" in log_path.read_text(encoding="utf-8", errors="replace")
    check_nothing_kept(assistant.rasa_server.env["TRACKER_STORE_URL"], log_path, [sender, session_id])


# --- The corpus of formats (tests/support/personal_details.py) ------------------


def corpus_secrets() -> List[str]:
    """Every secret of the corpus as typed and as the channel normalises it,
    except short digit runs ("1975", "2963"), which turn up by chance in ports
    and timestamps (tests/channels checks those on the text itself)."""
    variants = []
    for _, secrets in CORPUS:
        for secret in secrets:
            variants += [secret, normalise_text(secret)]
    return sorted({secret for secret in variants if not (secret.isdigit() and len(secret) < 7)})


def run_corpus(assistant: Assistant, log_path: Path) -> Tuple[int, int]:
    """The whole corpus over REST and socket.io; (formats tried, leaks found)."""
    sender = f"corpus-rest-{uuid.uuid4().hex[:10]}z"
    rest_replies = [send_rest(assistant.rest_url, sender, text) for text, _ in CORPUS]

    async def conversation() -> Tuple[str, List[Reply]]:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            session_id = await client.connect()
            # A corpus message names Medicare, which is not an HCSC plan: from then
            # on the conversation's answers close with the other-insurer line.
            return session_id, [
                await client.ask(session_id, text, until=ends_with_a_closing_line) for text, _ in CORPUS
            ]
        finally:
            await client.close()

    session_id, socket_replies = asyncio.run(conversation())
    for replies in (rest_replies, socket_replies):
        assert all(ends_with_a_closing_line(reply) for reply in replies)
        assert [notices_in(reply) for reply in replies] == [1] + [0] * (len(replies) - 1)
    events = stored_events_when_saved(
        assistant.rasa_server.env["TRACKER_STORE_URL"], [sender, session_id], 2 * len(CORPUS)
    )
    stored = json.dumps(events, ensure_ascii=False)
    log = log_path.read_text(encoding="utf-8", errors="replace")
    replies_text = json.dumps(rest_replies + socket_replies, ensure_ascii=False)
    leaks = [
        secret for secret in corpus_secrets() if secret in stored or secret in log or secret in replies_text
    ]
    assert leaks == []
    return len(CORPUS), len(leaks)


def test_the_corpus_leaves_nothing_in_the_sqlite_store_or_log(
    assistant: Assistant, assistant_dir: Path
) -> None:
    assert run_corpus(assistant, assistant_dir / "servers.log") == (len(CORPUS), 0)


def test_the_corpus_leaves_nothing_in_the_postgres_store_or_debug_log(
    postgres_debug_assistant: Assistant,
) -> None:
    log_path = postgres_debug_assistant.run_dir / "servers.log"  # type: ignore[attr-defined]
    assert run_corpus(postgres_debug_assistant, log_path) == (len(CORPUS), 0)


def test_a_question_around_personal_details_is_still_answered(send: Callable[..., Reply]) -> None:
    reply = send(
        f"answerable-{uuid.uuid4().hex[:10]}z",
        "my member id is XYZ123456789 and dob 4/12/1980, is massage covered?",
    )
    assert reply[0]["text"].startswith(NOTICE)
    coverage = coverage_of(reply)
    assert coverage is not None and coverage["topic"] == "coverage_overview"
    assert "123456789" not in json.dumps(reply) and "4/12/1980" not in json.dumps(reply)


@pytest.mark.parametrize("metadata", [None, {"lang": "es"}])
def test_a_first_message_in_spanish_gets_the_notice_in_spanish(
    send: Callable[..., Reply], metadata: Optional[Dict[str, Any]]
) -> None:
    # The notice comes before NLU reads the message: the message's language is set first.
    reply = send(
        f"spanish-details-{uuid.uuid4().hex[:10]}z",
        "mi fecha de nacimiento es 5 de mayo de 1970 y mi id es XOF 1234 5678 90, "
        "me cubren masajes en fisioterapia?",
        metadata,
    )
    notice = response_text(PERSONAL_DETAILS_NOTICE, language="es")
    assert reply[0]["text"].startswith(notice.split(".")[0]), reply[0]["text"]
    coverage = coverage_of(reply)
    assert coverage is not None and coverage["language"] == "es"
    assert "1970" not in json.dumps(reply) and "5678" not in json.dumps(reply)
