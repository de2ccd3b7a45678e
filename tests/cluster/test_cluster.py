"""Scale-out: two Rasa servers and two action servers behind nginx, on Postgres + Redis.

Each conversation has its own plan context; every answer must match it (no
cross-talk), whichever server takes the turn, including while one server is
stopped and after it comes back. Every test runs twice: on this host's
loopback, and with each process on a host of its own (network namespaces,
launch/netns.py), where nothing can lean on loopback.
"""

import asyncio
import json
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import aiohttp
import pytest

from launch.cluster import HOST_MODES, Cluster, cluster_stores, missing_services, netns_missing
from launch.servers import Supervisor
from plan_coverage.engine import PlanContext, load_rules
from tests.support.prerequisites import skip_unless_required

pytestmark = pytest.mark.slow

RULES = load_rules()
CONVERSATIONS = 40
STATE_WORDS = {
    "IL": "bcbs of illinois",
    "TX": "blue cross of texas",
    "OK": "bcbsok",
    "NM": "bcbs of new mexico",
    "MT": "bcbsmt",
}
PLAN_WORDS = {
    "hmo": "hmo",
    "ppo": "ppo",
    "medicaid": "medicaid",
    "medicare_advantage": "medicare advantage plan",
}
# (member message, topic it asks about; None for the message giving the plan context)
TURNS: List[Tuple[str, Optional[str]]] = [
    ("do i need a referral for massage therapy", "referral"),
    ("what about out of network?", "out_of_network"),
    ("does massage need prior authorization", "prior_authorization"),
    ("is massage therapy covered?", "coverage_overview"),
]


@dataclass
class Conversation:
    """One member's conversation: its plan context and what came back."""

    number: int
    state: str
    plan_type: str
    sender: str = field(default_factory=lambda: f"cluster-{uuid.uuid4().hex}")
    upstreams: List[str] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)

    @property
    def opening(self) -> str:
        """The message that gives the plan context."""
        return f"i have {STATE_WORDS[self.state]} {PLAN_WORDS[self.plan_type]}"

    def check(self, topic: Optional[str], status: int, reply: Any) -> None:
        """Record a failure unless the reply answers `topic` for this conversation's plan."""
        if status != 200 or not isinstance(reply, list) or not reply:
            self.failures.append(f"HTTP {status}: {reply!r:.200}")
            return
        payloads = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
        if topic is None:
            if payloads:
                self.failures.append(f"opening got a coverage answer: {payloads}")
            return
        expected = RULES.answer(topic, PlanContext(state=self.state, plan_type=self.plan_type))
        if (
            len(payloads) != 1
            or payloads[0]["rules"] != list(expected.rule_ids)
            or (payloads[0]["state"], payloads[0]["plan_type"]) != (self.state, self.plan_type)
        ):
            self.failures.append(
                f"{topic}: expected {expected.rule_ids} for {self.state}/{self.plan_type}, got {payloads}"
            )


