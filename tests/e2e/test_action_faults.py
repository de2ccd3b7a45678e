"""Always an answer: when the action server is down, too slow, failing or
answering nonsense, members on REST and socketio still get a reply, the
ID-card line of `utter_answer_unavailable` (rasa_server/always_a_reply.py), and once
the action server is back the next question gets its normal answer.

One real Rasa server (action timeout 3 s) for the whole module; the tests
start, stop and swap real action servers on its action port: the project's
`actions`, or the test-only `tests.e2e.faulty_actions` with a FAULT.
"""

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import aiohttp
import pytest
import socketio

from launch.servers import (
    Assistant,
    ServerProcess,
    action_server,
    embedded_stores,
    free_port,
    start_all,
)
from rasa_server.nlg import response_text
from tests.support.replies import ID_CARD

pytestmark = pytest.mark.slow

Message = Dict[str, Any]
ACTION_TIMEOUT_S = 3
WAIT_S = 60.0
UNAVAILABLE = response_text("utter_answer_unavailable")
PLAN = {"state": "TX", "plan_type": "hmo"}
# Coverage questions (the custom action answers them) and a greeting (a rule with a response).
QUESTIONS = ["do i need a referral for massage therapy?", "is massage therapy at a spa covered?"]
GREETING = "hi"
GREETING_START = "Hi! I can tell you how"
REFUSED = "could not connect to the action server"


class FaultBench:
    """The Rasa server, and whichever action server (if any) is on its action port."""

    def __init__(self, run_dir: Path) -> None:
        self.log_path = run_dir / "servers.log"
        self.log = self.log_path.open("wb")
        self.stores = embedded_stores(run_dir / "tracker.db")
        self.assistant = Assistant(
            rasa_port=free_port(),
            action_port=free_port(),
            output=self.log,
            stores=self.stores,
            extra_env={"ACTION_TIMEOUT_S": str(ACTION_TIMEOUT_S)},
        )
        self.action_server: Optional[ServerProcess] = None
        self.member_texts: List[str] = []

    def start(self) -> None:
        """Only the Rasa server: at first nothing listens on the action port."""
        self._start(self.assistant.rasa_server)

    def serve(self, fault: Optional[str] = None) -> None:
        """Replace the action server: the real one, or the faulty one with FAULT=fault."""
        self.stop_action_server()
        env = dict(self.assistant.rasa_server.env)
        package = "actions"
        if fault is not None:
            env["FAULT"] = fault
            package = "tests.e2e.faulty_actions"
        self.action_server = action_server(self.assistant.action_port, env, self.log, package)
        self._start(self.action_server)

    def stop_action_server(self) -> None:
        if self.action_server is not None:
            self.action_server.stop()
            self.action_server = None

    def stop(self) -> None:
        self.stop_action_server()
        self.assistant.rasa_server.stop()
        self.log.close()

    def _start(self, server: ServerProcess) -> None:
        try:
            start_all([server])
        except RuntimeError as error:
            pytest.fail(f"{error}; server output:\n{self.log_path.read_text(errors='replace')[-4000:]}")

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stored_events(self, sender: str) -> List[Dict[str, Any]]:
        """The conversation's events as the tracker store holds them."""
        database = self.stores["TRACKER_STORE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,))
            return [json.loads(data) for (data,) in rows]


@pytest.fixture(scope="module")
def bench(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultBench]:
    running = FaultBench(tmp_path_factory.mktemp("faults"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


class RestMember:
    """A member on the REST channel."""

    channel = "rest"

    def __init__(self, bench: FaultBench) -> None:
        self.bench = bench
        self.sender = f"faults-{uuid.uuid4().hex}"

    async def open(self) -> None:
        pass

    async def ask(self, text: str, last: Optional[Callable[[Message], bool]] = None) -> List[Message]:
        """The whole reply to one message."""
        self.bench.member_texts.append(text)
        body = {"sender": self.sender, "message": text, "metadata": PLAN}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S)) as session:
            async with session.post(self.bench.assistant.rest_url, json=body) as response:
                assert response.status == 200, await response.text()
                return list(await response.json())

    async def close(self) -> None:
        pass


class SocketMember:
    """A member on the socketio channel (long-polling client, as in test_socketio_channel.py)."""

    channel = "socketio"

    def __init__(self, bench: FaultBench) -> None:
        self.bench = bench
        self.sender = ""
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sessions: "asyncio.Queue[str]" = asyncio.Queue()
        self.messages: "asyncio.Queue[Message]" = asyncio.Queue()
        self.sio.on("session_confirm", self.sessions.put_nowait)
        self.sio.on("bot_uttered", self.messages.put_nowait)

    async def open(self) -> None:
        await self.sio.connect(self.bench.assistant.base_url, transports=["polling"])
        await self.sio.emit("session_request", {"session_id": None})
        self.sender = await asyncio.wait_for(self.sessions.get(), WAIT_S)

    async def ask(self, text: str, last: Optional[Callable[[Message], bool]] = None) -> List[Message]:
        """The bot messages for one message, up to the one `last` accepts (the ID-card line)."""
        is_last = last or (lambda message: ID_CARD in message.get("text", ""))
        self.bench.member_texts.append(text)
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.sender, "customData": PLAN})
        reply: List[Message] = []
        while not reply or not is_last(reply[-1]):
            reply.append(await asyncio.wait_for(self.messages.get(), WAIT_S))
        return reply

    async def close(self) -> None:
        await self.sio.disconnect()


