"""`make run-cluster`: several Rasa servers and action servers behind nginx.

Sharing a Postgres tracker store and a Redis lock store, the way Rasa scales
out. A worker per core: one Rasa server process per core (each with one Sanic
worker, see `Cluster`), and action server workers shared out so that all the
action servers together run one Sanic worker per core.
Settings from the environment:
  HOSTS: `loopback` (default): every process on this host's loopback, with the
    machine's Postgres and Redis; `netns`: every process on a host of its own
    (a network namespace, launch/netns.py), with a throwaway Postgres and Redis
    on a stores host, so nothing can lean on loopback (needs root).
  RASA_SERVERS (default: one per core, at least 2), ACTION_SERVERS (default 2),
  ACTION_WORKERS (Sanic workers per action server, default: the cores divided
    among the action servers, at least 1),
  CLUSTER_PORT (nginx, default 5005), CLUSTER_ACTION_PORT (default 5055),
  TRACKER_STORE_URL (default postgresql://postgres@127.0.0.1:5432/test),
  LOCK_STORE_HOST / LOCK_STORE_PORT (default 127.0.0.1 / 6379): loopback only.
Ctrl-C stops everything it started.
"""

import os
import secrets
import shutil
import socket
import string
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from channels.conversation_tokens import SECRET_ENV as CONVERSATION_SECRET_ENV
from launch.netns import (
    HostNetwork,
    postgres_binary,
    postgres_data_dir,
    postgres_server,
    redis_server,
    unavailable_reason,
)
from launch.paths import MODEL_PATH, PROJECT_DIR
from launch.servers import (
    READY_TIMEOUT_S,
    Output,
    ServerGroup,
    ServerProcess,
    action_server,
    cores,
    free_port,
    parse_no_arguments,
    port_in_use,
    quiet_env,
    rasa_server,
    run_in_foreground,
    start_all,
)
from rasa_server.limits import MAX_REQUEST_BODY_BYTES, nginx_size

NGINX_TEMPLATE = PROJECT_DIR / "deploy" / "nginx" / "cluster.conf.template"
# Sanic workers per server process: Rasa's and rasa-sdk's own variables.
RASA_WORKERS_ENV = "SANIC_WORKERS"
ACTION_WORKERS_ENV = "ACTION_SERVER_SANIC_WORKERS"
DEFAULT_TRACKER_STORE_URL = "postgresql://postgres@127.0.0.1:5432/test"
LOOPBACK = "127.0.0.1"
HOST_MODES = ("loopback", "netns")


