"""Where a load level's CPU goes: CPU time per message by kind of process.

`make bench` takes a snapshot of every process's CPU time (user + system,
/proc/<pid>/stat) before and after each load level and divides the
difference by the messages sent. With every server on one machine, the
figures show what bounds the throughput: a cluster of 2 Rasa servers can
only be as fast as the cores left after the action servers, Postgres,
Redis, nginx and the load generator have had theirs. Linux only; network
namespaces share the process table, so HOSTS=netns is covered too.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

KINDS = ("Rasa servers", "action servers", "Postgres", "Redis", "nginx", "load generator", "other")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def process_kind(pid: int, cmdline: str, command_name: str, load_generator_pid: int) -> str:
    """The kind (one of KINDS) of process `pid`, from its command line and name."""
    if pid == load_generator_pid:
        return "load generator"
    if "-m rasa_server" in cmdline:
        return "Rasa servers"
    if "-m rasa_sdk" in cmdline:
        return "action servers"
    if command_name.startswith("postgres"):
        return "Postgres"
    if command_name.startswith("redis-server"):
        return "Redis"
    if command_name.startswith("nginx"):
        return "nginx"
    return "other"


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds used so far by each live process (pid: kind, seconds) and by the whole machine."""

    by_pid: Dict[int, Tuple[str, float]]
    machine_busy_s: float


def _read_process(pid: int) -> Optional[Tuple[str, str, int, float]]:
    """Command line, command name, parent pid and CPU seconds of `pid`; None once it has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; the fields follow it.
    command_name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return cmdline, command_name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


# Kinds whose child processes (Sanic's workers, started by multiprocessing) are theirs.
PARENT_KINDS = ("Rasa servers", "action servers")


def snapshot(load_generator_pid: Optional[int] = None) -> CpuSnapshot:
    """The CPU time of every process now; `load_generator_pid` defaults to this process.

    A process of no known kind whose parent (or grandparent, ...) is a Rasa
    or action server counts as one: Sanic's worker processes.
    """
    own = load_generator_pid or os.getpid()
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            read = _read_process(int(entry.name))
            if read is not None:
                processes[int(entry.name)] = read
    kinds = {pid: process_kind(pid, cmdline, name, own) for pid, (cmdline, name, _, _) in processes.items()}

    def kind_of(pid: int) -> str:
        if kinds[pid] != "other":
            return kinds[pid]
        parent, seen = processes[pid][2], {pid}
        while parent in processes and parent not in seen:
            if kinds[parent] in PARENT_KINDS:
                return kinds[parent]
            seen.add(parent)
            parent = processes[parent][2]
        return "other"

    by_pid = {pid: (kind_of(pid), seconds) for pid, (_, _, _, seconds) in processes.items()}
    # /proc/stat's first line: user nice system idle iowait irq softirq steal ... (ticks).
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy_s = (sum(ticks) - ticks[3] - ticks[4]) / _TICKS_PER_S
    return CpuSnapshot(by_pid, busy_s)


def cpu_ms_per_message(before: CpuSnapshot, after: CpuSnapshot, messages: int) -> Dict[str, float]:
    """CPU milliseconds per message by kind (keys: `cpu_ms_<kind>`) and for the whole machine.

    Processes that started between the snapshots count from zero, those that
    ended not at all. `machine_busy_cpu_ms` is every core's busy time
    (/proc/stat, not idle or waiting for I/O) per message. Raises ValueError
    when `messages` is below 1.
    """
    if messages < 1:
        raise ValueError(f"messages must be at least 1, not {messages}")
    used = {kind: 0.0 for kind in KINDS}
    for pid, (kind, seconds) in after.by_pid.items():
        earlier = before.by_pid.get(pid)
        if earlier is None or earlier[0] == kind:
            used[kind] += seconds - (earlier[1] if earlier else 0.0)
    figures = {f"cpu_ms_{key(kind)}": round(seconds * 1000 / messages, 2) for kind, seconds in used.items()}
    figures["machine_busy_cpu_ms"] = round(
        (after.machine_busy_s - before.machine_busy_s) * 1000 / messages, 2
    )
    return figures


def key(kind: str) -> str:
    """A kind's name as a report key: "Rasa servers" -> "rasa_servers"."""
    return kind.lower().replace(" ", "_")
