"""The agent page in a real browser against the real servers."""

from dataclasses import dataclass, field
from typing import Any, Iterator, List

import pytest

from launch.paths import PROJECT_DIR
from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules

pytestmark = pytest.mark.slow

RULES = load_rules()
# Screenshots for a person to look at; git-ignored.
ARTIFACTS = PROJECT_DIR / "test-artifacts"


@dataclass
class OpenPage:
    """A browser page and the errors its console reported (CSP violations included)."""

    page: Any
    console_errors: List[str] = field(default_factory=list)


@pytest.fixture
def agent_page(browser: Any, assistant: Assistant) -> Iterator[OpenPage]:
    """The agent page in a fresh browser context that may use the clipboard."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=assistant.base_url)
    opened = OpenPage(context.new_page())
    opened.page.on("console", lambda m: m.type == "error" and opened.console_errors.append(m.text))
    opened.page.goto(assistant.agent_page_url)
    try:
        yield opened
    finally:
        context.close()


def test_an_agent_signs_in_asks_and_sees_the_answer_intent_and_rule(
    agent_page: OpenPage, assistant: Assistant
) -> None:
    page = agent_page.page
    expected = RULES.answer("referral", PlanContext(state="TX", plan_type="hmo"))

    page.get_by_label("Agent token").fill(str(assistant.agent_token))
    page.get_by_label("Question, as the member typed it").fill("do i need a referral for massage?")
    page.get_by_label("State").select_option("TX")
    page.get_by_label("Plan type").select_option(label="HMO")
    page.get_by_role("button", name="Preview the answer").click()

    member = page.locator("#member-messages")
    member.get_by_text(expected.text).wait_for()
    assert expected.closing in member.inner_text()
    assert page.locator("#intent-name").inner_text() == "ask_referral"
    assert float(page.locator("#intent-confidence").get_attribute("value")) > 0.5
    rules = page.locator("#rules")
    assert "referral.hmo" in rules.inner_text()
    assert RULES.rule("referral.hmo").text in rules.inner_text()
    assert page.locator("#outcome").inner_text().startswith("required")
    assert page.locator("#fallback-note").is_hidden()
    assert page.get_by_role("status").first.inner_text() == "Answer ready."
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "agent-page.png"), full_page=True)

    page.get_by_role("button", name="Copy answer").click()
    page.get_by_text("Answer copied.").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(expected.text) and copied.endswith(expected.closing)
    assert agent_page.console_errors == []


def test_the_page_works_from_the_keyboard_with_earlier_messages(
    agent_page: OpenPage, assistant: Assistant
) -> None:
    page = agent_page.page
    page.get_by_label("Agent token").focus()
    page.keyboard.type(str(assistant.agent_token))
    page.keyboard.press("Tab")
    page.keyboard.type("do i need a referral?")
    page.get_by_label("Earlier member messages (optional, one per line, oldest first)").fill(
        "i have bcbs of texas\nit's a ppo"
    )
    page.get_by_label("Question, as the member typed it").press("Control+Enter")

    expected = RULES.answer("referral", PlanContext(state="TX", plan_type="ppo"))
    page.locator("#member-messages").get_by_text(expected.text).wait_for()
    assert "referral.ppo" in page.locator("#rules").inner_text()
    slots = page.locator("#slots").inner_text()
    assert "TX" in slots and "ppo" in slots
    assert agent_page.console_errors == []


def test_a_wrong_token_is_refused_and_nothing_is_shown(agent_page: OpenPage) -> None:
    page = agent_page.page
    page.get_by_label("Agent token").fill("not-the-token")
    page.get_by_label("Question, as the member typed it").fill("do i need a referral?")
    page.get_by_role("button", name="Preview the answer").click()
    page.get_by_text("The token was not accepted. Check it and try again.").wait_for()
    assert page.locator("#result").is_hidden()
