"""Always a reply, even when Rasa itself fails.

Stock Rasa sends the member nothing when handling a message raises. A real
fault that does that: the lock store (Redis, as in the cluster) goes away.
The member channels then send the ID-card fallback (utter_answer_unavailable)
on REST and socketio, and answer normally once Redis is back. The test runs
a Redis server of its own on a free port, so it can stop it.

(A broken tracker store is not such a fault: Rasa falls back to memory and
keeps answering, which tests/e2e/test_persistence.py and the cluster tests
cover from the other side.)"""

import asyncio
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from launch.servers import Assistant, embedded_stores, free_port, port_in_use
from rasa_server.nlg import response_text
from tests.support.prerequisites import skip_unless_required
from tests.support.servers import running_assistant, send_rest
from tests.support.socketio_client import ChatClient

pytestmark = pytest.mark.slow

Reply = List[Dict[str, Any]]
UNAVAILABLE = response_text("utter_answer_unavailable")
QUESTION = "do i need a referral for massage therapy with my texas hmo?"
WHILE_DOWN = [QUESTION, "hi", "/greet", "", "my member id is XOF123456789"]


class RedisServer:
    """A throwaway Redis on a free port that keeps nothing on disk."""

    def __init__(self, run_dir: Path) -> None:
        self.port = free_port()
        self.run_dir = run_dir
        self.process: "subprocess.Popen[bytes] | None" = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.run_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not port_in_use(self.port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_and_assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if shutil.which("redis-server") is None:
        skip_unless_required("redis-server is not installed (apt-get install redis-server)")
    run_dir = tmp_path_factory.mktemp("lock-store-faults")
    redis = RedisServer(run_dir)
    redis.start()
    stores = dict(
        embedded_stores(run_dir / "tracker.db"), LOCK_STORE_TYPE="redis", LOCK_STORE_PORT=str(redis.port)
    )
    try:
        with running_assistant(run_dir, stores=stores, site_origins=["http://127.0.0.1:9"]) as running:
            running.log_path = run_dir / "servers.log"  # type: ignore[attr-defined]
            yield redis, running
    finally:
        redis.stop()


def send(assistant: Assistant, sender: str, text: str) -> Reply:
    return send_rest(assistant.rest_url, sender, text)


def ask_over_socketio(assistant: Assistant, texts: List[str]) -> List[Reply]:
    """One reply per message: here every reply is a single message."""

    async def conversation() -> List[Reply]:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            session_id = await client.connect()
            return [await client.ask(session_id, text, until=bool) for text in texts]
        finally:
            await client.close()

    return asyncio.run(conversation())


def coverage_of(reply: Reply) -> Dict[str, Any]:
    payloads = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
    assert len(payloads) == 1, reply
    return payloads[0]


def test_without_the_lock_store_members_still_get_a_reply(redis_and_assistant: Any) -> None:
    redis, assistant = redis_and_assistant
    sender = f"lock-fault-{uuid.uuid4().hex[:8]}"
    assert coverage_of(send(assistant, sender, QUESTION))["outcome"] == "required"

    redis.stop()
    rest_replies = [send(assistant, sender, text) for text in WHILE_DOWN]
    socket_replies = ask_over_socketio(assistant, WHILE_DOWN)
    for reply in rest_replies + socket_replies:
        assert [message.get("text") for message in reply] == [UNAVAILABLE], reply

    redis.start()
    assert coverage_of(send(assistant, sender, QUESTION))["outcome"] == "required"
    log = assistant.log_path.read_text(errors="replace")
    assert "Handling a member message failed: LockError" in log
    assert "123456789" not in log
    print(
        f"lock store down: {len(rest_replies)} REST and {len(socket_replies)} socketio messages, "
        f"each answered with the ID-card fallback"
    )
