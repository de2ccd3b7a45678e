"""The widget on a phone, a laptop and a zoomed-in window, in real Chromium
against the real assistant: every new answer is read from its first line, the
input and the answer stay visible, focus is never hidden behind the widget,
and axe-core finds no WCAG 2.2 AA violation in any state, light or dark.

400% zoom of a 1280x1024 window is a 320x256 CSS px viewport (WCAG 1.4.10
Reflow), 200% of 1280x800 is 640x400; Chromium's page zoom is emulated by
those viewports and the matching device scale factor. Screenshots of every
state go to test-artifacts/widget-<screen>-<state>.png."""

from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import expect

from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from tests.widget.widget_support import (
    DIALOG_NAME,
    GREETING_START,
    INPUT_LABEL,
    LAUNCHER_NAME,
    QUICK_REPLIES_NAME,
    answer_shown,
    ask_for_a_new_answer,
    axe_violations,
    screenshot,
)

pytestmark = pytest.mark.slow

RULES = load_rules()
DEMO_PLAN = PlanContext(state="TX", plan_type="ppo")
# Two answers taller than a phone's or a zoomed window's conversation area.
QUESTIONS = [
    ("how do i get the pre auth for massage, what do i submit", "preauth_steps"),
    ("does my plan cover massage as part of physical therapy?", "therapy_massage"),
]
SCREENS: Dict[str, Dict[str, Any]] = {
    "laptop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
    "zoom200": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
    "zoom400": {"viewport": {"width": 320, "height": 256}, "device_scale_factor": 4},
}
# Where the widget fills the screen and holds focus (SMALL_SCREEN in widget.js).
FULL_SCREEN = {"phone", "zoom200", "zoom400"}

# Is this element's first line inside the conversation log's visible part and
# inside the visual viewport, and not covered by anything?
FIRST_LINE_IN_VIEW = """(node) => {
  const log = node.closest('.hcsc-chat__log');
  const box = node.getBoundingClientRect();
  const area = log.getBoundingClientRect();
  const line = parseFloat(getComputedStyle(node).lineHeight) || 20;
  const viewport = window.visualViewport;
  const inLog = box.top >= area.top - 1 && box.top + line <= area.bottom + 1;
  const inViewport = box.top >= 0 && box.top + line <= viewport.height;
  const hit = document.elementFromPoint(box.left + 4, box.top + line / 2);
  return {inLog, inViewport, uncovered: !!hit && node.contains(hit), top: box.top, logTop: area.top};
}"""
# Is the focused element at least partly visible (WCAG 2.4.11: not entirely
# hidden): some point of it on screen hits it, not something drawn over it?
FOCUS_VISIBLE = """() => {
  const node = document.activeElement;
  if (!node || node === document.body) return {name: 'body', visible: true, inDialog: false};
  const box = node.getBoundingClientRect();
  const points = [
    [(box.left + box.right) / 2, (box.top + box.bottom) / 2],
    [box.left + 2, box.top + 2], [box.right - 2, box.top + 2],
    [box.left + 2, box.bottom - 2], [box.right - 2, box.bottom - 2],
  ];
  const visible = points.some(([x, y]) => {
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return false;
    const hit = document.elementFromPoint(x, y);
    return !!hit && (hit === node || node.contains(hit));
  });
  const label = node.getAttribute('aria-label') || node.textContent || '';
  const name = node.tagName + ' ' + label.trim().slice(0, 40);
  return {name, visible, inDialog: !!node.closest('[role=dialog]')};
}"""


# A long page with a link where the open panel floats (1280x800: the panel
# covers x 880-1264, y 150-720).
UNDER_THE_PANEL = """() => {
  document.body.style.minHeight = '3000px';
  const link = document.createElement('a');
  link.href = '#claims';
  link.textContent = 'Under the panel';
  link.style.cssText = 'position: absolute; right: 60px; top: 500px;';
  document.querySelector('main').append(link);
}"""


