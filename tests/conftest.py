"""Shared fixtures: the trained model and the real servers on free ports."""

from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from launch.paths import MODEL_PATH
from launch.servers import Assistant, free_port
from tests.support.prerequisites import skip_unless_required
from tests.support.servers import running_assistant, send_rest

Reply = List[Dict[str, Any]]
CHROMIUM = Path("/usr/bin/chromium")
# Chromium flags for a headless run on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model `make test` trained; fail clearly when it is missing."""
    if not MODEL_PATH.exists():
        pytest.fail(f"no trained model at {MODEL_PATH}: run the tests with `make test`")
    return MODEL_PATH


@pytest.fixture(scope="session")
def assistant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's assistant keeps its SQLite tracker store (tracker.db) and log (servers.log)."""
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def assistant(trained_model: Path, assistant_dir: Path) -> Iterator[Assistant]:
    """The action server, the Rasa server and the widget's web server, on free ports for the session."""
    with running_assistant(assistant_dir, web_port=free_port()) as running:
        yield running


@pytest.fixture(scope="session")
def send(assistant: Assistant) -> Callable[..., Reply]:
    """Send one member message over the REST channel; return the bot's messages."""

    def send_message(sender: str, message: str, metadata: Optional[Dict[str, Any]] = None) -> Reply:
        return send_rest(assistant.rest_url, sender, message, metadata)

    return send_message


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright.

    Module scope: Playwright's sync API keeps an event loop running while it
    is open, and other tests call asyncio.run().
    """
    if not CHROMIUM.exists():
        skip_unless_required("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