def conversations() -> List[Conversation]:
    """40 conversations over every state and plan type."""
    states, plans = list(STATE_WORDS), list(PLAN_WORDS)
    return [
        Conversation(n, states[n % len(states)], plans[(n // len(states)) % len(plans)])
        for n in range(CONVERSATIONS)
    ]


async def send(
    session: aiohttp.ClientSession,
    url: str,
    conversation: Conversation,
    text: str,
    topic: Optional[str],
    pin: Optional[int] = None,
) -> None:
    """Send one turn (optionally pinned to Rasa server `pin`, 1-based) and check it."""
    headers = {"X-Rasa-Server": str(pin)} if pin else {}
    async with session.post(
        url, json={"sender": conversation.sender, "message": text}, headers=headers
    ) as response:
        body = await response.text()
        conversation.upstreams.append(response.headers.get("X-Upstream", ""))
    try:
        reply = json.loads(body)
    except ValueError:
        reply = body
    conversation.check(topic, response.status, reply)


async def run_turns(
    url: str,
    conversations: List[Conversation],
    turns: List[Tuple[str, Optional[str]]],
    pin: Any = None,
    between: Optional[Any] = None,
) -> None:
    """Every conversation sends its turns in order; all conversations run at once."""
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(conversation: Conversation) -> None:
            for index, (text, topic) in enumerate(turns):
                text = conversation.opening if text is None else text
                await send(session, url, conversation, text, topic, pin(conversation, index) if pin else None)
                if between is not None:
                    await between()

        await asyncio.gather(*(one(c) for c in conversations))


@pytest.fixture(scope="module", params=HOST_MODES)
def cluster(
    request: pytest.FixtureRequest, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two Rasa servers, two action servers and nginx, on free ports: on
    loopback with the machine's stores, or on namespace hosts with their own."""
    hosts = request.param
    stores = cluster_stores()
    missing = missing_services(stores) if hosts == "loopback" else netns_missing()
    if missing:
        skip_unless_required("the cluster needs " + ", ".join(missing))
    run_dir = tmp_path_factory.mktemp(f"cluster-{hosts}")
    with (run_dir / "servers.log").open("wb") as log:
        running = Cluster(
            rasa_servers=2, action_servers=2, stores=stores, output=log, run_dir=run_dir, hosts=hosts
        )
        try:
            running.start()
        except RuntimeError as error:
            pytest.fail(f"{error}; output:\n{(run_dir / 'servers.log').read_text(errors='replace')[-4000:]}")
        try:
            yield running
        finally:
            running.stop()


def test_the_rasa_servers_start_together_without_clashing_over_the_tracker_store_tables(
    cluster: Cluster,
) -> None:
    # On the namespace hosts Postgres starts empty, so both Rasa servers
    # create the tables at once (rasa_server/fixes.py takes turns); on
    # loopback the machine's database already has them.
    if not cluster.store_servers:
        pytest.skip("the loopback cluster uses the machine's Postgres, which has the tables")
    log = (cluster.run_dir / "servers.log").read_text(errors="replace")
    assert "Could not create tables" not in log
    assert "duplicate key value violates unique constraint" not in log


def test_consecutive_turns_on_different_servers_keep_each_conversation_s_context(cluster: Cluster) -> None:
    talks = conversations()
    turns: List[Tuple[Any, Optional[str]]] = [(None, None), *TURNS]

    def alternate(conversation: Conversation, turn: int) -> int:
        return 1 + (conversation.number + turn) % 2

    asyncio.run(run_turns(cluster.rest_url, talks, turns, pin=alternate))

    assert [c.failures for c in talks if c.failures] == []
    assert sum(len(c.upstreams) for c in talks) == CONVERSATIONS * len(turns)
    for conversation in talks:
        expected = [cluster.rasa_upstreams[alternate(conversation, t) - 1] for t in range(len(turns))]
        assert conversation.upstreams == expected
        assert all(a != b for a, b in zip(conversation.upstreams, conversation.upstreams[1:], strict=False))


def test_balanced_traffic_survives_a_server_stopping_and_coming_back(cluster: Cluster) -> None:
    talks = conversations()
    asyncio.run(run_turns(cluster.rest_url, talks, [(None, None), TURNS[0]]))
    assert [c.failures for c in talks if c.failures] == []

    answered = 0
    stopped = asyncio.Event()

    async def stop_second_server_mid_run() -> None:
        nonlocal answered
        answered += 1
        if answered == CONVERSATIONS and not stopped.is_set():
            stopped.set()
            # Stopping takes a moment; the other conversations keep talking meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, cluster.stop_rasa_server, 1)

    asyncio.run(run_turns(cluster.rest_url, talks, TURNS[1:], between=stop_second_server_mid_run))
    assert stopped.is_set()
    assert [c.failures for c in talks if c.failures] == []
    assert all(len(c.upstreams) == 2 + len(TURNS[1:]) for c in talks)

    # With the second server down, every conversation goes on with its context.
    asyncio.run(run_turns(cluster.rest_url, talks, [TURNS[-1]]))
    assert [c.failures for c in talks if c.failures] == []
    assert {c.upstreams[-1] for c in talks} == {cluster.rasa_upstreams[0]}

    cluster.restart_rasa_server(1)
    asyncio.run(run_turns(cluster.rest_url, talks, [TURNS[0]], pin=lambda c, t: 2))
    assert [c.failures for c in talks if c.failures] == []
    assert {c.upstreams[-1] for c in talks} == {cluster.rasa_upstreams[1]}


def test_run_cluster_supervision_restarts_killed_processes(cluster: Cluster) -> None:
    """What `make run-cluster` does when processes die (launch/servers.py, Supervisor):
    an action server and a Rasa server are killed; both come back and answers resume."""
    lines: List[str] = []
    done = threading.Event()
    supervisor = Supervisor(cluster.servers, lines.append, poll_s=0.1)
    watching = threading.Thread(target=supervisor.run, args=(done.is_set,), daemon=True)
    watching.start()
    try:
        for victim in (cluster.action_servers[0], cluster.rasa_servers[0]):
            assert victim.process is not None
            os.kill(victim.process.pid, signal.SIGKILL)
            deadline = time.monotonic() + 180
            while not (victim.process.poll() is None and victim.is_ready()):
                assert time.monotonic() < deadline, lines
                time.sleep(0.2)
        talks = conversations()[:4]
        asyncio.run(run_turns(cluster.rest_url, talks, [(None, None), TURNS[0]]))
        assert [c.failures for c in talks if c.failures] == []
    finally:
        done.set()
        watching.join(timeout=10)
    assert supervisor.restarts == 2
    assert any("Rasa server" in line and "exited" in line for line in lines)
    assert any("action server" in line and "is back" in line for line in lines)


def test_on_namespace_hosts_every_process_has_a_network_of_its_own(cluster: Cluster) -> None:
    """The netns mode really separates hosts: each Rasa server, action server
    and nginx in its own network namespace (Postgres and Redis share the
    stores host), none in this machine's; in loopback mode all share it."""

    def network_of(pid: int) -> str:
        return os.readlink(f"/proc/{pid}/ns/net")

    machine = network_of(os.getpid())
    networks = {}
    for server in cluster.servers:
        assert server.process is not None and server.process.poll() is None, server.name
        networks[server.name] = network_of(server.process.pid)
    if cluster.network is None:
        assert set(networks.values()) == {machine}
        return
    assert machine not in networks.values()
    assert len(set(networks.values())) == 1 + 1 + len(cluster.rasa_servers) + len(cluster.action_servers)
    assert all(not upstream.startswith("127.") for upstream in cluster.rasa_upstreams)
    assert "127.0.0.1" not in cluster.stores["TRACKER_STORE_URL"]


async def long_polling_session(base_url: str) -> List[int]:
    """One Socket.IO session over HTTP long-polling, each request on a new connection
    (as through a proxy that blocks WebSocket): the HTTP status of each request."""
    url = f"{base_url}/socket.io/?EIO=4&transport=polling"
    statuses = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        async with session.get(url) as response:
            statuses.append(response.status)
            body = await response.text()
        sid = json.loads(body[body.index("{") :])["sid"]
        for packet in ("40", '42["session_request",{}]', '42["session_request",{}]'):
            async with session.post(f"{url}&sid={sid}", data=packet) as response:
                statuses.append(response.status)
                await response.read()
        async with session.get(f"{url}&sid={sid}") as response:
            statuses.append(response.status)
            await response.read()
    return statuses


def test_socketio_long_polling_sessions_stay_with_the_process_that_holds_them(cluster: Cluster) -> None:
    """nginx keeps a client on one Rasa server; each Rasa server must then be one
    process (one Sanic worker), or polls reach a worker without the session. With
    SANIC_WORKERS=2, about half of such sessions had requests refused (measured)."""

    async def many() -> List[List[int]]:
        return list(await asyncio.gather(*(long_polling_session(cluster.base_url) for _ in range(32))))

    refused = [statuses for statuses in asyncio.run(many()) if set(statuses) != {200}]
    assert refused == []
