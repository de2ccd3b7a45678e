"""The web server of the widget and its demo pages (launch/web_server.py), over HTTP."""

import urllib.error
import urllib.request
from typing import Tuple

import pytest

from launch.paths import PROJECT_DIR
from launch.servers import Assistant

pytestmark = pytest.mark.slow


def get(url: str) -> Tuple[int, str, str]:
    """Status, Content-Security-Policy header and body of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return (
                response.status,
                response.headers.get("Content-Security-Policy", ""),
                response.read().decode(),
            )
    except urllib.error.HTTPError as error:
        return error.code, "", ""


def test_demo_page_embeds_the_widget_with_this_rasa_server_and_a_strict_policy(assistant: Assistant) -> None:
    status, policy, page = get(assistant.demo_url)
    assert status == 200
    assert f'data-server="{assistant.base_url}"' in page
    assert 'data-state="TX" data-plan-type="ppo"' in page
    assert "{{" not in page
    assert "script-src 'self';" in policy
    assert f"connect-src 'self' {assistant.base_url} ws://127.0.0.1:{assistant.rasa_port};" in policy


@pytest.mark.parametrize(
    "path", ["widget/widget.js", "widget/render.js", "widget/widget.css", "widget/socket.io.min.js"]
)
def test_widget_files_are_served(assistant: Assistant, path: str) -> None:
    status, _, body = get(f"http://127.0.0.1:{assistant.web_port}/{path}")
    assert status == 200
    assert body == (PROJECT_DIR / "web" / path).read_text()


@pytest.mark.parametrize(
    "path",
    [
        "package.json",
        "node_modules/axe-core/axe.min.js",
        "widget/",
        "widget/../package.json",
        "widget/%2e%2e/package.json",
        "demo/%2e%2e/package.json",
        "widget/.hidden",
    ],
)
def test_nothing_else_of_the_web_folder_is_served(assistant: Assistant, path: str) -> None:
    status, _, _ = get(f"http://127.0.0.1:{assistant.web_port}/{path}")
    assert status == 404
