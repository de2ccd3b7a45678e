"""Fixtures of the chat widget tests: a fresh browser tab against the real servers."""

from typing import Any, Iterator

import pytest
from playwright.sync_api import expect

from tests.widget.widget_support import AXE_SCRIPT, REPLY_WAIT_MS, SOCKET_IO_SCRIPT

# Assertions on the page wait for the assistant's replies this long at most.
expect.set_options(timeout=REPLY_WAIT_MS)


@pytest.fixture(autouse=True)
def web_packages_installed(request: pytest.FixtureRequest) -> None:
    """socket.io and axe-core come from npm; `make test` installs them.

    Only the browser tests (marked slow) load them; the source checks run
    in `make test-unit` without npm.
    """
    if request.node.get_closest_marker("slow") is None:
        return
    missing = [str(path) for path in (SOCKET_IO_SCRIPT, AXE_SCRIPT) if not path.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run the tests with `make test`")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab with its own sessionStorage."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(REPLY_WAIT_MS)
    try:
        yield tab
    finally:
        context.close()
