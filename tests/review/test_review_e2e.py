"""Answer feedback and the review report, end to end on the real servers: a
conversation with ratings in the widget (Chromium) and over REST, then
`tools/review.py` on the server's own SQLite tracker store, read as HTML and
CSV; the report page checked with axe-core."""

import csv
import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from playwright.sync_api import expect

from channels.member_input import PLACEHOLDER as REDACTED
from launch.servers import Assistant, free_port
from plan_coverage.engine import PlanContext, load_rules
from plan_coverage.feedback import FEEDBACK_SLOT, THANKS, feedback_payload
from tests.support.servers import running_assistant, send_rest
from tests.support.tracker_store import stored_events, user_events
from tests.widget.widget_support import AXE_SCRIPT, INPUT_LABEL, LAUNCHER_NAME, REPLY_WAIT_MS
from tools import review

pytestmark = pytest.mark.slow

RULES = load_rules()
Reply = List[Dict[str, Any]]
FALLBACK_QUESTION = "zorblax quintuple flimflam gadget"
# Out of scope, so the report shows it among the unanswered questions.
PERSONAL_QUESTION = "tell me a joke about the weather, text me at 312-555-0199 or jane.doe@example.com"
REFERRAL_QUESTION = "do i need a referral for massage therapy?"


@pytest.fixture(scope="module")
def assistant(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    """The assistant with the widget's demo page, on its own tracker store."""
    with running_assistant(tmp_path_factory.mktemp("review"), web_port=free_port()) as running:
        yield running


def store(assistant: Assistant) -> str:
    return assistant.rasa_server.env["TRACKER_STORE_URL"]


def coverage_of(reply: Reply) -> Dict[str, Any]:
    [coverage] = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
    return dict(coverage)


def build_report(assistant: Assistant, out: Path) -> str:
    now = datetime.now(timezone.utc)
    review.build(store(assistant), now - timedelta(hours=1), now + timedelta(minutes=5), out)
    return (out / "report.html").read_text(encoding="utf-8")


def axe_violations(page: Any) -> List[str]:
    """Every axe-core WCAG 2.x A/AA violation on the page, whatever its impact."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    results = page.evaluate(
        """() => axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
            resultTypes: ["violations"],
        })"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
    ]


