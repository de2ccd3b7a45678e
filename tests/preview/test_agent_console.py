"""The agent console (issue 13) in real Chromium against the real servers: the
answer beside the question at 1280x800, the member view drawn by the widget's
own renderer, the rules with the article's words, copy, the token kept for the
tab only, share links, flagging into the review queue, axe-core."""

import json
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from playwright.sync_api import expect

from launch.paths import PROJECT_DIR
from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from tests.preview.preview_client import post_preview
from tests.review.test_review_e2e import axe_violations, read_csv
from tests.widget.widget_support import GREETING_START, INPUT_LABEL, LAUNCHER_NAME, REPLY_WAIT_MS
from tools import review
from tools.flag_queue import FLAG_QUEUE_ENV

pytestmark = pytest.mark.slow

RULES = load_rules()
ARTIFACTS = PROJECT_DIR / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 800}
TOKEN_KEY = "hcscAgent.token"
THERAPY_QUESTION = "is massage covered as part of physical therapy?"
MEMBER_ID, PHONE = "XOF839201557", "(312) 555-0187"
SECRETS = ("839201557", "555-0187", "5550187")


@dataclass
class Console:
    """A console page, the errors its console reported (CSP included) and every request it made."""

    page: Any
    context: Any
    errors: List[str] = field(default_factory=list)
    requests: List[Tuple[str, str]] = field(default_factory=list)


@contextmanager
def open_console(
    browser: Any, assistant: Assistant, url: Optional[str] = None, **options: Any
) -> Iterator[Console]:
    """The agent console in a fresh browser context (its own sessionStorage) at 1280x800."""
    context = browser.new_context(viewport=VIEWPORT, **options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=assistant.base_url)
    opened = Console(context.new_page(), context)
    opened.page.set_default_timeout(REPLY_WAIT_MS)
    opened.page.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
    opened.page.on("request", lambda r: opened.requests.append((r.url, r.post_data or "")))
    opened.page.goto(url or assistant.agent_page_url)
    try:
        yield opened
    finally:
        context.close()


def preview(
    page: Any,
    question: str,
    state: Optional[str] = None,
    plan_type: Optional[str] = None,
    history: str = "",
    token: Optional[str] = None,
    language: Optional[str] = None,
) -> None:
    """Fill the form (the token only when given) and wait for the answer."""
    if token is not None:
        page.get_by_label("Agent token").fill(token)
    page.get_by_label("Question, as the member typed it").fill(question)
    page.get_by_label("State").select_option(state or "")
    page.get_by_label("Plan type").select_option(plan_type or "")
    page.get_by_label("Answer language").select_option(language or "")
    page.get_by_label("Earlier member messages (optional, one per line, oldest first)").fill(history)
    page.get_by_role("button", name="Preview the answer").click()
    expect(page.locator("#status")).to_have_text("Answer ready.", timeout=REPLY_WAIT_MS)


# What the widget adds to its latest answer after rendering it: the "Was this
# helpful?" controls (widget.js), which the console has no use for.
WIDGET_ONLY = ".hcsc-chat__feedback"


def member_bubbles(page: Any, turn: str) -> List[str]:
    """The answer bubbles of a rendered turn, as markup (without the widget's own rating controls)."""
    return list(
        page.locator(turn).last.evaluate(
            """(turn, widgetOnly) => Array.from(turn.querySelectorAll('.hcsc-chat__message')).map(node => {
                const copy = node.cloneNode(true);
                copy.querySelectorAll(widgetOnly).forEach(extra => extra.remove());
                return copy.outerHTML;
            })""",
            WIDGET_ONLY,
        )
    )