@pytest.fixture(params=[(screen, "light") for screen in SCREENS] + [("phone", "dark"), ("zoom400", "dark")])
def screen(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A tab on one screen and colour scheme: (page, screen name, scheme)."""
    name, scheme = request.param
    # axe-core is injected, so the tab bypasses the demo page's CSP.
    context = browser.new_context(**SCREENS[name], color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(45_000)
    try:
        yield page, name, scheme
    finally:
        context.close()


def check_state(page: Any, name: str) -> None:
    """No axe violation now; a screenshot of this state."""
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def input_and_last_answer_visible(page: Any) -> None:
    field = page.get_by_label(INPUT_LABEL)
    expect(field).to_be_in_viewport(ratio=1)
    box = field.bounding_box()
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.id", [box["x"] + box["width"] / 2, box["y"] + 5]
    )
    assert hit == "hcsc-chat-input"
    first_line = page.locator(".hcsc-chat__turn").last.locator(".hcsc-chat__body").first
    seen = first_line.evaluate(FIRST_LINE_IN_VIEW)
    assert seen["inLog"] and seen["inViewport"] and seen["uncovered"], seen


# Resolves once the next frame has been drawn: what the member sees after a
# key press, after the widget's own scroll (it runs in an animation frame).
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def tab_through(page: Any, presses: int) -> List[Dict[str, Any]]:
    """Press Tab `presses` times; where focus was after each press, once drawn."""
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        page.evaluate(NEXT_FRAME)
        seen.append(page.evaluate(FOCUS_VISIBLE))
    return seen


def test_answers_read_from_their_first_line_on_every_screen(screen: Any, assistant: Assistant) -> None:
    page, name, scheme = screen
    state = f"widget-{name}{'-dark' if scheme == 'dark' else ''}"
    touch = SCREENS[name].get("has_touch", False)
    page.goto(assistant.demo_url)
    launcher = page.get_by_role("button", name=LAUNCHER_NAME)
    check_state(page, f"{state}-closed")

    if touch:
        launcher.tap()
    else:
        launcher.focus()
        page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=DIALOG_NAME)
    expect(dialog).to_be_visible()
    expect(page.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
    field = page.get_by_label(INPUT_LABEL)
    if name in FULL_SCREEN:
        # The whole visual viewport, a modal dialog with a visible close button.
        box = dialog.bounding_box()
        viewport = SCREENS[name]["viewport"]
        assert (round(box["width"]), round(box["height"])) == (viewport["width"], viewport["height"])
        expect(dialog).to_have_attribute("aria-modal", "true")
        expect(page.get_by_role("button", name="Close chat")).to_contain_text("Close")
    else:
        expect(dialog).to_have_attribute("aria-modal", "false")
    if touch:
        # No keyboard popping up over the conversation.
        expect(field).not_to_be_focused()
    else:
        expect(field).to_be_focused()
    check_state(page, f"{state}-open")

    for question, topic in QUESTIONS:
        if touch:
            field.tap()
        answer = RULES.answer(topic, DEMO_PLAN)
        bubble = ask_for_a_new_answer(page, question)
        expect(bubble.locator(".hcsc-chat__closing")).to_have_text(" " + answer.closing)
        if answer.has_steps:
            # Numbered steps as a list, word for word the rules' steps.
            steps = [step for block in answer.blocks for step in block.steps]
            expect(bubble.locator("ol.hcsc-chat__steps > li")).to_have_text(steps)
        else:
            expect(bubble.locator(".hcsc-chat__body")).to_have_text(answer_shown(answer.text, answer.closing))
        # The answer is longer than the conversation area here, yet its first
        # words are on screen, and so is the input.
        input_and_last_answer_visible(page)
        check_state(page, f"{state}-answer-{topic}")

    # Focus: inside the dialog where it fills the screen; elsewhere never on
    # anything the widget covers.
    field.focus()
    for stop in tab_through(page, 14):
        assert stop["visible"], (name, stop)
        if name in FULL_SCREEN:
            assert stop["inDialog"], (name, stop)


@pytest.mark.parametrize("name", ["laptop", "phone", "zoom400"])
def test_focus_on_the_page_is_never_hidden_behind_the_widget(
    browser: Any, assistant: Assistant, name: str
) -> None:
    context = browser.new_context(**SCREENS[name])
    try:
        page = context.new_page()
        page.goto(assistant.demo_url)
        launcher = page.get_by_role("button", name=LAUNCHER_NAME)
        expect(launcher).to_be_visible()
        # The page's own links, with only the launcher over the page.
        for stop in tab_through(page, 10):
            assert stop["visible"], (name, stop)
        if name == "laptop":
            # The floating panel is not modal: the page's links stay usable
            # and are never behind it, even a link placed right under it (the
            # page scrolls it into the clear).
            page.evaluate(UNDER_THE_PANEL)
            launcher.click()
            expect(page.get_by_role("dialog", name=DIALOG_NAME)).to_be_visible()
            expect(page.get_by_role("group", name=QUICK_REPLIES_NAME)).to_be_visible()
            stops = tab_through(page, 30)
            assert "A Under the panel" in [stop["name"] for stop in stops]
            for stop in stops:
                assert stop["visible"], (name, stop)
    finally:
        context.close()


def test_a_quick_reply_tapped_on_a_phone_does_not_open_the_keyboard(
    browser: Any, assistant: Assistant
) -> None:
    context = browser.new_context(**SCREENS["phone"])
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{assistant.web_port}/demo/public.html")
        page.get_by_role("button", name=LAUNCHER_NAME).tap()
        buttons = page.get_by_role("group", name=QUICK_REPLIES_NAME).get_by_role("button")
        expect(buttons).to_have_count(5)
        buttons.filter(has_text="Do I need a referral?").tap()
        no_plan = RULES.answer("referral", PlanContext())
        expect(page.locator(".hcsc-chat__body", has_text=no_plan.text)).to_have_count(1)
        expect(page.get_by_label(INPUT_LABEL)).not_to_be_focused()
        assert page.evaluate("document.activeElement.closest('[role=dialog]') !== null")
        plan_buttons = page.get_by_role("group", name=QUICK_REPLIES_NAME).get_by_role("button")
        expect(plan_buttons).to_have_count(4)
        input_and_last_answer_visible(page)
        screenshot(page, "widget-phone-plan-question")
    finally:
        context.close()


# How far an element is below the top of the conversation log, in CSS px.
FROM_LOG_TOP = (
    "node => node.getBoundingClientRect().top - node.closest('[role=log]').getBoundingClientRect().top"
)


def test_a_phone_keyboard_never_hides_the_answer_or_the_input(browser: Any, assistant: Assistant) -> None:
    # A phone keyboard shrinks the visual viewport: the panel follows it, and
    # the member keeps reading the same line. Reduced motion: no animation.
    context = browser.new_context(**SCREENS["phone"], reduced_motion="reduce", bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(assistant.demo_url)
        page.get_by_role("button", name=LAUNCHER_NAME).tap()
        dialog = page.get_by_role("dialog", name=DIALOG_NAME)
        expect(page.locator(".hcsc-chat__message--bot").first).to_contain_text(GREETING_START)
        assert dialog.evaluate("node => getComputedStyle(node).animationName") == "none"
        page.get_by_label(INPUT_LABEL).tap()
        bubble = ask_for_a_new_answer(page, QUESTIONS[0][0])
        expect(bubble.locator("ol.hcsc-chat__steps > li")).to_have_count(5)
        input_and_last_answer_visible(page)
        top_before = bubble.evaluate(FROM_LOG_TOP)

        page.set_viewport_size({"width": 375, "height": 330})
        expect(dialog).to_have_js_property("offsetHeight", 330)
        input_and_last_answer_visible(page)
        # The same first line, as far from the top of the conversation as before.
        assert abs(bubble.evaluate(FROM_LOG_TOP) - top_before) <= 4
        screenshot(page, "widget-phone-keyboard")
        assert axe_violations(page) == []
    finally:
        context.close()
