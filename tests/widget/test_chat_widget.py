"""The member chat widget in headless Chromium, on the demo member portal page,
against the real trained assistant, action server and web server (free ports)."""

import json
from typing import Any, List
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from tests.support.replies import ID_CARD
from tests.widget.widget_support import (
    ARTIFACTS_DIR,
    AXE_SCRIPT,
    DIALOG_NAME,
    GREETING_START,
    INPUT_LABEL,
    LAUNCHER_NAME,
    QUICK_REPLIES_NAME,
    answer_shown,
    ask,
    bot_texts,
)

pytestmark = pytest.mark.slow

RULES = load_rules()
# The demo portal page passes this member's plan: Texas PPO.
DEMO_PLAN = {"state": "TX", "plan_type": "ppo"}
MARKUP = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>"]


def public_page_url(assistant: Assistant) -> str:
    """The demo site's public page: the widget without a plan context."""
    return f"http://127.0.0.1:{assistant.web_port}/demo/public.html"


def open_widget_by_keyboard(page: Any) -> None:
    """Tab from the top of the page to the launcher and press Enter."""
    launcher = page.get_by_role("button", name=LAUNCHER_NAME)
    expect(launcher).to_be_visible()
    for _ in range(15):
        page.keyboard.press("Tab")
        if launcher.evaluate("node => node === document.activeElement"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()


def wait_for_greeting(page: Any) -> Any:
    """The assistant's welcome and its quick replies; returns the quick-reply buttons."""
    expect(page.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
    buttons = page.get_by_role("group", name=QUICK_REPLIES_NAME).get_by_role("button")
    expect(buttons).to_have_count(5)
    return buttons


def wait_for_bot_text(page: Any, text: str) -> Any:
    """The assistant's bubble with exactly this text (an answer's: text and closing line)."""
    message = (
        page.locator(".hcsc-chat__message--bot")
        .filter(has=page.locator(".hcsc-chat__body", has_text=text))
        .last
    )
    expect(message.locator(".hcsc-chat__body")).to_have_text(text)
    return message


def wait_for_answer(page: Any, answer: Any) -> Any:
    """The bubble of a coverage answer: its text with the closing line as its last sentence."""
    return wait_for_bot_text(page, answer_shown(answer.text, answer.closing))


def visible_conversation(page: Any) -> List[str]:
    """Every member and assistant message shown, in order (notices left out)."""
    return list(page.locator(".hcsc-chat__message").all_inner_texts())


def test_member_opens_by_keyboard_asks_and_sees_the_answer_with_its_references(
    page: Any, assistant: Assistant
) -> None:
    requested: List[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("websocket", lambda socket: requested.append(socket.url))
    blocked: List[str] = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(assistant.demo_url)
    open_widget_by_keyboard(page)
    expect(page.get_by_label(INPUT_LABEL)).to_be_focused()

    # Quick replies are real buttons, reachable from the input by Shift+Tab.
    buttons = wait_for_greeting(page)
    page.keyboard.press("Shift+Tab")
    expect(buttons.last).to_be_focused()
    expect(buttons.last).to_have_text("Do I need prior approval?")

    question = "does my plan cover massage as part of physical therapy?"
    ask(page, question)
    expected = RULES.answer("therapy_massage", PlanContext(setting="physical_therapy", **DEMO_PLAN))
    assert expected.citations
    # One bubble: the answer, the ID-card line as its last sentence, its references.
    answer = wait_for_answer(page, expected)
    sources = answer.locator(".hcsc-chat__sources")
    expect(sources).to_have_text("Based on: " + "; ".join(expected.citations))
    expect(answer.locator(".hcsc-chat__closing")).to_have_text(" " + expected.closing)
    assert ID_CARD in bot_texts(page)[-1]
    assert not any(text == expected.closing for text in bot_texts(page))
    expect(page.locator(".hcsc-chat__message--user .hcsc-chat__text")).to_have_text([question])
    # Suggestions of an earlier message go away once the member has answered.
    expect(page.get_by_role("group", name=QUICK_REPLIES_NAME)).to_have_count(0)

    ARTIFACTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS_DIR / "widget-mid-conversation.png"))

    # Every file and connection comes from the project's own servers: no CDN,
    # and the demo page's strict Content Security Policy blocked nothing.
    allowed_hosts = {f"127.0.0.1:{assistant.web_port}", f"127.0.0.1:{assistant.rasa_port}"}
    assert {urlsplit(url).netloc for url in requested} <= allowed_hosts, requested
    assert blocked == []


def test_quick_replies_work_and_a_page_without_plan_context_offers_plan_buttons(
    page: Any, assistant: Assistant
) -> None:
    page.goto(public_page_url(assistant))
    page.get_by_role("button", name=LAUNCHER_NAME).click()
    wait_for_greeting(page)
    page.get_by_role("button", name="Do I need a referral?").click()
    expect(page.locator(".hcsc-chat__message--user .hcsc-chat__text")).to_have_text(["Do I need a referral?"])
    expect(page.get_by_label(INPUT_LABEL)).to_be_focused()

    no_plan = RULES.answer("referral", PlanContext())
    assert no_plan.ask_plan_type
    wait_for_answer(page, no_plan)
    group = page.get_by_role("group", name=QUICK_REPLIES_NAME)
    plan_buttons = group.get_by_role("button")
    expect(plan_buttons).to_have_text(["HMO", "PPO", "Medicaid", "Medicare Advantage"])
    # The plan-type question sits directly above its buttons, after the answer.
    question = group.locator("xpath=preceding-sibling::*[1]")
    expect(question.locator(".hcsc-chat__body")).to_have_text(RULES.prompts["plan_type_question"])
    assert bot_texts(page)[-2:] == [
        answer_shown(no_plan.text, no_plan.closing),
        RULES.prompts["plan_type_question"],
    ]

    plan_buttons.filter(has_text="HMO").click()
    wait_for_answer(page, RULES.answer("referral", PlanContext(plan_type="hmo")))


def test_conversation_and_its_context_survive_a_page_reload(page: Any, assistant: Assistant) -> None:
    page.goto(assistant.demo_url)
    page.get_by_role("button", name=LAUNCHER_NAME).click()
    wait_for_greeting(page)
    # The member corrects the portal's plan type: the conversation now knows "HMO".
    ask(page, "actually i have an hmo")
    noted = RULES.prompts["context_noted"].format(plan="Texas HMO plan")
    wait_for_bot_text(page, noted)
    expect(page.get_by_role("group", name=QUICK_REPLIES_NAME).get_by_role("button")).to_have_count(4)
    before = visible_conversation(page)
    session_id = page.evaluate("sessionStorage.getItem('hcscChat.sessionId')")

    page.reload()

    dialog = page.get_by_role("dialog", name=DIALOG_NAME)
    expect(dialog).to_be_visible()
    expect(page.locator(".hcsc-chat__message")).to_have_count(len(before))
    assert visible_conversation(page) == before
    expect(page.get_by_role("group", name=QUICK_REPLIES_NAME).get_by_role("button")).to_have_count(4)
    assert page.evaluate("sessionStorage.getItem('hcscChat.sessionId')") == session_id
    assert page.evaluate("localStorage.length") == 0

    # The page still says PPO; the answer is the HMO one only if Rasa kept the context.
    ask(page, "do i need a referral for massage?")
    wait_for_answer(page, RULES.answer("referral", PlanContext(state="TX", plan_type="hmo")))
    expect(page.locator(".hcsc-chat__message--bot", has_text=GREETING_START)).to_have_count(1)


def test_markup_in_member_and_assistant_messages_shows_as_text(browser: Any, assistant: Assistant) -> None:
    # The demo pages' Content Security Policy would stop injected markup from
    # running; this tab ignores it, so only the widget's own care stops it.
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        dialogs: List[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        # An assistant message with markup, as if the server had sent it
        # earlier in this conversation: the widget shows it from its history.
        saved = [{"who": "bot", "text": " and ".join(MARKUP), "sources": [MARKUP[0]]}]
        page.add_init_script(f"sessionStorage.setItem('hcscChat.history', {json.dumps(json.dumps(saved))});")
        page.goto(public_page_url(assistant))
        page.get_by_role("button", name=LAUNCHER_NAME).click()
        wait_for_bot_text(page, " and ".join(MARKUP))
        ask(page, MARKUP[0])
        expect(page.locator(".hcsc-chat__message--user .hcsc-chat__text")).to_have_text([MARKUP[0]])
        # The assistant's reply: by then an injected image would have failed to load.
        expect(page.locator(".hcsc-chat__message--bot").nth(1)).to_be_visible()

        widget = page.locator(".hcsc-chat")
        expect(widget.locator("img")).to_have_count(0)
        expect(widget.locator("script")).to_have_count(0)
        expect(widget.locator(".hcsc-chat__sources").first).to_have_text("Based on: " + MARKUP[0])
        assert dialogs == []
    finally:
        context.close()


def test_dialog_is_labelled_and_escape_closes_it_returning_focus_to_the_launcher(
    page: Any, assistant: Assistant
) -> None:
    page.goto(assistant.demo_url)
    launcher = page.get_by_role("button", name=LAUNCHER_NAME)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    open_widget_by_keyboard(page)
    expect(launcher).to_have_attribute("aria-expanded", "true")
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("textbox", name=INPUT_LABEL)).to_be_focused()
    expect(page.get_by_role("button", name="Close chat")).to_be_visible()

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name=DIALOG_NAME)).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name=INPUT_LABEL)).to_be_focused()
    page.get_by_role("button", name="Close chat").click()
    expect(launcher).to_be_focused()


def test_open_widget_has_no_serious_accessibility_violations(browser: Any, assistant: Assistant) -> None:
    # axe-core is injected from the local npm package; the demo page's Content
    # Security Policy would block an injected script, so this tab bypasses it.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 800})
    try:
        page = context.new_page()
        page.goto(assistant.demo_url)
        page.get_by_role("button", name=LAUNCHER_NAME).click()
        wait_for_greeting(page)
        ask(page, "is massage at a spa covered?")
        expected = RULES.answer("spa_wellness", PlanContext(setting="spa", **DEMO_PLAN))
        wait_for_answer(page, expected)
        page.add_script_tag(path=str(AXE_SCRIPT))
        results = page.evaluate(
            """() => axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                resultTypes: ["violations"],
            })"""
        )
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == []
    finally:
        context.close()
