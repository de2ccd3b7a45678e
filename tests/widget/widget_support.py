"""What the widget tests share: where things are, names on screen, small page helpers."""

import re
from typing import Any, List

from launch.paths import PROJECT_DIR

ARTIFACTS_DIR = PROJECT_DIR / "test-artifacts"
SOCKET_IO_SCRIPT = PROJECT_DIR / "web" / "widget" / "socket.io.min.js"
AXE_SCRIPT = PROJECT_DIR / "web" / "node_modules" / "axe-core" / "axe.min.js"
# How long to wait for the assistant: generous, the machine is shared. Tests
# never assert on speed.
REPLY_WAIT_MS = 45_000
GREETING_START = "Hi! I can tell you how Blue Cross and Blue Shield plans"
LAUNCHER_NAME = re.compile("Chat with us")
DIALOG_NAME = "Massage therapy coverage"
INPUT_LABEL = "Your question"
QUICK_REPLIES_NAME = "Suggested answers"


def bot_texts(page: Any) -> List[str]:
    """The assistant's bubbles shown in the widget, in order: each one's words
    (an answer's text, steps and closing line), without references or buttons."""
    return list(page.locator(".hcsc-chat__message--bot .hcsc-chat__body").all_text_contents())


def answer_shown(text: str, closing: str) -> str:
    """An answer's bubble text: its text, and the closing (ID-card) line as its last sentence."""
    return f"{text} {closing}"


def ask(page: Any, text: str) -> None:
    """Type a message into the widget and send it with Enter."""
    question = page.get_by_label(INPUT_LABEL)
    question.fill(text)
    question.press("Enter")