def screenshot(page: Any, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def test_the_answer_is_beside_the_question_above_the_fold_with_its_rules_and_sources(
    browser: Any, assistant: Assistant
) -> None:
    expected = RULES.answer("therapy_massage", PlanContext(state="TX", plan_type="hmo"))
    with open_console(browser, assistant) as console:
        page = console.page
        preview(page, THERAPY_QUESTION, "TX", "hmo", token=str(assistant.agent_token))
        first_line = page.locator("#member-messages .hcsc-chat__text").first
        expect(first_line).to_contain_text(expected.text.split(".")[0])
        assert page.evaluate("window.scrollY") == 0
        line, form = first_line.bounding_box(), page.locator("#preview-form").bounding_box()
        # Above the fold: the answer's first lines and the copy button without scrolling.
        assert 0 <= line["y"] and line["y"] + 3 * 24 <= VIEWPORT["height"], line
        copy = page.get_by_role("button", name="Copy answer").bounding_box()
        assert copy["y"] + copy["height"] <= VIEWPORT["height"]
        # Beside the form, not under it.
        assert line["x"] >= form["x"] + form["width"] and line["y"] < form["y"] + form["height"] / 2

        rules = page.locator("#rules > li")
        expect(rules).to_have_count(len(expected.rule_ids))
        for rule_id in expected.rule_ids:
            rule = RULES.rule(rule_id)
            item = rules.filter(has=page.locator(".rule-id", has_text=rule_id))
            for quote in rule.source:
                expect(item.locator(".quotes")).to_contain_text(quote)
            for reference in rule.references:
                expect(item.locator(".refs")).to_contain_text(f"{reference}: {RULES.references[reference]}")
        expect(page.locator("#outcome")).to_contain_text(expected.outcome)
        expect(page.locator("#renderer-missing")).to_be_hidden()
        screenshot(page, "agent-console-1280x800.png")
        screenshot(page, "agent-console-full.png", full_page=True)
        assert console.errors == []


def test_what_the_member_sees_is_the_widgets_own_rendering(browser: Any, assistant: Assistant) -> None:
    """The same question in the same plan (the demo portal passes Texas PPO): the
    console's member view and the widget's answer are the same markup and styles."""
    expected = RULES.answer("therapy_massage", PlanContext(state="TX", plan_type="ppo"))
    context = browser.new_context(viewport=VIEWPORT)
    try:
        widget = context.new_page()
        widget.set_default_timeout(REPLY_WAIT_MS)
        widget.goto(str(assistant.demo_url))
        widget.get_by_role("button", name=LAUNCHER_NAME).click()
        # The greeting first, so the answer is a turn of its own.
        expect(widget.locator(".hcsc-chat__message--bot").first).to_contain_text(
            GREETING_START, timeout=REPLY_WAIT_MS
        )
        widget.get_by_label(INPUT_LABEL).fill(THERAPY_QUESTION)
        widget.get_by_label(INPUT_LABEL).press("Enter")
        answer_in_widget = widget.locator(".hcsc-chat__log .hcsc-chat__turn").filter(has_text=expected.text)
        expect(answer_in_widget).to_have_count(1, timeout=REPLY_WAIT_MS)
        in_widget = member_bubbles(widget, ".hcsc-chat__log .hcsc-chat__turn >> nth=-1")
        widget_style = computed_styles(widget, ".hcsc-chat__log .hcsc-chat__turn >> nth=-1")
    finally:
        context.close()
    with open_console(browser, assistant) as console:
        preview(console.page, THERAPY_QUESTION, "TX", "ppo", token=str(assistant.agent_token))
        in_console = member_bubbles(console.page, "#member-messages .hcsc-chat__turn")
        console_style = computed_styles(console.page, "#member-messages .hcsc-chat__turn")
        screenshot(console.page, "agent-console-member-view.png")
    assert in_widget and in_console == in_widget
    assert console_style == widget_style


def computed_styles(page: Any, turn: str) -> List[Dict[str, str]]:
    """How each element of a turn's answer bubbles looks: the properties that make a bubble."""
    return list(
        page.locator(turn).evaluate(
            """(turn, widgetOnly) => Array
            .from(turn.querySelectorAll('.hcsc-chat__message, .hcsc-chat__message *'))
            .filter(node => !node.closest(widgetOnly))
            .map(node => {
            const style = getComputedStyle(node);
            return Object.fromEntries(['font-family', 'font-size', 'font-weight', 'line-height', 'color',
              'background-color', 'padding', 'border-radius', 'display'].map(name => [name, style[name]]));
        })""",
            WIDGET_ONLY,
        )
    )


def test_copy_gives_the_text_its_references_and_the_id_card_line(browser: Any, assistant: Assistant) -> None:
    expected = RULES.answer("therapy_massage", PlanContext(state="TX", plan_type="hmo"))
    assert expected.citations, "the test needs an answer with references"
    with open_console(browser, assistant) as console:
        page = console.page
        preview(page, THERAPY_QUESTION, "TX", "hmo", token=str(assistant.agent_token))
        page.get_by_role("button", name="Copy answer").click()
        expect(page.locator("#copy-status")).to_have_text("Answer copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(expected.text)
    assert "Based on: " + "; ".join(expected.citations) in copied
    assert expected.closing in copied and RULES.phrases["id_card"] in copied


def test_the_token_is_kept_for_the_tab_only_and_never_in_a_url(browser: Any, assistant: Assistant) -> None:
    token = str(assistant.agent_token)
    expected = RULES.answer("referral", PlanContext(state="TX", plan_type="hmo"))
    with open_console(browser, assistant) as console:
        page = console.page
        preview(page, "do i need a referral for massage?", "TX", "hmo", token=token)
        assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == token
        assert page.evaluate("localStorage.length") == 0 and console.context.cookies() == []
        share = page.locator("#share-link").input_value()
        # A reload of the tab keeps the token and shows the same preview again (its link is the address).
        page.reload()
        expect(page.get_by_label("Agent token")).to_have_value(token)
        expect(page.locator("#member-messages")).to_contain_text(expected.text, timeout=REPLY_WAIT_MS)
        assert page.url == share
        # Never in an address, a query, a fragment or a form body; only in the Authorization header.
        assert not [url for url, _ in console.requests if token in url]
        assert not [body for _, body in console.requests if token in body]
        assert token not in page.url and token not in share
        page.get_by_role("button", name="Forget token").click()
        assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
        expect(page.get_by_label("Agent token")).to_have_value("")
        assert console.errors == []
    # Another tab (another session) has no token.
    with open_console(browser, assistant) as other:
        expect(other.page.get_by_label("Agent token")).to_have_value("")


def test_a_share_link_reproduces_the_preview_without_the_token(browser: Any, assistant: Assistant) -> None:
    token = str(assistant.agent_token)
    question, history = "do i need a referral?", "i have bcbs of texas\nit's a ppo"
    expected = RULES.answer("referral", PlanContext(state="TX", plan_type="ppo"))
    with open_console(browser, assistant) as console:
        preview(console.page, question, history=history, token=token)
        link = console.page.locator("#share-link").input_value()
        shown = member_bubbles(console.page, "#member-messages .hcsc-chat__turn")
        rules = console.page.locator("#rules .rule-id").all_text_contents()
        console.page.get_by_role("button", name="Copy link").click()
        assert console.page.evaluate("navigator.clipboard.readText()") == link
    assert token not in link and "#" in link and rules == list(expected.rule_ids)

    with open_console(browser, assistant, url=link) as shared:
        page = shared.page
        expect(page.get_by_label("Question, as the member typed it")).to_have_value(question)
        expect(
            page.get_by_label("Earlier member messages (optional, one per line, oldest first)")
        ).to_have_value(history)
        expect(page.locator("#status")).to_contain_text("enter your agent token")
        expect(page.locator("#result")).to_be_hidden()
        page.get_by_label("Agent token").fill(token)
        page.get_by_label("Agent token").press("Enter")
        expect(page.locator("#status")).to_have_text("Answer ready.", timeout=REPLY_WAIT_MS)
        assert member_bubbles(page, "#member-messages .hcsc-chat__turn") == shown
        assert page.locator("#rules .rule-id").all_text_contents() == rules
        screenshot(page, "agent-console-shared-link.png")
        assert shared.errors == []


def test_the_language_picker_gets_the_spanish_answer_and_says_which_language_it_is(
    browser: Any, assistant: Assistant
) -> None:
    expected = RULES.answer("therapy_massage", PlanContext(state="TX", plan_type="hmo"), "es")
    with open_console(browser, assistant) as console:
        page = console.page
        # With the plan pickers (the narrow form column wraps them to two rows).
        expect(page.locator("#preview-form .pickers").get_by_label("Answer language")).to_be_visible()
        preview(page, THERAPY_QUESTION, "TX", "hmo", token=str(assistant.agent_token), language="es")
        expect(page.locator("#member-messages .hcsc-chat__text").first).to_contain_text(
            expected.text.split(".")[0]
        )
        expect(page.locator("#member-messages")).to_have_attribute("lang", "es")
        expect(page.locator("#answer-language")).to_have_text("Español")
        info = page.locator("#language-info")
        expect(info).to_contain_text(
            "Answer in Español (es); asked for Español (es); detected English (en), "
        )
        expect(info).to_contain_text("% sure")
        screenshot(page, "agent-console-spanish.png")
        link = page.locator("#share-link").input_value()
        assert "lang=es" in link
        # Not given: the words decide, and the console says what it detected.
        preview(page, THERAPY_QUESTION, "TX", "hmo")
        expect(page.locator("#answer-language")).to_have_text("English")
        expect(info).to_contain_text("Answer in English (en); no language asked for; detected English (en)")
        assert console.errors == []
    with open_console(browser, assistant, url=link) as shared:
        expect(shared.page.get_by_label("Answer language")).to_have_value("es")


def test_a_flagged_answer_reaches_the_review_queue_without_personal_details(
    browser: Any, assistant: Assistant, assistant_dir: Path, tmp_path: Path
) -> None:
    queue = assistant_dir / "flagged_answers.jsonl"
    expected = RULES.answer("therapy_massage", PlanContext(state="TX", plan_type="hmo"))
    note = f"Member {MEMBER_ID} called from {PHONE}: the Texas HMO note should come first"
    with open_console(browser, assistant) as console:
        page = console.page
        preview(
            page,
            f"my member id is {MEMBER_ID}, {THERAPY_QUESTION}",
            "TX",
            "hmo",
            token=str(assistant.agent_token),
        )
        page.get_by_role("button", name="Flag this answer").click()
        page.get_by_label("What is wrong with this answer?").fill(note)
        page.get_by_role("button", name="Send to content owners").click()
        status = page.locator("#flag-status")
        expect(status).to_contain_text("Flagged for content owners.", timeout=REPLY_WAIT_MS)
        expect(status).to_contain_text("the Texas HMO note should come first")
        assert not [secret for secret in SECRETS if secret in status.inner_text()]
        screenshot(page, "agent-console-flagged.png")

        stored = queue.read_text(encoding="utf-8")
        assert not [secret for secret in SECRETS if secret in stored]
        flag = json.loads(stored.splitlines()[-1])
        assert flag["rules"] == list(expected.rule_ids)
        assert (flag["state"], flag["plan_type"], flag["intent"]) == ("TX", "hmo", "ask_therapy_massage")
        assert flag["note"].endswith(": the Texas HMO note should come first")
        assert flag["question"].endswith(THERAPY_QUESTION)
        assert expected.text in flag["answer"] and all(c in flag["answer"] for c in expected.citations)

        # Content owners: the console's Review tab...
        page.get_by_role("tab", name="Review", exact=True).click()
        page.get_by_role("button", name="Show the review").click()
        expect(page.locator("#review-status")).to_have_text("Review ready.", timeout=REPLY_WAIT_MS)
        flagged = page.get_by_role("table", name="Answers flagged by agents")
        expect(flagged).to_contain_text("the Texas HMO note should come first")
        expect(flagged).to_contain_text(expected.rule_ids[0])
        assert not [secret for secret in SECRETS if secret in flagged.inner_text()]
        assert console.errors == []

    # ...`make review`...
    now = datetime.now(timezone.utc)
    store = assistant.rasa_server.env["TRACKER_STORE_URL"]
    review.build(
        store, now - timedelta(hours=1), now + timedelta(minutes=5), tmp_path / "review", flag_queue=queue
    )
    rows = read_csv(tmp_path / "review" / "flagged_answers.csv")
    assert any(row["note"] == flag["note"] and row["rule ids"] == ", ".join(flag["rules"]) for row in rows)
    report = (tmp_path / "review" / "report.html").read_text(encoding="utf-8")
    assert "the Texas HMO note should come first" in report
    # ...and the catalogue.
    done = subprocess.run(
        [sys.executable, "-m", "tools.catalogue", "--out", str(tmp_path / "catalogue")],
        cwd=PROJECT_DIR,
        env={**assistant.rasa_server.env, FLAG_QUEUE_ENV: str(queue)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    page_html = (tmp_path / "catalogue" / "answers.html").read_text(encoding="utf-8")
    assert "the Texas HMO note should come first" in page_html and "mark-flagged" in page_html
    for text in (report, page_html):
        assert not [secret for secret in SECRETS if secret in text]


def test_the_flag_endpoint_needs_the_token_and_a_note(assistant: Assistant) -> None:
    url = f"{assistant.base_url}/webhooks/preview/flag"
    body = {
        "text": "do i need a referral?",
        "state": "TX",
        "plan_type": "hmo",
        "history": [],
        "note": "wrong",
    }
    status, _, content = post_preview(url, body, None)
    assert (status, content) == (401, b"")
    status, answer, _ = post_preview(url, {**body, "note": " "}, f"Bearer {assistant.agent_token}")
    assert status == 400 and "note" in answer["error"]
    status, answer, _ = post_preview(url, {**body, "note": "x" * 1001}, f"Bearer {assistant.agent_token}")
    assert status == 400
    status, answer, _ = post_preview(url, {**body, "state": "ZZ"}, f"Bearer {assistant.agent_token}")
    assert status == 400 and "state" in answer["error"]


def test_the_console_is_axe_clean_with_an_answer_and_the_flag_form(
    browser: Any, assistant: Assistant
) -> None:
    # axe-core is injected, so this context bypasses the page's Content Security Policy.
    with open_console(browser, assistant, bypass_csp=True) as console:
        page = console.page
        assert axe_violations(page) == []
        preview(page, "do i need a referral for massage?", token=str(assistant.agent_token))
        page.get_by_role("button", name="Flag this answer").click()
        expect(page.get_by_label("What is wrong with this answer?")).to_be_focused()
        assert axe_violations(page) == []
