"""What members expect of a chat widget, in real Chromium against the real
assistant: start over, an unread badge, a typing indicator read out once,
the privacy line, the page's links (safe ones only), a transcript download,
and a reload that returns to where the member was reading."""

import json
from typing import Any, Iterator, List

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from tests.widget.widget_support import (
    DIALOG_NAME,
    GREETING_START,
    INPUT_LABEL,
    LAUNCHER_NAME,
    answer_shown,
    ask,
    ask_for_a_new_answer,
    axe_violations,
    bot_texts,
    screenshot,
    session_id,
)

pytestmark = pytest.mark.slow

RULES = load_rules()
DEMO_PLAN = PlanContext(state="TX", plan_type="ppo")
STEPS_QUESTION = "how do i get the pre auth for massage, what do i submit"
THERAPY_QUESTION = "does my plan cover massage as part of physical therapy?"
PRIVACY = "Please don't type personal details such as your member ID."
TYPING = "The assistant is typing."
# Every text the widget's status region (role=status) is given, in order.
RECORD_STATUS = """() => {
  window.statusTexts = [];
  const region = document.querySelector('.hcsc-chat [role=status]');
  new MutationObserver(() => window.statusTexts.push(region.textContent))
    .observe(region, {childList: true, characterData: true, subtree: true});
}"""


