"""Conversations survive a restart: the default SQLite tracker store keeps them."""

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest

from launch.servers import Assistant
from tests.support.servers import running_assistant

pytestmark = pytest.mark.slow


def send(assistant: Assistant, sender: str, message: str) -> List[Dict[str, Any]]:
    """One member message over REST."""
    request = urllib.request.Request(
        assistant.rest_url,
        json.dumps({"sender": sender, "message": message}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_plan_context_survives_a_server_restart(trained_model: Path, tmp_path: Path) -> None:
    sender = f"restart-{uuid.uuid4().hex}"
    # Both runs use the same tracker store file in tmp_path.
    with running_assistant(tmp_path) as first:
        send(first, sender, "i have blue cross of texas ppo")
    with running_assistant(tmp_path) as second:
        reply = send(second, sender, "do i need a referral?")
    coverage = next(m["custom"]["coverage"] for m in reply if m.get("custom"))
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", "ppo", "not_required")
