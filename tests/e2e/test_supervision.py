"""`make run` keeps serving when a server dies: the real launcher
(launch/serve.py) on free ports; the action server is killed twice, then the
web server and the Rasa server once each. Members get the ID-card answer
during the action server's gap, normal answers after it, and the Rasa
server stays up meanwhile; after its own restart it answers again."""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from launch.paths import PROJECT_DIR
from launch.servers import ServerProcess, Supervisor, free_port

ID_CARD_FALLBACK = "can't look up coverage right now"
QUESTION = "does my texas hmo need a referral for massage therapy?"
START_TIMEOUT_S = 180.0
RECOVERY_TIMEOUT_S = 90.0


def pid_listening_as(*words: str) -> Optional[int]:
    """The process whose command line holds all these words (our own children only)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [part.decode(errors="replace") for part in command]
        if all(word in text for word in words):
            return int(entry.name)
    return None


def rest(url: str, sender: str, text: str) -> List[Dict[str, Any]]:
    request = urllib.request.Request(
        url, json.dumps({"sender": sender, "message": text}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return list(json.loads(response.read()))


def has_coverage(reply: List[Dict[str, Any]]) -> bool:
    return any("coverage" in (message.get("custom") or {}) for message in reply)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Launcher:
    """`python -m launch.serve` (what `make run` runs) on free ports."""

    def __init__(self, run_dir: Path) -> None:
        self.rasa_port, self.action_port, self.web_port = free_port(), free_port(), free_port()
        self.log_path = run_dir / "launcher.log"
        env = dict(
            os.environ,
            RASA_PORT=str(self.rasa_port),
            ACTION_PORT=str(self.action_port),
            WEB_PORT=str(self.web_port),
            TRACKER_DB=str(run_dir / "tracker.db"),
            AGENT_TOKEN=secrets.token_urlsafe(16),
        )
        env.pop("RASA_API_TOKEN", None)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "launch.serve"],
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.rest_url = f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "The assistant is ready" not in self.output():
            assert self.process.poll() is None, self.output()[-3000:]
            assert time.monotonic() < deadline, self.output()[-3000:]
            time.sleep(0.5)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def launcher(trained_model: Path, tmp_path: Path) -> Iterator[Launcher]:
    running = Launcher(tmp_path)
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


@pytest.mark.slow
def test_make_run_restarts_a_killed_action_server_and_keeps_serving(launcher: Launcher) -> None:
    rasa_pid = pid_listening_as("rasa_server", "--port", str(launcher.rasa_port))
    assert rasa_pid is not None
    sender = f"supervised-{uuid.uuid4().hex[:12]}z"
    assert has_coverage(rest(launcher.rest_url, sender, QUESTION))
    recovered = 0
    for _kill in (1, 2):
        action_pid = pid_listening_as("rasa_sdk", "--port", str(launcher.action_port))
        assert action_pid is not None
        os.kill(action_pid, signal.SIGKILL)
        # During the gap: an answer, the ID-card line, never an error.
        gap_reply = rest(launcher.rest_url, sender, QUESTION)
        assert gap_reply and (has_coverage(gap_reply) or ID_CARD_FALLBACK in json.dumps(gap_reply))
        deadline = time.monotonic() + RECOVERY_TIMEOUT_S
        while not has_coverage(rest(launcher.rest_url, sender, QUESTION)):
            assert time.monotonic() < deadline, launcher.output()[-3000:]
            time.sleep(1)
        recovered += 1
        new_pid = pid_listening_as("rasa_sdk", "--port", str(launcher.action_port))
        assert new_pid is not None and new_pid != action_pid
        assert launcher.process.poll() is None, "the launcher must keep running"
    assert recovered == 2
    # The web server too.
    web_pid = pid_listening_as("launch.web_server", "--port", str(launcher.web_port))
    assert web_pid is not None
    os.kill(web_pid, signal.SIGKILL)
    deadline = time.monotonic() + RECOVERY_TIMEOUT_S
    while not answers(f"http://127.0.0.1:{launcher.web_port}/demo/"):
        assert time.monotonic() < deadline, launcher.output()[-3000:]
        time.sleep(0.5)
    # The Rasa server stayed up the whole time: the same process.
    assert pid_listening_as("rasa_server", "--port", str(launcher.rasa_port)) == rasa_pid
    # Last, the Rasa server itself: refused connections during its restart,
    # then answers again, with the conversation (SQLite) intact.
    os.kill(rasa_pid, signal.SIGKILL)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            reply = rest(launcher.rest_url, sender, QUESTION)
            if has_coverage(reply):
                break
        except (urllib.error.URLError, OSError):
            pass
        assert time.monotonic() < deadline, launcher.output()[-3000:]
        time.sleep(1)
    assert launcher.process.poll() is None
    output = launcher.output()
    assert output.count("[supervisor] The action server") >= 4  # two exits, two recoveries
    assert "[supervisor] The web server exited" in output
    assert "[supervisor] The Rasa server" in output
    assert "Traceback" not in output.split("The assistant is ready", 1)[1].split("[supervisor]", 1)[0]


def test_the_supervisor_restarts_with_back_off(tmp_path: Path) -> None:
    """Real processes that exit at once: restarted with growing delays."""
    marker = tmp_path / "starts"
    server = ServerProcess(
        name="crashing server",
        command=[sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"],
        ready_url="http://127.0.0.1:9/",
        env=dict(os.environ),
    )
    lines: List[str] = []
    server.start()
    supervisor = Supervisor([server], lines.append, initial_delay_s=0.2, max_delay_s=0.8, poll_s=0.05)
    started = time.monotonic()
    # Stop once the fourth restarted process has run and exited (or at a generous
    # deadline on a loaded machine), not after a fixed time: stopping right after
    # the restart could kill the new process before it writes its mark.
    supervisor.run(
        should_stop=lambda: (
            (supervisor.restarts >= 4 and server.exited()) or time.monotonic() - started > 60.0
        )
    )
    server.stop()
    delays = [
        float(line.split("restarting it in ")[1].split(" s")[0])
        for line in lines
        if "restarting it in" in line
    ]
    assert delays[:4] == [0.2, 0.4, 0.8, 0.8]
    assert supervisor.restarts >= 3
    assert marker.read_text().count("x") == supervisor.restarts + 1
