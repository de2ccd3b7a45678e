"""Issue 11's table through the member's widget: every failing input of the
issue, typed into the widget in headless Chromium, gets the right answer.

The same cases run over REST in tests/test_heldout_safety.py; here the coverage
payloads are read from the socket.io frames the widget receives, and the
widget must show each message's text to the member.
"""

import json
import re
import time
from typing import Any, Dict, List

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant
from tests.support.replies import ends_with_a_closing_line
from tests.test_heldout_safety import SLICES, Case, turn_problem
from tests.widget.widget_support import DIALOG_NAME, GREETING_START, REPLY_WAIT_MS, ask

pytestmark = pytest.mark.slow

CASES = SLICES["issue_table"]
# Engine.IO "message" + socket.io "event" packet: 42["bot_uttered", {...}].
EVENT_PACKET = "42"


def bot_messages_from(frames: List[str]) -> List[Dict[str, Any]]:
    """The bot_uttered payloads among socket.io frames, in order."""
    messages = []
    for frame in frames:
        if not frame.startswith(EVENT_PACKET):
            continue
        event = json.loads(frame[len(EVENT_PACKET) :])
        if event and event[0] == "bot_uttered":
            messages.append(event[1])
    return messages


def first_sentence(text: str) -> str:
    """A message's first sentence, whitespace collapsed: what the widget must show."""
    collapsed = " ".join(text.split())
    return re.split(r"(?<=[.?!])\s", collapsed, maxsplit=1)[0]


def wait_for_reply(page: Any, frames: List[str], already: int) -> List[Dict[str, Any]]:
    """The bot messages after the first `already`, once they end an answer."""
    deadline = time.monotonic() + REPLY_WAIT_MS / 1000
    while time.monotonic() < deadline:
        reply = bot_messages_from(frames)[already:]
        if ends_with_a_closing_line(reply):
            return reply
        # Playwright's sync API delivers the frame events only while it runs.
        page.wait_for_timeout(100)
    return bot_messages_from(frames)[already:]


@pytest.mark.parametrize("case", CASES, ids=[c["turns"][0]["say"][:40] for c in CASES])
def test_issue_table_input_in_the_widget(browser: Any, assistant: Assistant, case: Case) -> None:
    # The public page passes no plan context, like the REST cases.
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(REPLY_WAIT_MS)
    frames: List[str] = []
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived", lambda payload: frames.append(payload if isinstance(payload, str) else "")
        ),
    )
    try:
        page.goto(f"http://127.0.0.1:{assistant.web_port}/demo/public.html")
        page.get_by_role("button", name=re.compile("Chat with us")).click()
        dialog = page.get_by_role("dialog", name=DIALOG_NAME)
        expect(dialog).to_contain_text(GREETING_START)
        for turn in case["turns"]:
            seen = len(bot_messages_from(frames))
            ask(page, turn["say"])
            reply = wait_for_reply(page, frames, seen)
            problem = turn_problem(turn, reply)
            assert problem is None, f"{turn['say']!r}: {problem}"
            for message in reply:
                if message.get("text"):
                    expect(dialog).to_contain_text(first_sentence(message["text"]))
    finally:
        context.close()
