"""Personal details a member types into the widget: once the assistant has
replaced them, the member's bubble, the widget's saved history (and so the
transcript) hold the replaced text, as the notice says ("I did not save them")."""

from typing import Any

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant
from tests.support.replies import ID_CARD
from tests.widget.widget_support import ask

pytestmark = pytest.mark.slow

PHONE = "214 555 0143"
MEMBER_ID = "XYZ 1234 5678"


def test_the_widget_keeps_the_members_message_as_the_assistant_kept_it(
    page: Any, assistant: Assistant
) -> None:
    page.goto(assistant.demo_url)
    page.get_by_role("button", name="Chat with us").first.click()
    ask(page, f"my member id is {MEMBER_ID} and my phone is {PHONE}, is massage in physical therapy covered?")
    expect(page.locator(".hcsc-chat__message--bot").last).to_contain_text(ID_CARD)
    member_bubble = page.locator(".hcsc-chat__message--user .hcsc-chat__text").last
    expect(member_bubble).to_contain_text("is massage in physical therapy covered?")
    expect(member_bubble).to_contain_text("[…]")
    shown = member_bubble.inner_text()
    assert "555" not in shown and "5678" not in shown
    saved = page.evaluate("() => JSON.stringify(Object.assign({}, window.sessionStorage))")
    assert "555" not in saved and "5678" not in saved and "[…]" in saved
    # After a reload the replaced text is what comes back.
    page.reload()
    expect(page.locator(".hcsc-chat__message--user .hcsc-chat__text").last).to_contain_text("[…]")
