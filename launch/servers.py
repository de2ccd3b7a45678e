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

from channels.conversation_tokens import SECRET_ENV as CONVERSATION_SECRET_ENV
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


def cores() -> int:
    """The CPU cores this process may run on: its affinity mask, else os.cpu_count(); at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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

    def kill_leftovers(self) -> None:
        """Kill what is left of an exited process's session (nginx's workers
        outlive a killed master and keep its port)."""
        if self.process is None or self.process.poll() is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

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


@dataclass
class _Restarts:
    """What the supervisor knows about one process."""

    started_at: float
    delay_s: float
    restart_at: Optional[float] = None
    count: int = 0
    waiting_for_ready: bool = False


class Supervisor:
    """Restarts server processes that exit, with exponential back-off.

    A process that exits is started again after `initial_delay_s`, doubling
    up to `max_delay_s` while it keeps exiting; once a process has run for
    `stable_after_s`, its delay is back to the start. Each exit, restart and
    recovery is logged (names and exit codes only). Meanwhile the other
    processes keep serving: while the action server is down, members get the
    ID-card answer (rasa_server/always_a_reply.py).
    """

    def __init__(
        self,
        servers: Sequence[ServerProcess],
        log: Callable[[str], None],
        initial_delay_s: float = 1.0,
        max_delay_s: float = 30.0,
        stable_after_s: float = 60.0,
        poll_s: float = 0.25,
    ) -> None:
        self.servers = list(servers)
        self.log = log
        self.initial_delay_s = initial_delay_s
        self.max_delay_s = max_delay_s
        self.stable_after_s = stable_after_s
        self.poll_s = poll_s
        now = time.monotonic()
        self.state = {
            id(server): _Restarts(started_at=now, delay_s=initial_delay_s) for server in self.servers
        }

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Check the processes every poll_s seconds until should_stop()."""
        while not should_stop():
            self.check_once()
            time.sleep(self.poll_s)

    def check_once(self) -> None:
        """One round: note exits, start what is due, report recoveries."""
        now = time.monotonic()
        for server in self.servers:
            state = self.state[id(server)]
            if server.exited():
                if state.restart_at is None:
                    if now - state.started_at >= self.stable_after_s:
                        state.delay_s = self.initial_delay_s
                    code = server.process.returncode if server.process is not None else None
                    self.log(f"The {server.name} exited (code {code}); restarting it in {state.delay_s:g} s.")
                    server.kill_leftovers()
                    state.restart_at = now + state.delay_s
                    state.delay_s = min(state.delay_s * 2, self.max_delay_s)
                elif now >= state.restart_at:
                    state.count += 1
                    state.restart_at = None
                    state.started_at = now
                    state.waiting_for_ready = True
                    self.log(f"Starting the {server.name} again (restart {state.count}).")
                    try:
                        server.start()
                    except OSError as error:
                        self.log(f"Could not start the {server.name}: {error}")
            elif state.waiting_for_ready and server.is_ready():
                state.waiting_for_ready = False
                self.log(f"The {server.name} is back (after {now - state.started_at:.1f} s).")

    @property
    def restarts(self) -> int:
        """How many restarts so far, all processes together."""
        return sum(state.count for state in self.state.values())


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

    def supervise(self, log: Callable[[str], None], should_stop: Callable[[], bool] = lambda: False) -> None:
        """Keep every process running until should_stop() (or Ctrl-C): one
        that exits is started again, after a back-off (Supervisor)."""
        Supervisor(self.servers, log).run(should_stop)

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


def log_to_stderr(line: str) -> None:
    """One supervisor line, with the time, on the launcher's stderr."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [supervisor] {line}", file=sys.stderr, flush=True)


def run_in_foreground(group: ServerGroup, ready_message: Callable[[], str]) -> int:
    """`make run` and `make run-cluster`: start, say where to go, run until
    Ctrl-C, restarting any server that exits meanwhile.

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
        # A server that exits (a crash, the OOM killer, a kill) is restarted;
        # the others keep serving meanwhile.
        group.supervise(log_to_stderr)
        return 0
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
            # One secret for the assistant's lifetime: a restarted Rasa server
            # still accepts the conversation tokens it issued.
            **{CONVERSATION_SECRET_ENV: os.environ.get(CONVERSATION_SECRET_ENV) or secrets.token_urlsafe(32)},
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
