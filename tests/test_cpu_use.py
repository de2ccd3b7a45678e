"""tools/cpu_use.py: CPU time per message by kind of process, read from /proc."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from tools import cpu_use


@pytest.mark.parametrize(
    ("cmdline", "command_name", "kind"),
    [
        ("/app/.venv/bin/python -m rasa_server run --port 41234", "python", "Rasa servers"),
        ("/app/.venv/bin/python -m rasa_sdk --actions actions --port 41235", "python", "action servers"),
        ("postgres: postgres test 10.0.0.1(5432) idle", "postgres", "Postgres"),
        ("/usr/bin/redis-server 127.0.0.1:6379", "redis-server", "Redis"),
        ("nginx: worker process", "nginx", "nginx"),
        ("/bin/bash", "bash", "other"),
    ],
)
def test_processes_are_told_apart_by_command(cmdline: str, command_name: str, kind: str) -> None:
    assert cpu_use.process_kind(12345, cmdline, command_name, load_generator_pid=1) == kind


def test_this_process_is_the_load_generator() -> None:
    kind = cpu_use.process_kind(7, "python -m tools.bench", "python", load_generator_pid=7)
    assert kind == "load generator"


def test_cpu_spent_between_snapshots_is_counted_per_message() -> None:
    before = cpu_use.snapshot()
    assert before.by_pid[os.getpid()][0] == "load generator"
    spent_from = time.process_time()
    while time.process_time() - spent_from < 0.3:
        pass
    figures = cpu_use.cpu_ms_per_message(before, cpu_use.snapshot(), messages=3)
    assert set(figures) == {f"cpu_ms_{cpu_use.key(kind)}" for kind in cpu_use.KINDS} | {"machine_busy_cpu_ms"}
    # 300 ms of this process's CPU over 3 messages; the machine was busy at least that long.
    assert 90 <= figures["cpu_ms_load_generator"] <= figures["machine_busy_cpu_ms"] + 10


def test_a_level_without_messages_is_refused() -> None:
    snapshot = cpu_use.snapshot()
    with pytest.raises(ValueError, match="at least 1"):
        cpu_use.cpu_ms_per_message(snapshot, snapshot, messages=0)


def test_a_server_s_worker_processes_count_as_the_server() -> None:
    """Sanic's workers are started by multiprocessing, without `-m rasa_sdk` on their command line."""
    # A shell whose command line reads like an action server, with one child process.
    server = subprocess.Popen(["bash", "-c", 'exec -a "python -m rasa_sdk" bash -c "sleep 30 & wait"'])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            if children:
                break
            time.sleep(0.05)
        snapshot = cpu_use.snapshot()
        assert snapshot.by_pid[server.pid][0] == "action servers"
        assert [snapshot.by_pid[int(child)][0] for child in children] == ["action servers"]
    finally:
        server.kill()
        server.wait()
