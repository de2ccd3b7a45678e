"""Issue 12's reproductions on the real servers (REST and socket.io), each with
the right outcome: no stall, no 5xx, no exception in the log, no bypass of the
command gate, no hijacked conversation, one Access-Control-Allow-Origin on
HTTP long-polling.

Timing assertions compare with a baseline measured in the same test, never
an absolute time.
"""

import asyncio
import http.client
import json
import statistics
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import socketio
import websockets

from launch.servers import Assistant
from rasa_server.limits import MAX_REQUEST_BODY_BYTES
from tests.support.socketio_client import WAIT_S, ChatClient, ends_with_id_card_line
from tests.support.tracker_store import stored_events, user_events

pytestmark = pytest.mark.slow

Reply = List[Dict[str, Any]]
QUESTION = "does my texas hmo need a referral for massage therapy?"
# What a traceback or a failed handler leaves in the servers' log.
EXCEPTION_MARKERS = ("Traceback", "RecursionError", "TypeError", "handler error", "Exception in")


def new_sender(prefix: str = "rel") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}z"


def post(
    assistant: Assistant, body: bytes, content_type: Optional[str] = "application/json"
) -> Tuple[int, bytes, http.client.HTTPMessage]:
    """One POST to the REST channel as given; status, body and headers."""
    address = urllib.parse.urlsplit(assistant.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    headers = {"Content-Length": str(len(body))}
    if content_type is not None:
        headers["Content-Type"] = content_type
    try:
        try:
            connection.request("POST", "/webhooks/rest/webhook", body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = connection.getresponse()
        return response.status, response.read(), response.msg
    finally:
        connection.close()


def ask(assistant: Assistant, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> Reply:
    body: Dict[str, Any] = {"sender": sender, "message": text}
    if metadata is not None:
        body["metadata"] = metadata
    status, reply, _ = post(assistant, json.dumps(body).encode())
    assert status == 200, reply[:300]
    return list(json.loads(reply))


def coverage_of(reply: Reply) -> Optional[Dict[str, Any]]:
    payloads = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
    return payloads[-1] if payloads else None


def log_text(assistant_dir: Path) -> str:
    return (assistant_dir / "servers.log").read_text(encoding="utf-8", errors="replace")


def new_log_since(assistant_dir: Path, offset: int) -> str:
    return log_text(assistant_dir)[offset:]


# --- 1. Bounded work: no stall, size limits on every channel ---------------


def timed_ask(assistant: Assistant, sender: str, text: str) -> float:
    started = time.perf_counter()
    ask(assistant, sender, text)
    return time.perf_counter() - started


def test_a_maximal_message_does_not_stall_other_members(assistant: Assistant) -> None:
    # The largest body the REST channel accepts, all "a" (the old email pattern
    # took 17.7 s for 60,000 characters, and every other member waited).
    filler = "a" * (MAX_REQUEST_BODY_BYTES - 200)
    maximal = json.dumps({"sender": new_sender("big"), "message": filler}).encode()
    other = new_sender("other")
    ask(assistant, other, QUESTION)  # warm up this conversation
    baseline = statistics.median(timed_ask(assistant, other, QUESTION) for _ in range(5))
    started = time.perf_counter()
    status, _, _ = post(assistant, maximal)
    maximal_alone = time.perf_counter() - started
    assert status == 200

    results: Dict[str, float] = {}

    def send_maximal() -> None:
        begun = time.perf_counter()
        post(assistant, maximal)
        results["maximal"] = time.perf_counter() - begun

    thread = threading.Thread(target=send_maximal)
    thread.start()
    time.sleep(min(0.05, maximal_alone / 4))
    during = timed_ask(assistant, other, QUESTION)
    thread.join(timeout=120)
    print(
        f"baseline {baseline:.3f} s, maximal alone {maximal_alone:.3f} s, other member during {during:.3f} s"
    )
    # A maximal message costs about what a long normal one does: it is cut first.
    assert maximal_alone < 20 * baseline
    # The other member waits at most for one bounded message, not for seconds.
    assert during < 3 * (baseline + maximal_alone)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_rest_accepts_only_json(assistant: Assistant, content_type: Optional[str]) -> None:
    body = json.dumps({"sender": new_sender(), "message": QUESTION}).encode()
    status, reply, _ = post(assistant, body, content_type)
    assert status == 415
    assert json.loads(reply) == {"error": "Content-Type must be application/json."}


@pytest.mark.parametrize(
    "body",
    [
        '{"sender": "s-nested1z", "message": "hi", "metadata": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "[" * 100_000 + "]" * 100_000,
        '{"sender": "s-nested2z", "message": "hi", "metadata": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    ],
    ids=["metadata 50,000 deep", "body 100,000 deep", "metadata 40 deep"],
)
def test_json_nested_too_deeply_gets_a_400(assistant: Assistant, assistant_dir: Path, body: str) -> None:
    offset = len(log_text(assistant_dir))
    status, reply, _ = post(assistant, body.encode())
    assert status == 400, reply[:300]
    assert json.loads(reply) == {"error": "The request body is nested too deeply."}
    assert not any(marker in new_log_since(assistant_dir, offset) for marker in EXCEPTION_MARKERS)


@pytest.mark.parametrize(
    "metadata",
    [
        {"state": "OK", "plan_type": "ppo", "a": json.loads('{"a": ' * 10 + "1" + "}" * 10)},
        {"state": "OK", "plan_type": "ppo", "x": "y" * 20_000},
    ],
    ids=["metadata 11 deep", "metadata 20 KB"],
)
def test_metadata_too_deep_or_large_is_dropped_and_the_message_answered(
    assistant: Assistant, assistant_dir: Path, metadata: Dict[str, Any]
) -> None:
    offset = len(log_text(assistant_dir))
    reply = ask(assistant, new_sender("meta"), "do i need a referral for massage therapy?", metadata)
    assert reply
    # The plan context of dropped metadata is not used.
    assert (coverage_of(reply) or {}).get("state") != "OK"
    assert not any(marker in new_log_since(assistant_dir, offset) for marker in EXCEPTION_MARKERS)


@pytest.mark.parametrize(
    "sender", ["member-1\n", "member-2\r\n", "518-47-2963", "XOF839201557", "312.555.0187"]
)
def test_sender_ids_ending_in_a_newline_or_holding_personal_details_are_refused(
    assistant: Assistant, sender: str
) -> None:
    status, reply, _ = post(assistant, json.dumps({"sender": sender, "message": "hi"}).encode())
    assert status == 400
    assert "`sender`" in json.loads(reply)["error"]
    assert stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [sender]) == []


def engineio_session(assistant: Assistant, origin: str) -> Tuple[str, http.client.HTTPMessage]:
    """Open an Engine.IO long-polling session by hand; its sid and the response headers."""
    address = urllib.parse.urlsplit(assistant.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request("GET", "/socket.io/?EIO=4&transport=polling", headers={"Origin": origin})
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 200, body
        return json.loads(body[body.index("{") :])["sid"], response.msg
    finally:
        connection.close()


def test_a_huge_polling_message_gets_413(assistant: Assistant) -> None:
    sid, _ = engineio_session(assistant, assistant.site_origins[0])
    address = urllib.parse.urlsplit(assistant.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    body = ("4" + json.dumps(["user_uttered", {"message": "a" * (MAX_REQUEST_BODY_BYTES + 10)}])).encode()
    try:
        try:
            connection.request(
                "POST",
                f"/socket.io/?EIO=4&transport=polling&sid={sid}",
                body=body,
                headers={"Origin": assistant.site_origins[0], "Content-Type": "text/plain"},
            )
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = connection.getresponse()
        assert response.status == 413
    finally:
        connection.close()


def test_a_huge_websocket_message_is_refused_and_the_server_keeps_answering(
    assistant: Assistant, assistant_dir: Path
) -> None:
    url = assistant.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"

    async def send_huge() -> bool:
        async with websockets.connect(
            url, origin=assistant.site_origins[0], max_size=None, open_timeout=WAIT_S
        ) as ws:
            await asyncio.wait_for(ws.recv(), WAIT_S)  # Engine.IO open
            await ws.send("40")
            await asyncio.wait_for(ws.recv(), WAIT_S)  # Socket.IO connect
            payload = ["user_uttered", {"message": "a" * 900_000, "session_id": "x"}]
            await ws.send("42" + json.dumps(payload))
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), WAIT_S)
            except websockets.ConnectionClosed:
                return True

    assert asyncio.run(send_huge()) is True
    assert coverage_of(ask(assistant, new_sender(), QUESTION)) is not None


# --- Malformed socket.io events ----------------------------------------------


def test_malformed_socketio_events_are_answered_or_dropped(assistant: Assistant, assistant_dir: Path) -> None:
    offset = len(log_text(assistant_dir))

    async def conversation() -> Tuple[List[str], Reply]:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            await client.sio.connect(
                assistant.base_url,
                headers=client.headers,
                transports=["polling"],
                wait_timeout=int(WAIT_S),
            )
            # session_request with no payload, or the wrong types: a new session each time.
            confirmed = []
            for args in [(), (None,), ("text",), ([1, 2],), ({"session_id": 5, "session_token": []},)]:
                await client.sio.emit("session_request", *args)
                confirmed.append(await asyncio.wait_for(client.sessions.get(), WAIT_S))
            session_id = confirmed[-1]
            # user_uttered with no payload or the wrong types: dropped.
            for args in [
                (),
                (None,),
                ("hi",),
                ({"message": 5, "session_id": session_id},),
                ({"message": ["x"], "session_id": session_id},),
                ({"message": "hi", "session_id": {"a": 1}},),
                ({"message": "hi", "session_id": session_id, "customData": "[" * 100_000},),
                ({"message": "hi", "session_id": session_id, "customData": '{"a":' * 5_000},),
            ]:
                await client.sio.emit("user_uttered", *args)
            # A packet nested 200 levels deep (the limit is MAX_JSON_DEPTH).
            await client.sio.emit("user_uttered", {"deep": json.loads("[" * 200 + "]" * 200)})
            # Then a normal question on the same socket, with a deep customData string.
            deep = '{"state": "TX", "x": ' + "[" * 50_000 + "]" * 50_000 + "}"
            reply = await client.ask(session_id, QUESTION, plan=None)
            reply_deep: Reply = []
            await client.sio.emit(
                "user_uttered", {"message": QUESTION, "session_id": session_id, "customData": deep}
            )
            while not ends_with_id_card_line(reply_deep):
                reply_deep.append(await asyncio.wait_for(client.messages.get(), WAIT_S))
            return confirmed, reply + reply_deep
        finally:
            await client.close()

    confirmed, replies = asyncio.run(conversation())
    assert all(len(session_id) == 32 for session_id in confirmed)
    assert coverage_of(replies) is not None
    log = new_log_since(assistant_dir, offset)
    assert not any(marker in log for marker in EXCEPTION_MARKERS), log[-2000:]


def test_a_packet_nested_too_deeply_is_dropped_without_an_exception(
    assistant: Assistant, assistant_dir: Path
) -> None:
    offset = len(log_text(assistant_dir))
    sid, _ = engineio_session(assistant, assistant.site_origins[0])
    address = urllib.parse.urlsplit(assistant.base_url)

    def post_packet(packet: str) -> int:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            connection.request(
                "POST",
                f"/socket.io/?EIO=4&transport=polling&sid={sid}",
                body=packet.encode(),
                headers={"Origin": assistant.site_origins[0], "Content-Type": "text/plain"},
            )
            return connection.getresponse().status
        finally:
            connection.close()

    assert post_packet("40") == 200
    assert post_packet("42" + '["user_uttered",' + "[" * 100_000 + "]" * 100_000 + "]") == 200
    assert post_packet("42" + '["session_request"]') == 200
    time.sleep(1)
    log = new_log_since(assistant_dir, offset)
    assert not any(marker in log for marker in EXCEPTION_MARKERS), log[-2000:]


# --- 2. One command gate ------------------------------------------------------

BYPASSES = [
    "/ /restart",
    "\uff0frestart",
    " / /restart",
    '/ /inform{"state":"OK","plan_type":"ppo"}',
    '/ /inform{"insurer":"<img src=x onerror=alert(1)>"}',
    "/\u3000/session_start",
    '\uff0finform{"state":"IL"}',
]


@pytest.mark.parametrize("command", BYPASSES)
def test_no_spelling_of_a_command_runs_an_intent_or_sets_slots_over_rest(
    assistant: Assistant, assistant_dir: Path, command: str
) -> None:
    offset = len(log_text(assistant_dir))
    sender = new_sender("gate")
    ask(assistant, sender, "I have a Texas HMO")
    assert ask(assistant, sender, command)
    coverage = coverage_of(ask(assistant, sender, "do i need a referral for massage therapy?"))
    assert coverage is not None
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", "hmo", "required")
    events = stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [sender])
    assert not any(event["event"] == "restart" for event in events)
    assert sum(event["event"] == "session_started" for event in events) == 1
    slots = [event for event in events if event["event"] == "slot"]
    assert all(event["value"] not in ("OK", "IL", "ppo") for event in slots), slots
    assert "<img" not in json.dumps(events) and "onerror" not in json.dumps(events)
    gate_text = user_events(events)[1]["text"]
    assert not gate_text.startswith("/") and "{" not in gate_text
    log = new_log_since(assistant_dir, offset)
    for fragment in ("onerror", "<img", '"state":"OK"', "restart'", "Failed to parse arguments"):
        assert fragment not in log


def test_no_spelling_of_a_command_gets_through_over_socketio(assistant: Assistant) -> None:
    async def conversation() -> Tuple[str, Reply]:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            session_id = await client.connect()
            await client.ask(session_id, "I have a Texas HMO", until=bool)
            for command in BYPASSES:
                await client.ask(session_id, command, until=bool)
                await asyncio.sleep(0.2)
                while not client.messages.empty():
                    client.messages.get_nowait()
            return session_id, await client.ask(session_id, "do i need a referral for massage therapy?")
        finally:
            await client.close()

    session_id, reply = asyncio.run(conversation())
    coverage = coverage_of(reply)
    assert coverage is not None and (coverage["state"], coverage["plan_type"]) == ("TX", "hmo")
    events = stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [session_id])
    assert not any(event["event"] == "restart" for event in events)
    assert "<img" not in json.dumps(events)


# --- 6. Conversations bound to their owner --------------------------------------


def test_a_second_socket_cannot_join_a_conversation_without_its_token(assistant: Assistant) -> None:
    async def scenario() -> Tuple[str, str, str, List[Dict[str, Any]], Reply]:
        member = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        intruder = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            session_id = await member.connect()
            await member.ask(session_id, "I have a Texas HMO", until=bool)
            joined = await intruder.connect(session_id)  # no token
            forged = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
            joined_forged = await forged.connect(session_id, "0" * 64)
            await forged.close()
            reply = await member.ask(session_id, "do i need a referral for massage therapy?")
            await asyncio.sleep(1)
            seen: List[Dict[str, Any]] = []
            while not intruder.messages.empty():
                seen.append(intruder.messages.get_nowait())
            # The intruder posting into the member's conversation is ignored.
            await intruder.sio.emit(
                "user_uttered", {"message": "actually I have an oklahoma ppo", "session_id": session_id}
            )
            await asyncio.sleep(1)
            after = await member.ask(session_id, "do i need a referral for massage therapy?")
            return session_id, joined, joined_forged, seen, reply + after
        finally:
            await member.close()
            await intruder.close()

    session_id, joined, joined_forged, seen, replies = asyncio.run(scenario())
    assert joined != session_id and joined_forged != session_id
    assert seen == []
    assert all((coverage or {}).get("plan_type") in (None, "hmo") for coverage in [coverage_of(replies)])
    assert coverage_of(replies) is not None and coverage_of(replies)["state"] == "TX"  # type: ignore[index]


def test_rest_cannot_read_or_change_a_socketio_conversation(assistant: Assistant) -> None:
    async def start() -> Tuple[ChatClient, str]:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        session_id = await client.connect()
        await client.ask(session_id, "I have a Texas HMO", until=bool)
        return client, session_id

    async def scenario() -> Tuple[str, Reply]:
        client, session_id = await start()
        try:
            loop = asyncio.get_running_loop()
            status, body, _ = await loop.run_in_executor(
                None,
                lambda: post(
                    assistant,
                    json.dumps({"sender": session_id, "message": "actually I have an oklahoma ppo"}).encode(),
                ),
            )
            assert status == 403, body
            assert b"TX" not in body and b"hmo" not in body
            return session_id, await client.ask(session_id, "do i need a referral for massage therapy?")
        finally:
            await client.close()

    session_id, reply = asyncio.run(scenario())
    coverage = coverage_of(reply)
    assert coverage is not None and (coverage["state"], coverage["plan_type"]) == ("TX", "hmo")
    texts = [
        event["text"]
        for event in user_events(stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [session_id]))
    ]
    assert not any("oklahoma" in (text or "") for text in texts)


# --- 5. Polling transport ---------------------------------------------------------


def test_polling_responses_carry_one_allow_origin_header(assistant: Assistant) -> None:
    origin = assistant.site_origins[0]
    _, headers = engineio_session(assistant, origin)
    assert headers.get_all("Access-Control-Allow-Origin") == [origin]


def test_a_client_on_polling_only_gets_answers(assistant: Assistant) -> None:
    async def conversation() -> Reply:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            session_id = await client.connect()
            return await client.ask(session_id, QUESTION)
        finally:
            await client.close()

    assert coverage_of(asyncio.run(conversation())) is not None


def test_other_origins_still_cannot_poll(assistant: Assistant) -> None:
    async def connects() -> bool:
        client = socketio.AsyncClient(reconnection=False, request_timeout=WAIT_S)
        try:
            await client.connect(
                assistant.base_url,
                headers={"Origin": "http://evil.example"},
                transports=["polling"],
                wait_timeout=int(WAIT_S),
            )
            return True
        except socketio.exceptions.ConnectionError:
            return False
        finally:
            if client.connected:
                await client.disconnect()

    assert asyncio.run(connects()) is False
