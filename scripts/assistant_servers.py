"""Start and stop the assistant: the action server and the Rasa server.

Used by `make run` (scripts/serve.py) and by the end-to-end tests, so both
start the assistant the same way. Paths come from this file, never from the
working directory.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Dict, List, Optional, Sequence, Union

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_PATH = PROJECT_DIR / "models" / "hcsc-faq.tar.gz"
# The venv's executables sit beside the interpreter running this module.
VENV_BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 120.0

Output = Union[int, IO[bytes], None]


def quiet_env(**extra: str) -> Dict[str, str]:
    """The environment for Rasa processes: no telemetry, no noisy warnings."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already accepts connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@dataclass
class ServerProcess:
    """One child server process and the URL that answers once it is ready."""

    name: str
    command: List[str]
    ready_url: str
    env: Dict[str, str]
    output: Output = None
    process: Optional["subprocess.Popen[bytes]"] = field(default=None, init=False)

    def start(self) -> None:
        """Start the process in its own session, so stopping it stops its children."""
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT if self.output is not None else None,
            start_new_session=True,
        )

    def is_ready(self) -> bool:
        """True once the server answers its readiness URL."""
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def exited(self) -> bool:
        """True when the process has ended."""
        return self.process is not None and self.process.poll() is not None

    def stop(self, timeout_s: float = 15.0) -> None:
        """Ask the process to stop (SIGTERM), then kill it if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


class Assistant:
    """The action server and the Rasa server (REST channel), started together."""

    def __init__(
        self,
        rasa_port: int,
        action_port: int,
        host: str = "127.0.0.1",
        model_path: Path = MODEL_PATH,
        output: Output = None,
        extra_rasa_args: Sequence[str] = (),
        extra_env: Optional[Dict[str, str]] = None,
        agent_token: Optional[str] = None,
    ) -> None:
        self.host = host
        self.agent_token = agent_token
        self.rasa_port = rasa_port
        self.action_port = action_port
        self.base_url = f"http://127.0.0.1:{rasa_port}"
        self.action_url = f"http://127.0.0.1:{action_port}/webhook"
        env = quiet_env(ACTION_ENDPOINT_URL=self.action_url, **(extra_env or {}))
        if agent_token is not None:
            # The agent preview channel (credentials.yml) refuses to start without it.
            env["AGENT_TOKEN"] = agent_token
        self.action_server = ServerProcess(
            name="action server",
            command=[str(VENV_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions",
                     "--port", str(action_port)],
            ready_url=f"http://127.0.0.1:{action_port}/health",
            env=env,
            output=output,
        )
        self.rasa_server = ServerProcess(
            name="Rasa server",
            command=[str(VENV_BIN / "rasa"), "run", "--model", str(model_path),
                     "--interface", host, "--port", str(rasa_port),
                     "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
                     *extra_rasa_args],
            ready_url=f"{self.base_url}/webhooks/rest/",
            env=env,
            output=output,
        )

    @property
    def rest_url(self) -> str:
        """Where members' messages go over the REST channel."""
        return f"{self.base_url}/webhooks/rest/webhook"

    @property
    def agent_page_url(self) -> str:
        """The support agents' preview page (channels/agent_preview.py)."""
        return f"{self.base_url}/webhooks/preview/"

    @property
    def preview_url(self) -> str:
        """Where agents' preview questions go (needs the agent token)."""
        return f"{self.base_url}/webhooks/preview/answer"

    @property
    def servers(self) -> List[ServerProcess]:
        """Both servers, action server first."""
        return [self.action_server, self.rasa_server]

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "Assistant":
        """Start both servers and wait until both answer."""
        for server in self.servers:
            server.start()
        deadline = time.monotonic() + timeout_s
        pending = list(self.servers)
        while pending:
            pending = [server for server in pending if not server.is_ready()]
            for server in pending:
                if server.exited():
                    self.stop()
                    raise RuntimeError(f"the {server.name} exited while starting")
            if pending and time.monotonic() > deadline:
                self.stop()
                names = ", ".join(server.name for server in pending)
                raise RuntimeError(f"not ready after {timeout_s:.0f} s: {names}")
            if pending:
                time.sleep(0.25)
        return self

    def wait(self) -> None:
        """Block until one of the servers exits."""
        while not any(server.exited() for server in self.servers):
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the Rasa server first (it calls the action server), then the actions."""
        for server in reversed(self.servers):
            server.stop()

    def __enter__(self) -> "Assistant":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
