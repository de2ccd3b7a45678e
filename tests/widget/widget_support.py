"""What the widget tests share: where things are, names on screen, small page helpers."""

import re
from typing import Any, List, Optional

from playwright.sync_api import expect

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


WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page: Any) -> List[str]:
    """Every axe-core WCAG 2.2 A/AA violation on the page, whatever its impact.

    The tab must bypass the page's Content Security Policy (axe is injected
    from the local npm package)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        """(tags) => axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        WCAG_22_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
    ]


def screenshot(page: Any, name: str) -> None:
    """Save the tab as test-artifacts/<name>.png."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS_DIR / f"{name}.png"))


def session_id(page: Any) -> Optional[str]:
    """The conversation id the widget keeps in sessionStorage."""
    value = page.evaluate("sessionStorage.getItem('hcscChat.sessionId')")
    return str(value) if value else None


def ask_for_a_new_answer(page: Any, text: str) -> Any:
    """Send a message and wait for the assistant's answer to it (a new turn);
    returns that turn's first bubble. Answers share their closing line, so
    waiting for an answer's words alone could find the one before."""
    turns = page.locator(".hcsc-chat__turn")
    before = turns.count()
    ask(page, text)
    expect(turns).to_have_count(before + 1)
    return turns.last.locator(".hcsc-chat__message--bot").first