MEMBER_CLASSES = (RestMember, SocketMember)


def is_greeting(message: Message) -> bool:
    return str(message.get("text", "")).startswith(GREETING_START)


async def members(bench: FaultBench) -> List[Any]:
    opened = [member_class(bench) for member_class in MEMBER_CLASSES]
    for member in opened:
        await member.open()
    return opened


def texts(reply: List[Message]) -> List[str]:
    return [message.get("text", "") for message in reply]


def coverage_of(reply: List[Message]) -> Dict[str, Any]:
    payloads = [message["custom"]["coverage"] for message in reply if "custom" in message]
    assert len(payloads) == 1, reply
    return payloads[0]


async def expect_unavailable(member: Any) -> int:
    """Coverage questions get the ID-card fallback, a greeting its normal answer.

    Returns how many member messages met the fault.
    """
    for question in QUESTIONS:
        assert texts(await member.ask(question)) == [UNAVAILABLE], (member.channel, question)
    greeting = await member.ask(GREETING, last=is_greeting)
    assert len(greeting) == 1 and is_greeting(greeting[0]), (member.channel, greeting)
    return len(QUESTIONS)


async def expect_answer(member: Any) -> None:
    """A coverage question answered normally, for the plan the portal passed."""
    reply = await member.ask("do i need a referral?")
    coverage = coverage_of(reply)
    assert (coverage["topic"], coverage["state"], coverage["plan_type"], coverage["outcome"]) == (
        "referral",
        "TX",
        "hmo",
        "required",
    ), member.channel
    assert UNAVAILABLE not in texts(reply) and ID_CARD in reply[-1]["text"]


def assert_fallbacks_recorded(bench: FaultBench, sender: str, count: int) -> None:
    """The tracker store holds each fallback as an ordinary bot utterance after the action."""
    events = bench.stored_events(sender)
    fallbacks = [
        index
        for index, event in enumerate(events)
        if event["event"] == "bot" and event.get("text") == UNAVAILABLE
    ]
    assert len(fallbacks) == count, sender
    for index in fallbacks:
        assert events[index]["metadata"]["utter_action"] == "utter_answer_unavailable"
        assert (events[index - 1]["event"], events[index - 1]["name"]) == ("action", "action_answer_coverage")


def failures_logged(bench: FaultBench, failure: str) -> int:
    return bench.log_text().count(f"Custom action 'action_answer_coverage' failed: {failure}.")


def assert_log_is_clean(bench: FaultBench, failure: str, logged_before: int, count: int) -> None:
    """The log names each failure once, and holds nothing the members wrote."""
    assert failures_logged(bench, failure) - logged_before == count
    log = bench.log_text()
    for text in set(bench.member_texts) - {GREETING}:
        assert text not in log


async def fault_then_recovery(bench: FaultBench, fault: Optional[str], failure: str) -> None:
    """Both channels meet the fault, then a real action server answers them again."""
    logged_before = failures_logged(bench, failure)
    if fault is None:
        await asyncio.to_thread(bench.stop_action_server)
    else:
        await asyncio.to_thread(bench.serve, fault)
    opened = await members(bench)
    try:
        met = {member.channel: await expect_unavailable(member) for member in opened}
        for member in opened:
            assert_fallbacks_recorded(bench, member.sender, met[member.channel])
        assert_log_is_clean(bench, failure, logged_before, sum(met.values()))
        await asyncio.to_thread(bench.serve)
        for member in opened:
            await expect_answer(member)
    finally:
        for member in opened:
            await member.close()


def test_nothing_listens_on_the_action_port(bench: FaultBench) -> None:
    """First in the module: no action server has run on this port yet (connection refused)."""
    asyncio.run(fault_then_recovery(bench, None, REFUSED))


def test_the_action_server_stops_mid_conversation(bench: FaultBench) -> None:
    async def conversation() -> None:
        await asyncio.to_thread(bench.serve)
        opened = await members(bench)
        try:
            for member in opened:
                await expect_answer(member)
            await asyncio.to_thread(bench.stop_action_server)
            logged_before = failures_logged(bench, REFUSED)
            for member in opened:
                assert await expect_unavailable(member) == len(QUESTIONS)
                assert_fallbacks_recorded(bench, member.sender, len(QUESTIONS))
            assert_log_is_clean(bench, REFUSED, logged_before, 2 * len(QUESTIONS))
            await asyncio.to_thread(bench.serve)
            for member in opened:
                await expect_answer(member)
        finally:
            for member in opened:
                await member.close()

    asyncio.run(conversation())


@pytest.mark.parametrize(
    "fault, failure",
    [
        ("slow", f"no answer within {ACTION_TIMEOUT_S} s"),
        ("raise", "the action server answered HTTP 500"),
        ("invalid", "the action server's response is not valid"),
    ],
    ids=["slow", "raise", "invalid"],
)
def test_a_faulty_action_server(bench: FaultBench, fault: str, failure: str) -> None:
    asyncio.run(fault_then_recovery(bench, fault, failure))