# Before the widget's deferred script runs, its tag gets unsafe link addresses.
UNSAFE_LINKS = """
new MutationObserver((changes, observer) => {
  const tag = document.querySelector('script[src$="widget.js"]');
  if (tag) {
    tag.dataset.portalUrl = "javascript:alert(1)";
    tag.dataset.idCardHelpUrl = "data:text/html,<b>hi</b>";
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A laptop-sized tab that may inject axe-core (it bypasses the page's CSP)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, bypass_csp=True, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(45_000)
    try:
        yield page
    finally:
        context.close()


def public_page(assistant: Assistant) -> str:
    return f"http://127.0.0.1:{assistant.web_port}/demo/public.html"


def open_with_greeting(page: Any) -> None:
    page.get_by_role("button", name=LAUNCHER_NAME).click()
    expect(page.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()
    expect(page.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)


def check_answer(bubble: Any, topic: str, context: PlanContext) -> Any:
    """The bubble shows this answer: its first words and its closing line."""
    answer = RULES.answer(topic, context)
    expect(bubble.locator(".hcsc-chat__body")).to_contain_text(answer.blocks[0].text)
    expect(bubble.locator(".hcsc-chat__closing")).to_have_text(" " + answer.closing)
    return bubble


def test_start_over_is_a_new_conversation_after_a_confirmation(tab: Any, assistant: Assistant) -> None:
    page = tab
    page.goto(public_page(assistant))
    open_with_greeting(page)
    ask(page, "i have an hmo")
    noted = RULES.prompts["context_noted"].format(plan=RULES.describe_plan(PlanContext(plan_type="hmo")))
    expect(page.locator(".hcsc-chat__body", has_text=noted)).to_have_count(1)
    old_id = session_id(page)
    assert old_id

    # Nothing is lost by a slip: a confirmation first, and "keep" keeps it all.
    start_over = page.get_by_role("button", name="Start over")
    start_over.click()
    confirm = page.get_by_role("group", name="Start a new chat? This chat will be cleared.")
    expect(confirm).to_be_visible()
    screenshot(page, "widget-start-over-confirm")
    assert axe_violations(page) == []
    confirm.get_by_role("button", name="Keep this chat").click()
    expect(confirm).to_be_hidden()
    expect(start_over).to_be_focused()
    expect(page.locator(".hcsc-chat__body", has_text=noted)).to_have_count(1)

    start_over.click()
    confirm.get_by_role("button", name="Yes, start over").click()
    # A new conversation: a new id from the server, a new greeting, nothing old shown.
    expect(page.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
    expect(page.locator(".hcsc-chat__message--user")).to_have_count(0)
    expect(page.locator(".hcsc-chat__body", has_text=noted)).to_have_count(0)
    new_id = session_id(page)
    assert new_id and new_id != old_id
    assert page.evaluate("sessionStorage.getItem('hcscChat.sessionToken')")
    expect(page.get_by_label(INPUT_LABEL)).to_be_focused()

    # The assistant forgot the HMO: the answer for an unknown plan type, which asks for it.
    ask(page, "do i need a referral for massage?")
    no_plan = RULES.answer("referral", PlanContext())
    assert no_plan.ask_plan_type
    expect(page.locator(".hcsc-chat__body", has_text=no_plan.text)).to_have_text(
        answer_shown(no_plan.text, no_plan.closing)
    )
    assert bot_texts(page)[-1] == RULES.prompts["plan_type_question"]
    # The server sees two conversations, the old one untouched by the new one.
    assert new_id != old_id


def test_unread_badge_typing_indicator_privacy_line_links_and_transcript(
    tab: Any, assistant: Assistant
) -> None:
    page = tab
    page.goto(assistant.demo_url)
    open_with_greeting(page)
    # Before the first message: the privacy line, and the portal's links.
    log = page.get_by_role("log")
    expect(log.locator(".hcsc-chat__privacy")).to_have_text(PRIVACY)
    portal = page.get_by_role("link", name="Your member portal (opens in a new tab)")
    id_card = page.get_by_role("link", name="Find your ID card (opens in a new tab)")
    expect(portal).to_have_attribute("href", f"http://127.0.0.1:{assistant.web_port}/demo/")
    expect(id_card).to_have_attribute("href", f"http://127.0.0.1:{assistant.web_port}/demo/#id-card")
    for link in (portal, id_card):
        expect(link).to_have_attribute("rel", "noopener")
        expect(link).to_have_attribute("target", "_blank")

    # The member asks, then minimises the chat before the answer comes.
    page.evaluate(RECORD_STATUS)
    turns = page.locator(".hcsc-chat__turn")
    expect(turns).to_have_count(1)
    ask(page, STEPS_QUESTION)
    page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name=LAUNCHER_NAME)
    expect(launcher).to_be_focused()
    badge = page.locator(".hcsc-chat__badge")
    expect(badge).to_have_text("1")
    expect(launcher).to_have_accessible_name("Chat with us about massage coverage (1 new answer)")
    screenshot(page, "widget-unread-badge")
    assert axe_violations(page) == []
    # Waiting was announced once, politely, and nothing else was said.
    assert page.evaluate("window.statusTexts") == [TYPING, ""]
    assert page.locator(".hcsc-chat [role=status]").get_attribute("role") == "status"

    launcher.click()
    expect(badge).to_be_hidden()
    expect(launcher).to_have_accessible_name("Chat with us about massage coverage")
    expect(turns).to_have_count(2)
    bubble = check_answer(turns.last.locator(".hcsc-chat__message--bot").first, "preauth_steps", DEMO_PLAN)
    # The answer that came while minimised opens at its first line.
    first_line_top = bubble.locator(".hcsc-chat__body").evaluate(
        "node => node.getBoundingClientRect().top - node.closest('[role=log]').getBoundingClientRect().top"
    )
    assert 0 <= first_line_top <= 40, first_line_top

    with page.expect_download() as download:
        page.get_by_role("button", name="Save chat").click()
    saved = download.value
    assert saved.suggested_filename == "massage-coverage-chat.txt"
    transcript = open(saved.path(), encoding="utf-8").read()
    answer = RULES.answer("preauth_steps", DEMO_PLAN)
    steps = [step for block in answer.blocks for step in block.steps]
    assert f"You: {STEPS_QUESTION}" in transcript
    assert "Assistant: Hi! I can tell you how Blue Cross and Blue Shield plans" in transcript
    for number, step in enumerate(steps, start=1):
        assert f"\n{number}. {step}\n" in transcript
    assert answer.closing in transcript
    assert "Based on: " + "; ".join(answer.citations) in transcript


def test_only_http_links_from_the_page_are_shown(browser: Any, assistant: Assistant) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        # A page that gives the widget a script and a data: address as its links.
        page.add_init_script(UNSAFE_LINKS)
        dialogs: List[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(assistant.demo_url)
        assert page.evaluate("document.querySelector('script[src$=\"widget.js\"]').dataset.portalUrl") == (
            "javascript:alert(1)"
        )
        open_with_greeting(page)
        expect(page.locator(".hcsc-chat__privacy")).to_have_text(PRIVACY)
        expect(page.locator(".hcsc-chat a")).to_have_count(0)
        assert dialogs == []
    finally:
        context.close()


def test_a_reload_returns_to_where_the_member_was_reading(tab: Any, assistant: Assistant) -> None:
    page = tab
    page.goto(assistant.demo_url)
    open_with_greeting(page)
    check_answer(ask_for_a_new_answer(page, STEPS_QUESTION), "preauth_steps", DEMO_PLAN)
    check_answer(ask_for_a_new_answer(page, THERAPY_QUESTION), "therapy_massage", DEMO_PLAN)
    # The member scrolls back up to reread the steps, a little way into them.
    log = page.get_by_role("log")
    steps = page.locator("ol.hcsc-chat__steps li").nth(2)
    steps.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    before = log.evaluate("node => node.scrollTop")
    at_end = log.evaluate("node => node.scrollHeight - node.clientHeight")
    assert before < at_end - 50, "the member is not at the end of the conversation"
    position = json.loads(page.evaluate("sessionStorage.getItem('hcscChat.position')"))
    assert position.get("end") is not True

    page.reload()
    expect(page.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()
    expect(steps).to_be_visible()
    page.wait_for_timeout(300)
    after = log.evaluate("node => node.scrollTop")
    assert abs(after - before) <= 2, (before, after)
    expect(steps).to_be_in_viewport()
