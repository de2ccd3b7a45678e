"""`make run-cluster`: several Rasa servers and action servers behind nginx.

All on loopback, sharing a Postgres tracker store and a Redis lock store, the
way Rasa scales out. A worker per core: one Rasa server process per core (each
with one Sanic worker, see `Cluster`) and, in each action server, one Sanic
worker per core. Settings from the environment:
  RASA_SERVERS (default: one per core, at least 2), ACTION_SERVERS (default 2),
  ACTION_WORKERS (Sanic workers per action server, default: one per core),
  CLUSTER_PORT (nginx, default 5005), CLUSTER_ACTION_PORT (default 5055),
  TRACKER_STORE_URL (default postgresql://postgres@127.0.0.1:5432/test),
  LOCK_STORE_HOST / LOCK_STORE_PORT (default 127.0.0.1 / 6379).
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


def nginx_binary() -> Optional[str]:
    """Debian's nginx, wherever it is on this machine."""
    # /usr/sbin is not on every PATH.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def nginx_config(
    run_dir: Path,
    listen_port: int,
    action_listen_port: int,
    rasa_ports: Sequence[int],
    action_ports: Sequence[int],
) -> str:
    """The nginx configuration for these ports, from deploy/nginx/cluster.conf.template."""

    def servers(ports: Sequence[int]) -> str:
        return "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;" for port in ports)

    pinned = "\n".join(
        f"    upstream rasa_{number} {{\n        server 127.0.0.1:{port};\n    }}"
        for number, port in enumerate(rasa_ports, start=1)
    )
    pinned_map = "\n".join(f'        "{number}" rasa_{number};' for number in range(1, len(rasa_ports) + 1))
    # safe_substitute: nginx's own $variables stay as they are.
    config = string.Template(NGINX_TEMPLATE.read_text()).safe_substitute(
        RUN_DIR=str(run_dir),
        LISTEN_PORT=listen_port,
        ACTION_LISTEN_PORT=action_listen_port,
        RASA_SERVERS=servers(rasa_ports),
        ACTION_SERVERS=servers(action_ports),
        RASA_PINNED_UPSTREAMS=pinned,
        RASA_PINNED_MAP=pinned_map,
        MAX_BODY_SIZE=nginx_size(MAX_REQUEST_BODY_BYTES),
    )
    if "${" in config:
        raise ValueError(f"{NGINX_TEMPLATE}: a placeholder was not filled in")
    return config


class Cluster(ServerGroup):
    """N Rasa servers and M action servers behind one nginx, on loopback.

    Each action server runs `action_workers` Sanic workers (default: one per
    core): custom actions keep no state between calls (the conversation comes
    with each call), so any worker may take any call.

    Each Rasa server runs one Sanic worker, whatever SANIC_WORKERS says:
    Sanic's workers share one port and take connections at random, while a
    Socket.IO session lives in the process that opened it, and its HTTP
    long-polling requests (the widget's fallback where WebSocket is blocked)
    arrive on new connections; on another worker they fail ("Invalid
    session"). nginx keeps a client on one port, so scaling out is by Rasa
    server processes, one per core by default (`main`), as the Kubernetes
    manifests do with one-core replicas.
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
        action_workers: Optional[int] = None,
    ) -> None:
        self.port = port or free_port()
        self.action_port = action_port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stores = stores or cluster_stores()
        self._own_run_dir = run_dir is None
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="hcsc-cluster-"))
        # nginx's workers run as an unprivileged user and keep temp files here.
        self.run_dir.chmod(0o755)
        self.agent_token = agent_token or secrets.token_urlsafe(24)
        env = quiet_env(
            ACTION_ENDPOINT_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            AGENT_TOKEN=self.agent_token,
            # Every Rasa server accepts the conversation tokens the others issued.
            **{CONVERSATION_SECRET_ENV: os.environ.get(CONVERSATION_SECRET_ENV) or secrets.token_urlsafe(32)},
            # Browser pages allowed to use the socketio channel: none by default.
            SITE_ORIGINS=os.environ.get("SITE_ORIGINS", ""),
            **self.stores,
        )
        self.action_workers = action_workers or cores()
        action_env = dict(env, **{ACTION_WORKERS_ENV: str(self.action_workers)})
        rasa_env = dict(env, **{RASA_WORKERS_ENV: "1"})  # why: the class docstring
        self.rasa_ports = [free_port() for _ in range(rasa_servers)]
        action_ports = [free_port() for _ in range(action_servers)]
        self.action_servers = [action_server(p, action_env, output) for p in action_ports]
        self.rasa_servers = [
            rasa_server(p, rasa_env, output, extra_args=extra_rasa_args) for p in self.rasa_ports
        ]
        config_path = self.run_dir / "nginx.conf"
        config_path.write_text(
            nginx_config(self.run_dir, self.port, self.action_port, self.rasa_ports, action_ports)
        )
        self.nginx = ServerProcess(
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
        )

    @property
    def rest_url(self) -> str:
        """Where members' messages go: nginx, in front of every Rasa server."""
        return f"{self.base_url}/webhooks/rest/webhook"

    @property
    def servers(self) -> List[ServerProcess]:
        """Every process, in start order."""
        return [*self.action_servers, *self.rasa_servers, self.nginx]

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


def main(argv: Optional[List[str]] = None) -> int:
    """Start the cluster in the foreground until Ctrl-C (settings: module docstring)."""
    parse_no_arguments(__doc__, argv)
    if not MODEL_PATH.exists():
        print(f"error: no trained model at {MODEL_PATH}; run `make run-cluster`.", file=sys.stderr)
        return 1
    stores = cluster_stores()
    missing = missing_services(stores)
    if missing:
        print("error: the cluster needs " + ", ".join(missing) + ".", file=sys.stderr)
        return 1
    port = int(os.environ.get("CLUSTER_PORT", "5005"))
    action_port = int(os.environ.get("CLUSTER_ACTION_PORT", "5055"))
    for name, value in (("CLUSTER_PORT", port), ("CLUSTER_ACTION_PORT", action_port)):
        if port_in_use(value):
            print(f"error: port {value} is in use; choose another with {name}=...", file=sys.stderr)
            return 1
    run_dir = PROJECT_DIR / "var" / "cluster"
    run_dir.mkdir(parents=True, exist_ok=True)
    chosen_token = os.environ.get("AGENT_TOKEN")
    cluster = Cluster(
        rasa_servers=int(os.environ.get("RASA_SERVERS") or max(2, cores())),
        action_servers=int(os.environ.get("ACTION_SERVERS", "2")),
        action_workers=int(os.environ.get("ACTION_WORKERS") or cores()),
        port=port,
        action_port=action_port,
        stores=stores,
        run_dir=run_dir,
        agent_token=chosen_token,
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
            f"  Rasa servers: {', '.join(str(p) for p in cluster.rasa_ports)}; "
            f"tracker store {stores['TRACKER_STORE_URL']}; Redis lock store "
            f"{stores['LOCK_STORE_HOST']}:{stores['LOCK_STORE_PORT']}\n"
            "Press Ctrl-C to stop.\n"
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
