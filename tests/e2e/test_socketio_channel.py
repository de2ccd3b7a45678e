"""The project's socketio channel (channels/site_socketio.py) on the real Rasa
server, with a python-socketio client (tests/socketio_client.py). The browser
tests (tests/widget/) cover the WebSocket transport the widget uses."""

import asyncio
from typing import Any, Dict, List

import pytest
import socketio

from channels.origins import parse_origins
from launch.servers import Assistant, free_port
from tests.support.replies import COVERAGE_PAYLOAD_KEYS
from tests.support.socketio_client import ID_CARD, WAIT_S, ChatClient

pytestmark = pytest.mark.slow


def coverage_of(reply: List[Dict[str, Any]]) -> Dict[str, Any]:
    payloads = [message["custom"]["coverage"] for message in reply if "custom" in message]
    assert len(payloads) == 1, reply
    return payloads[0]


def test_custom_payloads_arrive_as_custom_and_plan_metadata_is_used(assistant: Assistant) -> None:
    async def conversation() -> List[Dict[str, Any]]:
        client = ChatClient(assistant.base_url)
        try:
            session_id = await client.connect()
            return await client.ask(session_id, "do i need a referral?", {"state": "TX", "plan_type": "hmo"})
        finally:
            await client.close()

    reply = asyncio.run(conversation())
    custom = [message for message in reply if "custom" in message]
    assert [set(message) for message in custom] == [{"custom"}]
    coverage = coverage_of(reply)
    assert set(coverage) == COVERAGE_PAYLOAD_KEYS
    assert (coverage["topic"], coverage["state"], coverage["plan_type"], coverage["outcome"]) == (
        "referral",
        "TX",
        "hmo",
        "required",
    )
    assert "text" in reply[0] and ID_CARD in reply[-1]["text"]


def test_a_new_connection_with_the_session_id_continues_the_conversation(assistant: Assistant) -> None:
    async def conversation() -> Dict[str, Any]:
        first = ChatClient(assistant.base_url)
        session_id = await first.connect()
        noted = []
        await first.sio.emit("user_uttered", {"message": "i have an hmo", "session_id": session_id})
        noted.append(await asyncio.wait_for(first.messages.get(), WAIT_S))
        assert "HMO plan" in noted[0]["text"], noted
        await first.close()

        # A page reload: a new socket asks for the same session, with the
        # conversation token the widget kept.
        second = ChatClient(assistant.base_url)
        try:
            assert await second.connect(session_id, first.tokens[session_id]) == session_id
            return coverage_of(await second.ask(session_id, "do i need a referral?"))
        finally:
            await second.close()

    coverage = asyncio.run(conversation())
    assert (coverage["plan_type"], coverage["outcome"]) == ("hmo", "required")


def test_a_made_up_session_id_gets_a_new_session(assistant: Assistant) -> None:
    async def session_for(requested: str) -> str:
        client = ChatClient(assistant.base_url)
        try:
            return await client.connect(requested)
        finally:
            await client.close()

    confirmed = asyncio.run(session_for("../not a session id <script>"))
    assert confirmed != "../not a session id <script>"
    assert len(confirmed) == 32 and confirmed.isalnum()


def test_only_the_configured_sites_may_connect(assistant: Assistant) -> None:
    async def connects(origin: str) -> bool:
        client = ChatClient(assistant.base_url, origin=origin)
        try:
            await client.connect()
            return True
        except socketio.exceptions.ConnectionError:
            return False
        finally:
            if client.sio.connected:
                await client.close()

    assert assistant.site_origins
    assert asyncio.run(connects(assistant.site_origins[0])) is True
    assert asyncio.run(connects("http://evil.example")) is False


@pytest.mark.parametrize(
    "value, origins",
    [
        (None, []),
        ("", []),
        ("http://127.0.0.1:4173, http://localhost:4173/", ["http://127.0.0.1:4173", "http://localhost:4173"]),
        (["https://members.example"], ["https://members.example"]),
    ],
)
def test_site_origins_are_read_from_a_list_or_a_comma_separated_string(
    value: Any, origins: List[str]
) -> None:
    assert parse_origins(value) == origins


@pytest.mark.parametrize(
    "origin",
    [
        "https://*.example.com",
        "https://members.example?",
        "https://[::1]",
        "members.example.com",
        "ftp://members.example",
        "https://members.example/path",
        "https://a.example\\.b",
        "*",
    ],
)
def test_origins_that_cors_would_read_as_patterns_are_refused(origin: str) -> None:
    # Sanic-Cors matches such origins as unanchored regular expressions (SECURITY.md).
    with pytest.raises(ValueError, match="not a web origin"):
        parse_origins(f"https://members.example, {origin}")


def test_the_launcher_refuses_a_wildcard_site_origin() -> None:
    with pytest.raises(ValueError, match="not a web origin"):
        Assistant(rasa_port=free_port(), action_port=free_port(), site_origins=["https://*.example.com"])
