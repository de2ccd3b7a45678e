"""Start and stop the assistant: the action server, the Rasa server and,
when asked, the web server for the chat widget and its demo page.

Used by `make run` (launch/serve.py) and by the end-to-end tests, so both
start the assistant the same way. Paths come from this file, never from the
working directory.
"""

import argparse
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional, Sequence, Union

from channels.origins import parse_origins
from launch.paths import MODEL_PATH, PROJECT_DIR
from rasa_server.api_token import API_TOKEN_ENV
from rasa_server.limits import DEFAULT_ACTION_TIMEOUT_S

# Conversations survive a restart: the embedded setup keeps them in SQLite.
EMBEDDED_TRACKER_DB = PROJECT_DIR / "var" / "tracker.db"
# The venv's executables sit beside the interpreter running this module.
VENV_BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 120.0

Output = Union[int, IO[bytes], None]
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _stop_with_parent() -> None:
    """In the child: ask Linux to stop it (SIGTERM) when its launcher dies.

    The servers run in their own sessions, so a launcher killed without the
    chance to stop them would otherwise leave them running.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def quiet_env(**extra: str) -> Dict[str, str]:
    """The environment for Rasa processes: no telemetry, no noisy warnings, and
    the custom action time limit endpoints.yml needs.

    Without the launcher's say-so no server opens Rasa's HTTP API: a
    RASA_API_TOKEN in the caller's environment is not passed on.
    """
    env = {key: value for key, value in os.environ.items() if key != API_TOKEN_ENV}
    env.setdefault("ACTION_TIMEOUT_S", f"{DEFAULT_ACTION_TIMEOUT_S:g}")
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def embedded_stores(tracker_db: Path = EMBEDDED_TRACKER_DB) -> Dict[str, str]:
    """Store settings for one server: SQLite tracker store, in-memory lock store."""
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return {
        "TRACKER_STORE_URL": f"sqlite:///{tracker_db}",
        "LOCK_STORE_TYPE": "in_memory",
        "LOCK_STORE_HOST": "127.0.0.1",
        "LOCK_STORE_PORT": "6379",
    }


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
            preexec_fn=_stop_with_parent,
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


def action_server(
    port: int, env: Dict[str, str], output: Output = None, actions_package: str = "actions"
) -> ServerProcess:
    """An action server (rasa_sdk) serving the `actions` package (or, in tests, another)."""
    return ServerProcess(
        name=f"action server :{port}",
        command=[
            str(VENV_BIN / "python"),
            "-m",
            "rasa_sdk",
            "--actions",
            actions_package,
            "--port",
            str(port),
        ],
        ready_url=f"http://127.0.0.1:{port}/health",
        env=env,
        output=output,
    )


def rasa_server(
    port: int,
    env: Dict[str, str],
    output: Output = None,
    host: str = "127.0.0.1",
    model_path: Path = MODEL_PATH,
    extra_args: Sequence[str] = (),
) -> ServerProcess:
    """A Rasa server running the trained model with the project's channels and endpoints."""
    return ServerProcess(
        name=f"Rasa server :{port}",
        # Rasa's CLI with the project's fixes (rasa_server/fixes.py) applied.
        command=[
            str(VENV_BIN / "python"),
            "-m",
            "rasa_server",
            "run",
            "--model",
            str(model_path),
            "--interface",
            host,
            "--port",
            str(port),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            *extra_args,
        ],
        ready_url=f"http://127.0.0.1:{port}/webhooks/rest/",
        env=env,
        output=output,
    )


def start_all(servers: Sequence[ServerProcess], timeout_s: float = READY_TIMEOUT_S) -> None:
    """Start servers together and wait until all answer; stop them all on failure."""
    for server in servers:
        server.start()
    deadline = time.monotonic() + timeout_s
    pending = list(servers)
    try:
        while pending:
            pending = [server for server in pending if not server.is_ready()]
            for server in pending:
                if server.exited():
                    raise RuntimeError(f"the {server.name} exited while starting")
            if pending and time.monotonic() > deadline:
                names = ", ".join(server.name for server in pending)
                raise RuntimeError(f"not ready after {timeout_s:.0f} s: {names}")
            if pending:
                time.sleep(0.25)
    except BaseException:
        for server in reversed(servers):
            server.stop()
        raise


