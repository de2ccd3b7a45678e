"""The widget in Spanish, in real Chromium against the real assistant: it
starts in the member's last choice or the page's language, a switch in its
header re-labels it at once and keeps the conversation, every later message
asks the assistant for that language, and each bubble says which language it
is in (lang) for screen readers."""

import json
import re
from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from rasa_server.nlg import response_text
from tests.widget.widget_support import (
    DIALOG_NAME,
    GREETING_START,
    INPUT_LABEL,
    LAUNCHER_NAME,
    answer_shown,
    axe_violations,
)

pytestmark = pytest.mark.slow

SPANISH = load_rules(language="es")
SPANISH_LAUNCHER = re.compile("Chat sobre la cobertura de masajes")
SPANISH_DIALOG = "Cobertura de terapia de masaje"
SPANISH_INPUT_LABEL = "Su pregunta"
SPANISH_QUICK_REPLIES = "Respuestas sugeridas"
# The assistant's answer to "Is massage covered?" without a plan (public pages).
OVERVIEW_ES = SPANISH.answer("coverage_overview", PlanContext())

# Before the widget's deferred script runs, the page says it is in US Spanish.
SPANISH_US_PAGE = """
new MutationObserver((changes, observer) => {
  if (document.querySelector('script[src$="widget.js"]')) {
    document.documentElement.lang = "es-US";
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A laptop-sized tab that may inject axe-core (it bypasses the page's CSP)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(45_000)
    try:
        yield page
    finally:
        context.close()


def page_url(assistant: Assistant, name: str) -> str:
    return f"http://127.0.0.1:{assistant.web_port}/demo/{name}"


def record_sent_messages(page: Any) -> List[Dict[str, Any]]:
    """Every `user_uttered` the widget sends over its WebSocket, as sent."""
    sent: List[Dict[str, Any]] = []

    def on_frame(payload: Any) -> None:
        # socket.io event frames: 42["user_uttered", {...}]
        text = payload if isinstance(payload, str) else ""
        if text.startswith('42["user_uttered"'):
            sent.append(json.loads(text[2:])[1])

    page.on("websocket", lambda socket: socket.on("framesent", on_frame))
    return sent


def bubble_languages(page: Any) -> List[str]:
    """The lang of each member and assistant bubble, in order."""
    return list(page.locator(".hcsc-chat__message").evaluate_all("nodes => nodes.map(n => n.lang)"))


def saved_history(page: Any) -> List[Dict[str, Any]]:
    return list(json.loads(page.evaluate("sessionStorage.getItem('hcscChat.history')") or "[]"))


def expect_spanish_frame(page: Any) -> None:
    """The widget's own words are Spanish, and so is its root's lang."""
    expect(page.locator(".hcsc-chat")).to_have_attribute("lang", "es")
    expect(page.get_by_role("button", name=SPANISH_LAUNCHER)).to_be_attached()
    expect(page.get_by_role("dialog", name=SPANISH_DIALOG)).to_be_visible()
    expect(page.get_by_label(SPANISH_INPUT_LABEL)).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar el chat")).to_be_visible()
    switch = page.locator(".hcsc-chat__language")
    expect(switch).to_have_text("English")
    expect(switch).to_have_attribute("lang", "en")


def wait_for_spanish_overview(page: Any) -> Any:
    """The bubble of the Spanish answer to "¿Cubren el masaje?", with its closing line."""
    shown = answer_shown(OVERVIEW_ES.text, OVERVIEW_ES.closing)
    bubble = page.locator(".hcsc-chat__message--bot").filter(
        has=page.locator(".hcsc-chat__body", has_text=OVERVIEW_ES.text)
    )
    expect(bubble.locator(".hcsc-chat__body")).to_have_text(shown)
    return bubble


def test_the_switch_relabels_at_once_keeps_the_chat_and_the_assistant_answers_in_spanish(
    tab: Any, assistant: Assistant
) -> None:
    sent = record_sent_messages(tab)
    tab.goto(page_url(assistant, "public.html"))
    tab.get_by_role("button", name=LAUNCHER_NAME).click()
    expect(tab.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
    expect(tab.locator(".hcsc-chat")).to_have_attribute("lang", "en")
    switch = tab.get_by_role("button", name="Español")
    expect(switch).to_have_attribute("lang", "es")

    switch.click()

    expect_spanish_frame(tab)
    expect(tab.locator(".hcsc-chat__privacy")).to_have_text(
        "Por favor, no escriba datos personales, como su número de miembro."
    )
    # The conversation stays, the greeting still marked as English.
    expect(tab.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
    assert bubble_languages(tab) == ["en"]
    # The English greeting's button asks in Spanish now: the assistant answers so.
    tab.get_by_role("button", name="Is massage covered?").click()
    bubble = wait_for_spanish_overview(tab)
    expect(bubble).to_have_attribute("lang", "es")
    expect(bubble.locator(".hcsc-chat__sources")).to_contain_text("Basado en: ")
    languages = bubble_languages(tab)
    assert languages[:3] == ["en", "es", "es"], languages
    assert [message["customData"].get("lang") for message in sent] == ["en", "es"], sent
    assert sent[1]["message"] == "/ask_coverage_overview"
    # Kept for a reload: each message's language, and the answer's own.
    history = saved_history(tab)
    assert [entry.get("lang") for entry in history[:3]] == ["en", "es", "es"]
    assert {"coverage": {"citations": list(OVERVIEW_ES.citations), "language": "es"}} in [
        message.get("custom") for message in history[2]["messages"]
    ]

    tab.reload()

    expect_spanish_frame(tab)
    wait_for_spanish_overview(tab)
    assert bubble_languages(tab) == languages
    # And back: English words at once, the answers as they were.
    tab.get_by_role("button", name="English").click()
    expect(tab.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()
    expect(tab.get_by_label(INPUT_LABEL)).to_be_visible()
    expect(tab.locator(".hcsc-chat")).to_have_attribute("lang", "en")
    assert bubble_languages(tab) == languages
    tab.reload()
    expect(tab.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()


def test_a_spanish_page_starts_in_spanish_and_answers_in_spanish_without_accessibility_violations(
    tab: Any, assistant: Assistant
) -> None:
    sent = record_sent_messages(tab)
    tab.goto(page_url(assistant, "es.html"))
    tab.get_by_role("button", name=SPANISH_LAUNCHER).click()
    expect_spanish_frame(tab)
    # The opening message asks for Spanish: the greeting and its buttons are Spanish.
    greeting = tab.locator(".hcsc-chat__message--bot").first
    expect(greeting).to_contain_text(response_text("utter_greet", language="es"))
    expect(greeting).to_have_attribute("lang", "es")
    buttons = tab.get_by_role("group", name=SPANISH_QUICK_REPLIES).get_by_role("button")
    expect(buttons.first).to_have_text("¿Cubren el masaje?")

    buttons.first.click()

    bubble = wait_for_spanish_overview(tab)
    expect(bubble).to_have_attribute("lang", "es")
    member = tab.locator(".hcsc-chat__message--user")
    expect(member).to_have_text(["Usted dijo: ¿Cubren el masaje?"])
    expect(member).to_have_attribute("lang", "es")
    # The widget's own question under the answer is Spanish too.
    expect(tab.get_by_role("group", name="¿Le fue útil?")).to_be_visible()
    assert {message["customData"].get("lang") for message in sent} == {"es"}
    assert axe_violations(tab) == []


def test_the_starting_language_is_the_members_last_choice_else_the_pages(
    tab: Any, assistant: Assistant
) -> None:
    # <html lang="es-US">: Spanish.
    tab.add_init_script(SPANISH_US_PAGE)
    tab.goto(page_url(assistant, "public.html"))
    expect(tab.get_by_role("button", name=SPANISH_LAUNCHER)).to_be_visible()
    expect(tab.locator(".hcsc-chat")).to_have_attribute("lang", "es")
    # A member who chose English on a Spanish page keeps English.
    tab.evaluate("sessionStorage.setItem('hcscChat.language', 'en')")
    tab.goto(page_url(assistant, "es.html"))
    expect(tab.get_by_role("button", name=LAUNCHER_NAME)).to_be_visible()
    expect(tab.locator(".hcsc-chat")).to_have_attribute("lang", "en")
