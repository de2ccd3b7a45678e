"""Separate hosts on one machine: Linux network namespaces on a private bridge.

`make run-cluster HOSTS=netns` and the cluster tests place every process of
the cluster (the stores, each Rasa server, each action server, nginx) on a
host of its own: a network namespace with one address on a private /24,
linked to the others by a veth pair on a bridge. Hosts reach each other only
over that wire, never over loopback, as separate machines would; the machine
itself (the root namespace) is on the bridge too, as a client would be.

Needs root and iproute2 (`ip`), as CI and this machine have.
"""

import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from launch.servers import Output, ServerProcess

# Private addresses for the hosts: 10.231.<n>.0/24, <n> chosen per network.
SUBNET_PREFIX = "10.231"
POSTGRES_PORT = 5432
REDIS_PORT = 6379


def unavailable_reason() -> Optional[str]:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network-namespace hosts need root"
    if shutil.which("ip") is None and not Path("/usr/sbin/ip").exists():
        return "network-namespace hosts need iproute2 (apt-get install iproute2)"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _subnets_in_use() -> set:
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    return {
        word.rsplit(".", 1)[0]
        for word in shown.split()
        if word.startswith(SUBNET_PREFIX + ".") and "/" in word
    }


@dataclass
class HostNetwork:
    """Hosts (network namespaces) on one bridge. Create with `create(names)`,
    remove everything with `destroy()`.

    Attributes:
        addresses: host name -> IPv4 address, e.g. {"rasa1": "10.231.17.3"}.
        gateway: the machine's own address on the bridge (clients come from it).
    """

    addresses: Dict[str, str] = field(default_factory=dict)
    gateway: str = ""
    _tag: str = field(default_factory=lambda: secrets.token_hex(3))
    _namespaces: Dict[str, str] = field(default_factory=dict)

    @property
    def bridge(self) -> str:
        # Interface names hold at most 15 characters.
        return f"hcscbr{self._tag}"

    def create(self, names: List[str]) -> "HostNetwork":
        """Make the bridge and one namespace per name, each with its address.

        Raises:
            subprocess.CalledProcessError: `ip` refused (not root, no netns support).
        """
        in_use = _subnets_in_use()
        subnet = next(
            f"{SUBNET_PREFIX}.{n}"
            for n in random.sample(range(1, 255), 254)
            if f"{SUBNET_PREFIX}.{n}" not in in_use
        )
        self.gateway = f"{subnet}.1"
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for number, name in enumerate(names, start=2):
                namespace = f"hcsc-{self._tag}-{name}"
                veth = f"hv{self._tag}{number}"
                _ip("netns", "add", namespace)
                self._namespaces[name] = namespace
                _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
                _ip("link", "set", veth, "master", self.bridge, "up")
                address = f"{subnet}.{number}"
                _ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
                _ip("-n", namespace, "link", "set", "eth0", "up")
                # Loopback up, though nothing here uses it across hosts: some
                # programs (Postgres) check it at start.
                _ip("-n", namespace, "link", "set", "lo", "up")
                self.addresses[name] = address
        except subprocess.CalledProcessError:
            self.destroy()
            raise
        return self

    def command_on(self, host: str, argv: List[str]) -> List[str]:
        """`argv` run on `host` (inside its namespace)."""
        return ["ip", "netns", "exec", self._namespaces[host], *argv]

    def destroy(self) -> None:
        """Remove the namespaces, their veth pairs and the bridge (best effort)."""
        for namespace in self._namespaces.values():
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
        self._namespaces.clear()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


@dataclass
class TcpServerProcess(ServerProcess):
    """A server that is ready once it accepts TCP connections (Postgres, Redis).

    `ready_url` is "tcp://<host>:<port>".
    """

    def is_ready(self) -> bool:
        host, port = self.ready_url.removeprefix("tcp://").rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return True
        except OSError:
            return False


def _as_postgres_user(argv: List[str]) -> List[str]:
    # Postgres refuses to run as root.
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", *argv]


def postgres_binary(name: str) -> str:
    """A Postgres program (initdb, postgres) from PATH or Debian's versioned folder.

    Raises:
        FileNotFoundError: Postgres's server programs are not installed.
    """
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise FileNotFoundError(f"{name}: Postgres's server programs are not installed")


def postgres_data_dir() -> Path:
    """A new, empty folder for a throwaway Postgres, owned by the postgres user.

    Under the system temp dir: the postgres user cannot reach into the
    callers' own temp folders (pytest's are private to root). Remove it with
    shutil.rmtree when done.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="hcsc-netns-pg-"))
    data_dir.chmod(0o755)
    shutil.chown(data_dir, "postgres", "postgres")
    return data_dir


def postgres_server(
    network: HostNetwork, host: str, data_dir: Path, output: Output = None
) -> TcpServerProcess:
    """A fresh, throwaway Postgres (trust auth, no fsync) on `host`'s address,
    its data in `data_dir` (from postgres_data_dir()).

    Raises:
        subprocess.CalledProcessError: initdb failed.
    """
    subprocess.run(
        _as_postgres_user(
            [postgres_binary("initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    address = network.addresses[host]
    # The other hosts connect from their own addresses on the network's /24.
    with (data_dir / "pg_hba.conf").open("a", encoding="utf-8") as hba:
        hba.write(f"host all all {address.rsplit('.', 1)[0]}.0/24 trust\n")
    command = network.command_on(
        host,
        _as_postgres_user(
            [
                postgres_binary("postgres"),
                "-D",
                str(data_dir),
                "-h",
                address,
                "-p",
                str(POSTGRES_PORT),
                "-k",
                str(data_dir),
                "-c",
                "fsync=off",
            ]
        ),
    )
    return TcpServerProcess(
        name=f"Postgres on {host}",
        command=command,
        ready_url=f"tcp://{address}:{POSTGRES_PORT}",
        env=dict(os.environ),
        output=output,
    )


def redis_server(network: HostNetwork, host: str, output: Output = None) -> TcpServerProcess:
    """A Redis that keeps nothing on disk, listening on `host`'s address."""
    address = network.addresses[host]
    command = network.command_on(
        host,
        [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            address,
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
        ],
    )
    return TcpServerProcess(
        name=f"Redis on {host}",
        command=command,
        ready_url=f"tcp://{address}:{REDIS_PORT}",
        env=dict(os.environ),
        output=output,
    )