def default_action_workers(action_servers: int) -> int:
    """Sanic workers per action server: this machine's cores shared out, at least 1.

    All the action servers run on this machine, so one worker per core in
    total, not per server (why: `Cluster`).
    """
    return max(1, cores() // max(1, action_servers))


def cluster_stores() -> Dict[str, str]:
    """Shared stores: Postgres tracker store and Redis lock store (from the environment)."""
    return {
        "TRACKER_STORE_URL": os.environ.get("TRACKER_STORE_URL", DEFAULT_TRACKER_STORE_URL),
        "LOCK_STORE_TYPE": "redis",
        "LOCK_STORE_HOST": os.environ.get("LOCK_STORE_HOST", "127.0.0.1"),
        "LOCK_STORE_PORT": os.environ.get("LOCK_STORE_PORT", "6379"),
    }


def reachable(host: str, port: int) -> bool:
    """True when a TCP connection to host:port opens."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def missing_services(stores: Dict[str, str]) -> List[str]:
    """What the cluster needs that does not answer: Postgres, Redis, nginx."""
    from urllib.parse import urlsplit

    tracker = urlsplit(stores["TRACKER_STORE_URL"])
    missing = []
    if tracker.scheme.startswith("postgres") and not reachable(
        tracker.hostname or "127.0.0.1", tracker.port or 5432
    ):
        missing.append(f"Postgres at {tracker.hostname}:{tracker.port or 5432}")
    if not reachable(stores["LOCK_STORE_HOST"], int(stores["LOCK_STORE_PORT"])):
        missing.append(f"Redis at {stores['LOCK_STORE_HOST']}:{stores['LOCK_STORE_PORT']}")
    if nginx_binary() is None:
        missing.append("nginx (apt-get install nginx)")
    return missing


def netns_missing() -> List[str]:
    """What namespace hosts need that this machine lacks: root and iproute2, nginx, Postgres, Redis."""
    missing = [reason] if (reason := unavailable_reason()) else []
    if nginx_binary() is None:
        missing.append("nginx (apt-get install nginx)")
    for program in ("initdb", "postgres"):
        try:
            postgres_binary(program)
        except FileNotFoundError:
            missing.append(f"Postgres's {program} (apt-get install postgresql)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server (apt-get install redis-server)")
    return missing


def nginx_binary() -> Optional[str]:
    """Debian's nginx, wherever it is on this machine."""
    # /usr/sbin is not on every PATH.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def nginx_config(
    run_dir: Path,
    listen_port: int,
    action_listen_port: int,
    rasa_upstreams: Sequence[str],
    action_upstreams: Sequence[str],
    listen_address: str = LOOPBACK,
) -> str:
    """The nginx configuration from deploy/nginx/cluster.conf.template.

    Upstreams are "address:port" strings; nginx listens on listen_address.
    """

    def servers(upstreams: Sequence[str]) -> str:
        return "\n".join(f"        server {upstream} max_fails=1 fail_timeout=3s;" for upstream in upstreams)

    pinned = "\n".join(
        f"    upstream rasa_{number} {{\n        server {upstream};\n    }}"
        for number, upstream in enumerate(rasa_upstreams, start=1)
    )
    pinned_map = "\n".join(
        f'        "{number}" rasa_{number};' for number in range(1, len(rasa_upstreams) + 1)
    )
    # safe_substitute: nginx's own $variables stay as they are.
    config = string.Template(NGINX_TEMPLATE.read_text()).safe_substitute(
        RUN_DIR=str(run_dir),
        LISTEN_ADDRESS=listen_address,
        LISTEN_PORT=listen_port,
        ACTION_LISTEN_PORT=action_listen_port,
        RASA_SERVERS=servers(rasa_upstreams),
        ACTION_SERVERS=servers(action_upstreams),
        RASA_PINNED_UPSTREAMS=pinned,
        RASA_PINNED_MAP=pinned_map,
        MAX_BODY_SIZE=nginx_size(MAX_REQUEST_BODY_BYTES),
    )
    if "${" in config:
        raise ValueError(f"{NGINX_TEMPLATE}: a placeholder was not filled in")
    return config


