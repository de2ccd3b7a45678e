"""Hostile and odd inputs (tests/e2e/hostile_inputs.yml) against the real
member REST channel: a short JSON 4xx for every malformed request, a reply
for every well-formed one, never a 5xx, and the server still answers a
normal question correctly afterwards."""

import http.client
import json
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import pytest
import yaml

from launch.servers import Assistant

pytestmark = pytest.mark.slow

CASES_FILE = Path(__file__).with_name("hostile_inputs.yml")
CASES: List[Dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]
MAX_ERROR_BODY_BYTES = 300
# What a stack trace or a framework's debug page would show a member.
LEAK_MARKERS = ("Traceback", "Exception", 'File "', "sanic", "rasa.")


def request_for(case: Dict[str, Any]) -> Tuple[str, str, bytes]:
    """The method, path and body bytes a corpus case describes."""
    repeat = int(case.get("repeat", 1))
    if "body_hex" in case:
        body = bytes.fromhex(case["body_hex"].replace(" ", ""))
    elif "body" in case:
        body = case["body"].replace("{filler}", "a" * repeat).encode("utf-8")
    else:
        sender = case.get("sender", f"hostile-{uuid.uuid4().hex[:12]}z") * int(case.get("sender_repeat", 1))
        body = json.dumps({"sender": sender, "message": case["message"] * repeat}).encode("utf-8")
    return case.get("method", "POST"), case.get("path", "/webhooks/rest/webhook"), body


def send_raw(base_url: str, method: str, path: str, body: bytes) -> Tuple[int, bytes]:
    """One HTTP request exactly as given; the status and body of the response."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        try:
            connection.request(method, path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a server refusing a large body may close before reading all of it
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def is_bot_message(message: Any) -> bool:
    return isinstance(message, dict) and bool({"text", "custom", "buttons"} & message.keys())


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_hostile_input(assistant: Assistant, case: Dict[str, Any]) -> None:
    method, path, body = request_for(case)
    status, reply = send_raw(assistant.base_url, method, path, body)
    assert status < 500, (status, reply[:300])
    decoded = reply.decode("utf-8")
    assert not any(marker in decoded for marker in LEAK_MARKERS), decoded[:300]
    if case["expect"] == "reply":
        assert status == 200, decoded[:300]
        messages = json.loads(decoded)
        assert isinstance(messages, list) and messages, decoded[:300]
        assert all(is_bot_message(message) for message in messages), messages
    else:
        assert status == case["expect"], decoded[:300]
        error = json.loads(decoded)
        assert isinstance(error, dict) and error, decoded
        assert len(reply) <= MAX_ERROR_BODY_BYTES, decoded


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 60
    assert len({case["name"] for case in CASES}) == len(CASES)
    assert sum(case["expect"] == "reply" for case in CASES) >= 40
    assert sum(case["expect"] != "reply" for case in CASES) >= 20


def coverage_of(messages: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    payloads = [message["custom"]["coverage"] for message in messages if "custom" in message]
    return payloads[0] if payloads else None


def test_a_normal_question_is_answered_correctly_after_the_corpus(assistant: Assistant) -> None:
    for case in CASES:  # the whole corpus again, then a real question
        send_raw(assistant.base_url, *request_for(case))
    body = json.dumps(
        {
            "sender": f"after-{uuid.uuid4().hex[:8]}",
            "message": "does my texas hmo need a referral for massage therapy?",
        }
    )
    status, reply = send_raw(assistant.base_url, "POST", "/webhooks/rest/webhook", body.encode())
    assert status == 200
    coverage = coverage_of(json.loads(reply))
    assert coverage is not None, reply
    assert (coverage["topic"], coverage["state"], coverage["plan_type"], coverage["outcome"]) == (
        "referral",
        "TX",
        "hmo",
        "required",
    )
