"""What the real servers do not offer: Rasa's HTTP API is off unless a token
opens it, and only the configured member sites may use the assistant from a
browser (CORS on the REST channel, the origin check on socket.io's WebSocket).

The socket.io long-polling origin check is in test_socketio_channel.py, the
preview endpoint's token in tests/preview/.
"""

import asyncio
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import aiohttp
import pytest

from launch.serve import api_note, assistant_from_env
from launch.servers import Assistant
from rasa_server.api_token import API_TOKEN_ENV, with_api_token
from tests.support.servers import running_assistant

pytestmark = pytest.mark.slow

OTHER_ORIGIN = "http://evil.example"
TIMEOUT_S = 60
# Endpoints of Rasa 3.6's HTTP API (rasa/server.py): read or change any
# conversation, parse text, replace the model.
API_ENDPOINTS = [
    ("GET", "/status"),
    ("GET", "/version"),
    ("GET", "/domain"),
    ("GET", "/conversations/member-1/tracker"),
    ("POST", "/conversations/member-1/messages"),
    ("POST", "/conversations/member-1/tracker/events"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
]


def request(
    url: str, method: str = "GET", body: Optional[Dict] = None, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Dict[str, str], bytes]:
    """One HTTP request; the status, headers and body, error statuses included."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data, all_headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# --- Rasa's HTTP API -------------------------------------------------------


@pytest.mark.parametrize("method, path", API_ENDPOINTS, ids=[f"{m} {p}" for m, p in API_ENDPOINTS])
def test_the_http_api_is_off_on_the_servers_the_tests_start(
    assistant: Assistant, method: str, path: str
) -> None:
    body = {"text": "hi"} if method != "GET" else None
    status, _, content = request(assistant.base_url + path, method, body)
    assert status in (404, 405), (status, content[:300])


def test_the_member_channel_answers_where_the_api_does_not(assistant: Assistant) -> None:
    # The API checks above would pass on a server that is down; this one would not.
    status, _, content = request(assistant.rest_url, "POST", {"sender": "surfaces-1", "message": "hi"})
    assert status == 200 and json.loads(content), content[:300]


def test_make_run_starts_rasa_without_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even a RASA_API_TOKEN left in the caller's environment is not passed on
    # to servers started without api_token (tests, cluster, preview).
    monkeypatch.setenv(API_TOKEN_ENV, "left-over")
    for env in ({}, {API_TOKEN_ENV: ""}, {API_TOKEN_ENV: "   "}):
        assistant = assistant_from_env(env)
        assert assistant.api_token is None
        assert "--enable-api" not in assistant.rasa_server.command
        assert not any(arg.startswith("--auth-token") for arg in assistant.rasa_server.command)
        assert API_TOKEN_ENV not in assistant.rasa_server.env
        assert api_note(assistant).startswith("Rasa HTTP API: off")


def test_make_run_opens_the_api_only_with_rasa_api_token() -> None:
    token = secrets.token_urlsafe(16)
    assistant = assistant_from_env({API_TOKEN_ENV: f" {token} "})
    assert assistant.api_token == token
    assert assistant.rasa_server.env[API_TOKEN_ENV] == token
    # Only the Rasa server gets it, and never on a command line.
    assert API_TOKEN_ENV not in assistant.action_server.env
    assert token not in " ".join(assistant.rasa_server.command)
    note = api_note(assistant)
    assert note.startswith("Rasa HTTP API: ON") and token not in note


@pytest.mark.parametrize(
    "argv, env, expected",
    [
        (["rasa", "run", "--port", "1"], {}, ["rasa", "run", "--port", "1"]),
        (["rasa", "run"], {API_TOKEN_ENV: " "}, ["rasa", "run"]),
        (["rasa", "run"], {API_TOKEN_ENV: "t0k"}, ["rasa", "run", "--enable-api", "--auth-token=t0k"]),
        (["rasa", "run"], {API_TOKEN_ENV: "-t0k"}, ["rasa", "run", "--enable-api", "--auth-token=-t0k"]),
        (["rasa", "train"], {API_TOKEN_ENV: "t0k"}, ["rasa", "train"]),
    ],
)
def test_the_rasa_entry_point_adds_the_api_flags_only_with_a_token(
    argv: list, env: dict, expected: list
) -> None:
    assert with_api_token(argv, env) == expected


@pytest.fixture(scope="module")
def api_server(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """Servers of their own, started with the API opened by a token."""
    # The token starts with "-", as a random one now and then does: it must
    # still reach Rasa as the token, not as an option.
    with running_assistant(
        tmp_path_factory.mktemp("api-server"), api_token="-" + secrets.token_urlsafe(24)
    ) as running:
        yield running


@pytest.mark.parametrize("path", ["/status", "/conversations/member-1/tracker"])
@pytest.mark.parametrize("token, expected", [(None, 401), ("wrong", 401), ("right", 200)])
def test_with_a_token_the_api_answers_only_requests_that_carry_it(
    api_server: Assistant, path: str, token: Optional[str], expected: int
) -> None:
    given = {None: None, "wrong": "wrong-" + str(api_server.api_token), "right": api_server.api_token}[token]
    query = f"?{urllib.parse.urlencode({'token': given})}" if given else ""
    status, _, content = request(api_server.base_url + path + query)
    assert status == expected, content[:300]


def test_the_api_token_is_not_on_the_rasa_servers_command_line(api_server: Assistant) -> None:
    process = api_server.rasa_server.process
    assert process is not None
    command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "rasa_server run" in command_line
    assert str(api_server.api_token) not in command_line


# --- Browsers: CORS on the REST channel, the origin check on WebSocket --------


@pytest.mark.parametrize("method", ["POST", "OPTIONS"])
def test_rest_cors_allows_only_the_configured_sites(assistant: Assistant, method: str) -> None:
    site = assistant.site_origins[0]
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}

    def allowed_origin(origin: str) -> Optional[str]:
        headers = {"Origin": origin, **(preflight if method == "OPTIONS" else {})}
        body = {"sender": "surfaces-cors", "message": "hi"} if method == "POST" else None
        status, response_headers, content = request(assistant.rest_url, method, body, headers)
        assert status == 200, content[:300]
        lowered = {name.lower(): value for name, value in response_headers.items()}
        return lowered.get("access-control-allow-origin")

    assert allowed_origin(site) == site
    assert allowed_origin(OTHER_ORIGIN) is None


async def websocket_handshake(assistant: Assistant, origin: str) -> Tuple[int, str]:
    """Open socket.io's WebSocket transport as a browser page from origin would."""
    url = assistant.base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            async with session.ws_connect(url, origin=origin) as socket:
                # Engine.IO's "open" packet: type 0, then the session as JSON.
                return 101, str(await socket.receive_str(timeout=TIMEOUT_S))
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status, ""


def test_socketio_websocket_accepts_only_the_configured_sites(assistant: Assistant) -> None:
    status, first_packet = asyncio.run(websocket_handshake(assistant, assistant.site_origins[0]))
    assert status == 101 and first_packet.startswith('0{"sid"'), (status, first_packet)
    status, first_packet = asyncio.run(websocket_handshake(assistant, OTHER_ORIGIN))
    assert status == 400 and first_packet == ""