class Cluster(ServerGroup):
    """N Rasa servers and M action servers behind one nginx.

    hosts="loopback": all on this host's loopback, on `stores` (default: the
    machine's Postgres and Redis, cluster_stores()). hosts="netns": each
    process on a host of its own (launch/netns.py), with a throwaway Postgres
    and Redis on a "stores" host; `stores` is then ignored.

    Each action server runs `action_workers` Sanic workers (default:
    `default_action_workers`, one per core across all the action servers):
    custom actions keep no state between calls (the conversation comes with
    each call), so any worker may take any call. Not one per core in each
    server: every server here shares this machine's cores, and rasa-sdk's
    multi-worker Sanic costs about 3x the CPU per call (measured: 0.53 ms
    with one worker against 1.50 ms with two on a 2-core machine).

    Each Rasa server runs one Sanic worker, whatever SANIC_WORKERS says:
    Sanic's workers share one port and take connections at random, while a
    Socket.IO session lives in the process that opened it, and its HTTP
    long-polling requests (the widget's fallback where WebSocket is blocked)
    arrive on new connections; on another worker they fail ("Invalid
    session"). nginx keeps a client on one port, so scaling out is by Rasa
    server processes, one per core by default (`main`), as the Kubernetes
    manifests do with one-core replicas.

    Raises:
        ValueError: an unknown hosts mode.
        subprocess.CalledProcessError: the namespaces could not be made, or initdb failed.
    """

    def __init__(
        self,
        rasa_servers: int = 2,
        action_servers: int = 2,
        port: Optional[int] = None,
        action_port: Optional[int] = None,
        stores: Optional[Dict[str, str]] = None,
        output: Output = None,
        run_dir: Optional[Path] = None,
        extra_rasa_args: Sequence[str] = (),
        agent_token: Optional[str] = None,
        hosts: str = "loopback",
        action_workers: Optional[int] = None,
    ) -> None:
        if hosts not in HOST_MODES:
            raise ValueError(f"hosts must be one of {HOST_MODES}, not {hosts!r}")
        rasa_hosts = [f"rasa{n}" for n in range(1, rasa_servers + 1)]
        action_hosts = [f"action{n}" for n in range(1, action_servers + 1)]
        self.network: Optional[HostNetwork] = None
        self.store_servers: List[ServerProcess] = []
        self._postgres_dir: Optional[Path] = None
        if hosts == "netns":
            self.network = HostNetwork().create(["stores", "nginx", *rasa_hosts, *action_hosts])
            self._postgres_dir = postgres_data_dir()
            self.store_servers = [
                postgres_server(self.network, "stores", self._postgres_dir, output),
                redis_server(self.network, "stores", output),
            ]
            stores_address = self.network.addresses["stores"]
            stores = {
                "TRACKER_STORE_URL": f"postgresql://postgres@{stores_address}:5432/postgres",
                "LOCK_STORE_TYPE": "redis",
                "LOCK_STORE_HOST": stores_address,
                "LOCK_STORE_PORT": "6379",
            }
        self.address = self.address_of("nginx")
        self.port = port or free_port()
        self.action_port = action_port or free_port()
        self.base_url = f"http://{self.address}:{self.port}"
        self.stores = stores or cluster_stores()
        self._own_run_dir = run_dir is None
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="hcsc-cluster-"))
        # nginx's workers run as an unprivileged user and keep temp files here.
        self.run_dir.chmod(0o755)
        self.agent_token = agent_token or secrets.token_urlsafe(24)
        env = quiet_env(
            ACTION_ENDPOINT_URL=f"http://{self.address}:{self.action_port}/webhook",
            AGENT_TOKEN=self.agent_token,
            # Every Rasa server accepts the conversation tokens the others issued.
            **{CONVERSATION_SECRET_ENV: os.environ.get(CONVERSATION_SECRET_ENV) or secrets.token_urlsafe(32)},
            # Browser pages allowed to use the socketio channel: none by default.
            SITE_ORIGINS=os.environ.get("SITE_ORIGINS", ""),
            **self.stores,
        )
        self.action_workers = action_workers or default_action_workers(action_servers)
        action_env = dict(env, **{ACTION_WORKERS_ENV: str(self.action_workers)})
        rasa_env = dict(env, **{RASA_WORKERS_ENV: "1"})  # why: the class docstring
        self.rasa_ports = [free_port() for _ in rasa_hosts]
        action_ports = [free_port() for _ in action_hosts]
        self.rasa_upstreams = [
            f"{self.address_of(h)}:{p}" for h, p in zip(rasa_hosts, self.rasa_ports, strict=True)
        ]
        action_upstreams = [
            f"{self.address_of(h)}:{p}" for h, p in zip(action_hosts, action_ports, strict=True)
        ]
        self.action_servers = [
            self._placed(host, action_server(p, action_env, output))
            for host, p in zip(action_hosts, action_ports, strict=True)
        ]
        self.rasa_servers = [
            self._placed(
                host, rasa_server(p, rasa_env, output, host=self.address_of(host), extra_args=extra_rasa_args)
            )
            for host, p in zip(rasa_hosts, self.rasa_ports, strict=True)
        ]
        config_path = self.run_dir / "nginx.conf"
        config_path.write_text(
            nginx_config(
                self.run_dir, self.port, self.action_port, self.rasa_upstreams, action_upstreams, self.address
            )
        )
        self.nginx = self._placed(
            "nginx",
            ServerProcess(
                name="nginx",
                command=[
                    nginx_binary() or "nginx",
                    "-p",
                    str(self.run_dir),
                    "-c",
                    str(config_path),
                    "-e",
                    str(self.run_dir / "nginx-error.log"),
                    "-g",
                    "daemon off;",
                ],
                ready_url=f"{self.base_url}/webhooks/rest/",
                env=dict(os.environ),
                output=output,
            ),
        )

    def address_of(self, host: str) -> str:
        """The address a host's servers listen on: its own, or loopback."""
        return LOOPBACK if self.network is None else self.network.addresses[host]

    def _placed(self, host: str, server: ServerProcess) -> ServerProcess:
        """The server, run on `host` and checked for readiness at its address."""
        if self.network is not None:
            server.command = self.network.command_on(host, server.command)
            server.ready_url = server.ready_url.replace(f"//{LOOPBACK}:", f"//{self.address_of(host)}:", 1)
        return server

    @property
    def rest_url(self) -> str:
        """Where members' messages go: nginx, in front of every Rasa server."""
        return f"{self.base_url}/webhooks/rest/webhook"

    @property
    def servers(self) -> List[ServerProcess]:
        """Every process, in start order."""
        return [*self.store_servers, *self.action_servers, *self.rasa_servers, self.nginx]

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> "Cluster":
        """Start the stores first (the Rasa servers connect at start), then the rest.

        Raises:
            RuntimeError: a process exited or did not answer in time (all are stopped).
        """
        try:
            start_all(self.store_servers, timeout_s)
            start_all([*self.action_servers, *self.rasa_servers, self.nginx], timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop_rasa_server(self, index: int) -> None:
        """Stop one Rasa server (0-based), as a crash or a deploy would."""
        self.rasa_servers[index].stop()

    def restart_rasa_server(self, index: int, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start a stopped Rasa server again and wait until it answers."""
        start_all([self.rasa_servers[index]], timeout_s)

    def stop(self) -> None:
        """Stop nginx, then the Rasa servers, then the action servers."""
        super().stop()
        if self._own_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if self.network is not None:
            self.network.destroy()
        if self._postgres_dir is not None:
            shutil.rmtree(self._postgres_dir, ignore_errors=True)


def main(argv: Optional[List[str]] = None) -> int:
    """Start the cluster in the foreground until Ctrl-C (settings: module docstring)."""
    parse_no_arguments(__doc__, argv)
    if not MODEL_PATH.exists():
        print(f"error: no trained model at {MODEL_PATH}; run `make run-cluster`.", file=sys.stderr)
        return 1
    hosts = os.environ.get("HOSTS") or "loopback"
    if hosts not in HOST_MODES:
        print(f"error: HOSTS must be one of {', '.join(HOST_MODES)}, not {hosts!r}.", file=sys.stderr)
        return 1
    stores = cluster_stores()
    missing = missing_services(stores) if hosts == "loopback" else netns_missing()
    if missing:
        print("error: the cluster needs " + ", ".join(missing) + ".", file=sys.stderr)
        return 1
    port = int(os.environ.get("CLUSTER_PORT", "5005"))
    action_port = int(os.environ.get("CLUSTER_ACTION_PORT", "5055"))
    # On namespace hosts nginx listens on an address of its own: nothing here can hold its ports.
    for name, value in (("CLUSTER_PORT", port), ("CLUSTER_ACTION_PORT", action_port)):
        if hosts == "loopback" and port_in_use(value):
            print(f"error: port {value} is in use; choose another with {name}=...", file=sys.stderr)
            return 1
    run_dir = PROJECT_DIR / "var" / "cluster"
    run_dir.mkdir(parents=True, exist_ok=True)
    chosen_token = os.environ.get("AGENT_TOKEN")
    cluster = Cluster(
        rasa_servers=int(os.environ.get("RASA_SERVERS") or max(2, cores())),
        action_servers=int(os.environ.get("ACTION_SERVERS", "2")),
        action_workers=int(os.environ.get("ACTION_WORKERS") or 0) or None,
        port=port,
        action_port=action_port,
        stores=stores,
        run_dir=run_dir,
        agent_token=chosen_token,
        hosts=hosts,
    )
    print(
        f"Starting {len(cluster.rasa_servers)} Rasa servers, {len(cluster.action_servers)} "
        f"action servers ({cluster.action_workers} workers each) and nginx on port {port}..."
    )
    return run_in_foreground(
        cluster,
        lambda: (
            "\nThe cluster is ready.\n"
            f"  REST channel (balanced): POST {cluster.rest_url}\n"
            f"  Agent preview page: {cluster.base_url}/webhooks/preview/ (token: "
            f"{'the value of AGENT_TOKEN' if chosen_token else cluster.agent_token})\n"
            f"  Rasa servers: {', '.join(cluster.rasa_upstreams)}; "
            f"tracker store {cluster.stores['TRACKER_STORE_URL']}; Redis lock store "
            f"{cluster.stores['LOCK_STORE_HOST']}:{cluster.stores['LOCK_STORE_PORT']}\n"
            "Press Ctrl-C to stop.\n"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