def read_csv(path: Path) -> List[Dict[str, str]]:
    with path.open(encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


def test_rest_feedback_fallback_and_redaction_reach_the_report(assistant: Assistant, tmp_path: Path) -> None:
    sender = f"review-{uuid.uuid4().hex[:12]}"
    send = lambda text: send_rest(assistant.rest_url, sender, text)  # noqa: E731
    answer = coverage_of(send(f"I have a Texas HMO. {REFERRAL_QUESTION}"))
    assert (answer["state"], answer["plan_type"]) == ("TX", "hmo")
    thanks = send(feedback_payload("did_not_answer"))
    assert [m.get("text") for m in thanks] == [THANKS]
    # The rating left the plan context alone: a new question is answered for the same plan.
    assert (coverage_of(send("is massage at a spa covered?"))["state"], "hmo") == ("TX", "hmo")
    send(FALLBACK_QUESTION)
    send(PERSONAL_QUESTION)

    events = stored_events(store(assistant), [sender])
    [rating] = [e for e in events if e.get("event") == "slot" and e.get("name") == FEEDBACK_SLOT]
    assert rating["value"]["rules"] == answer["rules"]
    assert rating["value"]["reason"] == "did_not_answer" and rating["value"]["helpful"] is False
    context_slots = {"state", "plan_type", "topic", "care_setting", "insurer"}
    feedback_turn = events[
        [i for i, e in enumerate(events) if e.get("text") == feedback_payload("did_not_answer")][0] :
    ]
    next_user = next(i for i, e in enumerate(feedback_turn[1:], 1) if e.get("event") == "user")
    assert not [
        e for e in feedback_turn[:next_user] if e.get("event") == "slot" and e["name"] in context_slots
    ]

    page = build_report(assistant, tmp_path)
    rated = {row["rule id"]: row for row in read_csv(tmp_path / "unhelpful_answers.csv")}
    for rule in answer["rules"]:
        assert rule in page
        assert int(rated[rule]["Did not answer my question"]) >= 1
    clusters = read_csv(tmp_path / "unanswered_clusters.csv")
    assert any(FALLBACK_QUESTION in row["examples (count)"] for row in clusters)
    # "did not answer my question" puts the rated question among the unanswered ones.
    assert any("referral for massage therapy" in row["examples (count)"] for row in clusters)
    assert FALLBACK_QUESTION in page
    # Personal details appear only as the placeholders the channel stored.
    assert "tell me a joke" in page
    assert "312-555-0199" not in page and "jane.doe@example.com" not in page
    assert REDACTED in page
    candidates = (tmp_path / "candidate_nlu.yml").read_text()
    assert FALLBACK_QUESTION in candidates and "312-555-0199" not in candidates


def test_unknown_feedback_shaped_command_is_refused(assistant: Assistant) -> None:
    sender = f"review-{uuid.uuid4().hex[:12]}"
    forged = '/inform{"feedback": "terrible"}'
    send_rest(assistant.rest_url, sender, REFERRAL_QUESTION)
    assert send_rest(assistant.rest_url, sender, forged), "every member message gets a reply"
    events = stored_events(store(assistant), [sender])
    command = user_events(events)[1]
    # The command gate keeps an unoffered command's name as a word, never its entities.
    assert command["text"] == "inform"
    # Read as words: no entity forced by Rasa's command parser, no rating, no thanks.
    assert all(
        entity.get("extractor") != "RegexMessageHandler" for entity in command["parse_data"]["entities"]
    )
    assert THANKS not in [e.get("text") for e in events]
    assert not [e for e in events if e.get("event") == "slot" and e.get("name") == FEEDBACK_SLOT]


def test_widget_feedback_reaches_the_report_and_the_report_is_accessible(
    assistant: Assistant, browser: Any, tmp_path: Path
) -> None:
    assert assistant.demo_url is not None
    expect.set_options(timeout=REPLY_WAIT_MS)
    context = browser.new_context(viewport={"width": 1100, "height": 800}, bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(REPLY_WAIT_MS)
        page.goto(assistant.demo_url)
        page.get_by_role("button", name=LAUNCHER_NAME).click()
        question = page.get_by_label(INPUT_LABEL)
        question.fill(REFERRAL_QUESTION)
        question.press("Enter")
        feedback = page.get_by_role("group", name="Was this helpful?")
        expect(feedback).to_be_visible()
        expect(feedback.get_by_role("button", name="Yes")).to_be_visible()
        feedback.get_by_role("button", name="No").click()
        reasons = page.get_by_role("group", name="What was wrong?")
        expect(reasons.get_by_role("button", name="Did not answer my question")).to_be_focused()
        reasons.get_by_role("button", name="Hard to understand").click()
        expect(page.locator(".hcsc-chat__message--bot .hcsc-chat__text").last).to_have_text(THANKS)
        expect(page.get_by_role("group", name="What was wrong?")).to_have_count(0)

        expected = RULES.answer("referral", PlanContext(state="TX", plan_type="ppo"))
        build_report(assistant, tmp_path)
        rated = {row["rule id"]: row for row in read_csv(tmp_path / "unhelpful_answers.csv")}
        for rule in expected.rule_ids:
            assert int(rated[rule]["Hard to understand"]) >= 1
        channels = {row["channel"] for row in read_csv(tmp_path / "volume_by_channel.csv")}
        assert "socketio" in channels

        page.goto((tmp_path / "report.html").as_uri())
        expect(page.get_by_role("heading", level=1)).to_contain_text("What members asked")
        violations = axe_violations(page)
        assert violations == [], json.dumps(violations, indent=1)
    finally:
        context.close()


def test_the_review_needs_the_agent_token(assistant: Assistant) -> None:
    request = urllib.request.Request(
        f"{assistant.base_url}/webhooks/preview/review", b"{}", {"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401


def test_the_agent_console_review_tab(assistant: Assistant, browser: Any) -> None:
    # Runs after the conversations above: the fallback question is in the server's store.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=False)
    try:
        page = context.new_page()
        page.set_default_timeout(REPLY_WAIT_MS)
        page.goto(assistant.agent_page_url)
        page.get_by_label("Agent token").fill(str(assistant.agent_token))
        review_tab = page.get_by_role("tab", name="Review", exact=True)
        page.get_by_role("tab", name="Preview an answer").focus()
        page.keyboard.press("ArrowRight")
        expect(review_tab).to_be_focused()
        expect(review_tab).to_have_attribute("aria-selected", "true")
        page.get_by_role("button", name="Show the review").click()
        expect(page.locator("#review-status")).to_have_text("Review ready.")
        clusters = page.get_by_role("table", name="Unanswered questions, grouped")
        expect(clusters).to_contain_text(FALLBACK_QUESTION)
        expect(page.get_by_role("table", name="Answers rated by members, by rule id")).to_be_visible()
        assert "312-555-0199" not in page.locator("#review-result").inner_text()
        expect(page.get_by_role("button", name="Download the full report (HTML)")).to_be_enabled()
        with page.expect_download() as download:
            page.get_by_role("button", name="Download the full report (HTML)").click()
        assert download.value.suggested_filename == "review-report.html"
    finally:
        context.close()
    # axe-core is injected, so this tab bypasses the page's Content Security Policy.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(REPLY_WAIT_MS)
        page.goto(assistant.agent_page_url)
        page.get_by_label("Agent token").fill(str(assistant.agent_token))
        page.get_by_role("tab", name="Review", exact=True).click()
        page.get_by_role("button", name="Show the review").click()
        expect(page.locator("#review-status")).to_have_text("Review ready.")
        assert axe_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "the body must be JSON"),
        (b'{"since": "0001-01-01", "until": "9999-12-31"}', "`since` must be between"),
    ],
)
def test_the_review_answers_bad_requests_with_json(assistant: Assistant, body: bytes, reason: str) -> None:
    request = urllib.request.Request(
        f"{assistant.base_url}/webhooks/preview/review",
        body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {assistant.agent_token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert refused.value.headers.get_content_type() == "application/json"
    assert json.loads(refused.value.read())["error"].startswith(reason)
