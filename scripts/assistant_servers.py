"""Start and stop the assistant: the action server, the Rasa server and,
when asked, the web server for the chat widget and its demo page.

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


def demo_origins(web_port: int) -> List[str]:
    """The origins a browser may give the demo page served on web_port."""
    return [f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"]


class Assistant:
    """The action server and the Rasa server (REST and socketio channels), started
    together; with web_port, also the web server for the widget and its demo page.

    site_origins: the web pages allowed to talk to the Rasa server from a
    browser (Rasa's --cors and the socketio channel's SITE_ORIGINS); by
    default the demo page's origins, or none without a web server.
    """

    def __init__(
        self,
        rasa_port: int,
        action_port: int,
        host: str = "127.0.0.1",
        model_path: Path = MODEL_PATH,
        output: Output = None,
        extra_rasa_args: Sequence[str] = (),
        extra_env: Optional[Dict[str, str]] = None,
        web_port: Optional[int] = None,
        site_origins: Optional[Sequence[str]] = None,
    ) -> None:
        self.host = host
        self.rasa_port = rasa_port
        self.action_port = action_port
        self.base_url = f"http://127.0.0.1:{rasa_port}"
        self.action_url = f"http://127.0.0.1:{action_port}/webhook"
        self.web_port = web_port
        self.site_origins = list(
            site_origins if site_origins is not None else demo_origins(web_port) if web_port else []
        )
        env = quiet_env(ACTION_ENDPOINT_URL=self.action_url, SITE_ORIGINS=",".join(self.site_origins))
        env.update(extra_env or {})
        cors_args = ["--cors", *self.site_origins] if self.site_origins else []
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
                     *cors_args, *extra_rasa_args],
            ready_url=f"{self.base_url}/webhooks/rest/",
            env=env,
            output=output,
        )
        self.web_server: Optional[ServerProcess] = None
        if web_port is not None:
            self.web_server = ServerProcess(
                name="web server",
                command=[str(VENV_BIN / "python"), str(PROJECT_DIR / "scripts" / "web_server.py"),
                         "--host", host, "--port", str(web_port), "--rasa-url", self.base_url],
                ready_url=f"http://127.0.0.1:{web_port}/demo/",
                env=env,
                output=output,
            )

    @property
    def rest_url(self) -> str:
        """Where members' messages go over the REST channel."""
        return f"{self.base_url}/webhooks/rest/webhook"

    @property
    def demo_url(self) -> Optional[str]:
        """The demo member portal page with the chat widget, when the web server runs."""
        return f"http://127.0.0.1:{self.web_port}/demo/" if self.web_port is not None else None

    @property
    def servers(self) -> List[ServerProcess]:
        """The servers in start order: actions, Rasa, then the web server if any."""
        return [self.action_server, self.rasa_server, *([self.web_server] if self.web_server else [])]

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "Assistant":
        """Start the servers and wait until all of them answer."""
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
        """Stop in reverse order: the Rasa server before the action server it calls."""
        for server in reversed(self.servers):
            server.stop()

    def __enter__(self) -> "Assistant":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
