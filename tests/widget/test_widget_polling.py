"""The widget where a proxy blocks WebSocket (common on work networks): it
falls back to HTTP long-polling, which the real server now answers with one
Access-Control-Allow-Origin header, and the member gets answers."""

from typing import Any, List

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant
from tests.support.replies import ID_CARD
from tests.widget.widget_support import DIALOG_NAME, GREETING_START, LAUNCHER_NAME, ask

pytestmark = pytest.mark.slow

# What a proxy that refuses WebSocket looks like to the page: every WebSocket
# fails before it opens (Chromium's own network blocking does not cover
# WebSocket). HTTP requests are untouched.
BLOCKED_WEBSOCKET = """
(() => {
  window.blockedWebSockets = 0;
  class BlockedWebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = 0;
      window.blockedWebSockets += 1;
      setTimeout(() => {
        this.readyState = 3;
        if (this.onerror) this.onerror(new Event("error"));
        if (this.onclose) this.onclose(new CloseEvent("close", { code: 1006 }));
      }, 20);
    }
    send() {}
    close() {}
  }
  BlockedWebSocket.CONNECTING = 0;
  BlockedWebSocket.OPEN = 1;
  BlockedWebSocket.CLOSING = 2;
  BlockedWebSocket.CLOSED = 3;
  window.WebSocket = BlockedWebSocket;
})();
"""


def test_the_widget_falls_back_to_polling_when_websocket_is_blocked(page: Any, assistant: Assistant) -> None:
    page.add_init_script(BLOCKED_WEBSOCKET)
    polled: List[str] = []
    page.on("response", lambda response: "transport=polling" in response.url and polled.append(response.url))
    page.goto(f"http://127.0.0.1:{assistant.web_port}/demo/public.html")
    page.get_by_role("button", name=LAUNCHER_NAME).click()
    expect(page.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()
    expect(page.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
    ask(page, "does my texas hmo need a referral for massage therapy?")
    expect(page.locator(".hcsc-chat__message--bot .hcsc-chat__text").last).to_contain_text(ID_CARD)
    assert page.evaluate("window.blockedWebSockets") >= 1, "the widget tried WebSocket first"
    assert polled, "and then talked over HTTP long-polling"
    assert page.evaluate("sessionStorage.getItem('hcscChat.sessionToken')")
