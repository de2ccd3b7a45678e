"""The widget when the assistant is slow or down: it says so in plain words,
points to the ID card, and reconnects by itself. Uses its own servers on free
ports, so stopping them leaves the shared assistant up for the other tests."""

from pathlib import Path
from typing import Any, Iterator

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant, ServerProcess, action_server, free_port, start_all
from plan_coverage.engine import PlanContext, load_rules
from rasa_server.nlg import response_text
from tests.support.replies import ID_CARD
from tests.support.servers import running_assistant
from tests.widget.widget_support import DIALOG_NAME, GREETING_START, LAUNCHER_NAME, ask, screenshot

pytestmark = pytest.mark.slow

RULES = load_rules()
NOT_ANSWERING = "Sorry, the assistant is taking too long to answer."
UNREACHABLE = "Sorry, I can't reach the assistant right now."
BACK_ONLINE = "You are connected again."
NOT_SENT = "Not sent."
RETRY = "Try again"
STILL_OFFLINE = "Still not connected. Please try again soon."
# What the Rasa server answers when the action server fails (rasa_server/always_a_reply.py).
ANSWER_UNAVAILABLE = response_text("utter_answer_unavailable")
# Longer than the widget waits for a reply (15 s), so a slow action server is
# slow for the widget too; the faulty action sleeps 30 s.
ACTION_TIMEOUT_S = "60"


@pytest.fixture(scope="module")
def stoppable_assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """Servers of this module only: the tests stop and restart them."""
    with running_assistant(
        tmp_path_factory.mktemp("stoppable-servers"),
        web_port=free_port(),
        extra_env={"ACTION_TIMEOUT_S": ACTION_TIMEOUT_S},
    ) as running:
        yield running


def restart(*servers: ServerProcess) -> None:
    """Start stopped servers again on their ports and wait until they answer."""
    start_all(servers)


def test_widget_says_when_the_assistant_is_slow_or_down_and_reconnects(
    page: Any, stoppable_assistant: Assistant
) -> None:
    page.goto(stoppable_assistant.demo_url)
    page.get_by_role("button", name=LAUNCHER_NAME).click()
    expect(page.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
    notices = page.locator(".hcsc-chat__notice")

    # Without the action server, the Rasa server still answers: the ID-card line.
    stoppable_assistant.action_server.stop()
    ask(page, "is massage therapy covered?")
    expect(page.locator(".hcsc-chat__text", has_text=ANSWER_UNAVAILABLE)).to_have_count(1)
    expect(notices).to_have_count(0)

    # An action server slower than the widget waits: the widget says so.
    slow_actions = action_server(
        stoppable_assistant.action_port,
        {**stoppable_assistant.action_server.env, "FAULT": "slow"},
        stoppable_assistant.action_server.output,
        "tests.e2e.faulty_actions",
    )
    try:
        start_all([slow_actions])
        ask(page, "is massage at a spa covered?")
        expect(notices.last).to_contain_text(NOT_ANSWERING)
        expect(notices.last).to_contain_text(ID_CARD)
        stoppable_assistant.rasa_server.stop()
    finally:
        slow_actions.stop()
    expect(notices.last).to_contain_text(UNREACHABLE)
    expect(notices.last).to_contain_text(ID_CARD)

    # A message sent while the assistant is down is not lost: it is kept with
    # a retry button, and the outage notice is not said again on every send.
    ask(page, "do i need a referral?")
    failed = page.locator(".hcsc-chat__entry--user", has_text="do i need a referral?")
    expect(failed.locator(".hcsc-chat__failed")).to_contain_text(NOT_SENT)
    retry = failed.get_by_role("button", name=RETRY)
    ask(page, "is massage covered?")
    expect(page.locator(".hcsc-chat__failed")).to_have_count(2)
    retry.click()
    expect(page.get_by_role("status")).to_have_text(STILL_OFFLINE)
    expect(notices).to_have_count(2)
    expect(page.get_by_label("Your question")).to_have_value("")
    screenshot(page, "widget-offline-retry")

    restart(stoppable_assistant.action_server, stoppable_assistant.rasa_server)
    expect(notices.last).to_contain_text(BACK_ONLINE)
    retry.click()
    answer = RULES.answer("referral", PlanContext(state="TX", plan_type="ppo"))
    expect(page.locator(".hcsc-chat__text", has_text=answer.text)).to_have_count(1)
    expect(page.locator(".hcsc-chat__failed")).to_have_count(1)
    expect(page.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()
    # After a reload the unsent message still waits for its retry.
    page.reload()
    expect(page.locator(".hcsc-chat__failed")).to_have_count(1)
    expect(page.locator(".hcsc-chat__text", has_text=answer.text)).to_have_count(1)