def demo_origins(web_port: int) -> List[str]:
    """The origins a browser may give the demo page served on web_port."""
    return [f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"]


class ServerGroup:
    """Server processes started, waited for and stopped together."""

    @property
    def servers(self) -> List[ServerProcess]:
        """The processes in start order; they stop in reverse order."""
        raise NotImplementedError

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "ServerGroup":
        """Start every process and wait until all of them answer."""
        start_all(self.servers, timeout_s)
        return self

    def wait(self) -> None:
        """Block until one of the processes exits."""
        while not any(server.exited() for server in self.servers):
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop in reverse start order: callers before the servers they call."""
        for server in reversed(self.servers):
            server.stop()

    def __enter__(self) -> "ServerGroup":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_no_arguments(doc: Optional[str], argv: Optional[List[str]]) -> None:
    """--help prints how to set the launcher up; any other argument is an error (exit 2)."""
    argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(
        argv
    )


def run_in_foreground(group: ServerGroup, ready_message: Callable[[], str]) -> int:
    """`make run` and `make run-cluster`: start, say where to go, run until Ctrl-C.

    SIGTERM and SIGHUP (kill, a closed terminal) stop everything like Ctrl-C:
    the servers run in sessions of their own and would otherwise outlive us.
    """
    # SIGINT too: a shell that starts us in the background ignores it, and
    # Python then never turns Ctrl-C into KeyboardInterrupt.
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    try:
        group.start()
        print(ready_message(), flush=True)
        group.wait()
        print("A server stopped; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        group.stop()


class Assistant(ServerGroup):
    """The action server and the Rasa server (REST and socketio channels), started
    together; with web_port, also the web server for the widget and its demo page.

    site_origins: the web pages allowed to talk to the Rasa server from a
    browser (Rasa's --cors and the socketio channel's SITE_ORIGINS); by
    default the demo page's origins, or none without a web server.

    api_token: opens Rasa's HTTP API (/status, /conversations/..., /model/...)
    to requests with `?token=<api_token>`; without it the API is off. The token
    reaches the Rasa server in its environment, not on its command line, where
    any local user could read it (ps).
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
        stores: Optional[Dict[str, str]] = None,
        agent_token: Optional[str] = None,
        web_port: Optional[int] = None,
        site_origins: Optional[Sequence[str]] = None,
        api_token: Optional[str] = None,
    ) -> None:
        self.host = host
        # The agent preview channel refuses to start without a token: launches
        # that do not choose one get a fresh one, never a default.
        self.agent_token = agent_token or secrets.token_urlsafe(24)
        self.rasa_port = rasa_port
        self.action_port = action_port
        self.base_url = f"http://127.0.0.1:{rasa_port}"
        self.action_url = f"http://127.0.0.1:{action_port}/webhook"
        self.web_port = web_port
        self.site_origins = parse_origins(
            site_origins if site_origins is not None else demo_origins(web_port) if web_port else []
        )
        env = quiet_env(
            ACTION_ENDPOINT_URL=self.action_url,
            SITE_ORIGINS=",".join(self.site_origins),
            AGENT_TOKEN=self.agent_token,
            **(stores if stores is not None else embedded_stores()),
        )
        env.update(extra_env or {})
        self.api_token = api_token or None
        rasa_env = dict(env, **({API_TOKEN_ENV: api_token} if api_token else {}))
        cors_args = ["--cors", *self.site_origins] if self.site_origins else []
        self.action_server = action_server(action_port, env, output)
        self.rasa_server = rasa_server(
            rasa_port, rasa_env, output, host, model_path, [*cors_args, *extra_rasa_args]
        )
        self.web_server: Optional[ServerProcess] = None
        if web_port is not None:
            self.web_server = ServerProcess(
                name="web server",
                command=[
                    str(VENV_BIN / "python"),
                    "-m",
                    "launch.web_server",
                    "--host",
                    host,
                    "--port",
                    str(web_port),
                    "--rasa-url",
                    self.base_url,
                ],
                ready_url=f"http://127.0.0.1:{web_port}/demo/",
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
    def demo_url(self) -> Optional[str]:
        """The demo member portal page with the chat widget, when the web server runs."""
        return f"http://127.0.0.1:{self.web_port}/demo/" if self.web_port is not None else None

    @property
    def servers(self) -> List[ServerProcess]:
        """The servers in start order: actions, Rasa, then the web server if any."""
        return [self.action_server, self.rasa_server, *([self.web_server] if self.web_server else [])]
