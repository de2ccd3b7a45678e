"""Starting the real servers for tests: free ports, their own tracker store and log."""

import json
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from launch.servers import Assistant, embedded_stores, free_port
from tools.flag_queue import FLAG_QUEUE_ENV


@contextmanager
def running_assistant(run_dir: Path, **options: Any) -> Iterator[Assistant]:
    """The assistant on free ports, with a log in run_dir and, unless `stores`
    says otherwise, a SQLite tracker store there too; the agents' flag queue is
    there as well (flagged_answers.jsonl), unless `extra_env` names another.

    A server that does not start fails the test with the servers' output.
    """
    log_path = run_dir / "servers.log"
    options.setdefault("stores", embedded_stores(run_dir / "tracker.db"))
    options["extra_env"] = {
        FLAG_QUEUE_ENV: str(run_dir / "flagged_answers.jsonl"),
        **(options.get("extra_env") or {}),
    }
    with log_path.open("wb") as log:
        assistant = Assistant(
            rasa_port=free_port(),
            action_port=free_port(),
            output=log,
            **options,
        )
        try:
            assistant.start()
        except RuntimeError as error:
            pytest.fail(f"{error}; server output:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            yield assistant
        finally:
            assistant.stop()


def send_rest(
    rest_url: str, sender: str, message: str, metadata: Optional[Dict[str, Any]] = None
) -> List[Dict[str, Any]]:
    """Send one member message over the REST channel; return the bot's messages."""
    body: Dict[str, Any] = {"sender": sender, "message": message}
    if metadata is not None:
        body["metadata"] = metadata
    request = urllib.request.Request(
        rest_url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
