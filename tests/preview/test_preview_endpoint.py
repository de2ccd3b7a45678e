"""The agent preview endpoint on the real servers: same answers as members get, and why."""

import json
import re
import urllib.request
import uuid
from typing import Any, Dict, List, Optional

import pytest

from channels.agent_preview import MAX_TEXT_CHARS
from launch.paths import PROJECT_DIR
from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from tests.preview.preview_client import post_preview

pytestmark = pytest.mark.slow

RULES = load_rules()
WEB_AGENT = PROJECT_DIR / "web" / "agent"

# One question per topic, in a plan context (state, plan type) a portal would send.
TOPIC_QUESTIONS = [
    ("is massage therapy covered by my blue cross plan?", "TX", "hmo", "coverage_overview"),
    ("will bcbs pay for a massage at a day spa?", None, "ppo", "spa_wellness"),
    (
        "my physical therapist wants to add massage to my rehab after knee surgery, is that covered",
        "TX",
        "hmo",
        "therapy_massage",
    ),
    (
        "i stopped improving but want to keep getting monthly massages, will they still pay",
        "OK",
        None,
        "maintenance_care",
    ),
    ("does massage therapy need prior authorization", "IL", "medicaid", "prior_authorization"),
    ("how do i get the pre auth for massage, what do i submit", "IL", "ppo", "preauth_steps"),
    ("do i need a referral for massage therapy", "TX", "hmo", "referral"),
    ("will they reimburse an out of network provider for massage", "NM", "ppo", "out_of_network"),
    ("what does a therapist need to chart for massage to be reimbursed", None, None, "documentation"),
    ("can i bill 97140 instead of 97124", "MT", "ppo", "billing_codes"),
    ("how many massage sessions will they cover a year", "TX", "medicare_advantage", "visit_limits"),
    ("how can i find out what my own plan covers", None, "hmo", "plan_lookup"),
    ("what is hcsc", "IL", None, "about_hcsc"),
    ("does cigna cover massage therapy", None, None, "non_hcsc_plan"),
]
# Messages that get no coverage answer, and whether the assistant falls back on
# them ("hmm" is read as plan context without any, and answered with utter_default).
OTHER_MESSAGES = [
    ("hello", False),
    ("can i talk to a real person", False),
    ("what's the weather like today", False),
    ("hmm", True),
]


def without_recipient(reply: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """REST messages carry the conversation id; the preview's never do."""
    return [{k: v for k, v in message.items() if k != "recipient_id"} for message in reply]


def context_metadata(state: Optional[str], plan_type: Optional[str]) -> Dict[str, str]:
    return {key: value for key, value in (("state", state), ("plan_type", plan_type)) if value}


@pytest.mark.parametrize(
    "text, state, plan_type, topic", TOPIC_QUESTIONS, ids=[q[3] for q in TOPIC_QUESTIONS]
)
def test_preview_gives_the_members_answer_and_the_rules_behind_it(
    send: Any, preview: Any, text: str, state: Optional[str], plan_type: Optional[str], topic: str
) -> None:
    member_reply = send(f"test-{uuid.uuid4().hex}", text, metadata=context_metadata(state, plan_type))
    answer = preview(text, state=state, plan_type=plan_type)

    assert answer["messages"] == without_recipient(member_reply)
    coverage = answer["coverage"]
    assert coverage is not None and coverage["topic"] == topic
    assert answer["outcome"] == {"name": coverage["outcome"], "meaning": RULES.outcomes[coverage["outcome"]]}
    assert [rule["id"] for rule in answer["rules"]] == coverage["rules"]
    for rule in answer["rules"]:
        stored = RULES.rule(rule["id"])
        assert (rule["kind"], rule["text"]) == (stored.kind, stored.text)
        assert [ref["id"] for ref in rule["references"]] == list(stored.references)
    asked = "coverage_overview" if topic == "non_hcsc_plan" else topic
    assert answer["intent"]["name"] == f"ask_{asked}"
    assert 0.0 < answer["intent"]["confidence"] <= 1.0
    assert answer["fallback"] is False
    assert "action_answer_coverage" in [action["name"] for action in answer["actions"]]


@pytest.mark.parametrize("text, falls_back", OTHER_MESSAGES, ids=[m[0] for m in OTHER_MESSAGES])
def test_preview_of_messages_without_a_coverage_answer(
    send: Any, preview: Any, text: str, falls_back: bool
) -> None:
    member_reply = send(f"test-{uuid.uuid4().hex}", text, metadata={"state": "TX"})
    answer = preview(text, state="TX")
    assert answer["messages"] == without_recipient(member_reply)
    assert answer["coverage"] is None and answer["rules"] == [] and answer["outcome"] is None
    assert answer["fallback"] is falls_back


def test_earlier_messages_shape_the_answer_as_in_a_member_conversation(send: Any, preview: Any) -> None:
    history = ["i have bcbs of texas", "it's a ppo"]
    sender = f"test-{uuid.uuid4().hex}"
    for message in history:
        send(sender, message)
    member_reply = send(sender, "do i need a referral?")

    answer = preview("do i need a referral?", history=history)
    assert answer["messages"] == without_recipient(member_reply)
    assert answer["slots"]["state"] == "TX" and answer["slots"]["plan_type"] == "ppo"
    assert answer["coverage"]["outcome"] == "not_required"
    assert [rule["id"] for rule in answer["rules"]] == ["referral.ppo"]


def test_intent_ranking_entities_and_slots_are_explained(preview: Any) -> None:
    answer = preview("does my texas hmo cover massage as part of physical therapy?")
    ranking = answer["intent_ranking"]
    assert 1 < len(ranking) <= 5
    confidences = [intent["confidence"] for intent in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert ranking[0]["name"] == answer["intent"]["name"] == "ask_therapy_massage"
    found = {(entity["entity"], entity["value"]) for entity in answer["entities"]}
    assert {("state", "TX"), ("plan_type", "hmo"), ("care_setting", "physical_therapy")} <= found
    assert (answer["slots"]["state"], answer["slots"]["plan_type"]) == ("TX", "hmo")
    assert "note.tx_hmo_not_covered_list" in [rule["id"] for rule in answer["rules"]]


def test_a_portal_context_fills_the_slots_and_no_plan_question_is_asked(preview: Any) -> None:
    answer = preview("do i need a referral?", state="TX", plan_type="hmo")
    assert (answer["slots"]["state"], answer["slots"]["plan_type"]) == ("TX", "hmo")
    assert not any(message.get("buttons") for message in answer["messages"])
    assert answer["outcome"]["name"] == "required"


def test_a_question_with_language_es_gets_the_spanish_answer_members_get(send: Any, preview: Any) -> None:
    """The agent asks in Spanish for an English question: the answer is the one a
    member gets from a site that asks for Spanish (metadata "lang": "es")."""
    text = "is massage therapy covered by my blue cross plan?"
    member_reply = send(
        f"test-{uuid.uuid4().hex}", text, metadata={"state": "TX", "plan_type": "hmo", "lang": "es"}
    )
    answer = preview(text, state="TX", plan_type="hmo", language="es")
    assert answer["messages"] == without_recipient(member_reply)
    expected = RULES.answer("coverage_overview", PlanContext(state="TX", plan_type="hmo"), "es")
    assert answer["messages"][0]["text"] == expected.text
    assert answer["coverage"]["language"] == "es" and answer["coverage"]["rules"] == list(expected.rule_ids)
    language = answer["language"]
    assert (language["answer"], language["requested"], language["conversation"]) == ("es", "es", "es")
    # What the detector made of the English words, with lingua's confidence.
    assert language["detected"]["language"] == "en" and 0.5 <= language["detected"]["confidence"] <= 1.0


def test_a_command_with_language_es_gets_the_spanish_answer(preview: Any) -> None:
    """A button's payload never reaches NLU: it carries the language itself, as in the member channels."""
    answer = preview("/ask_coverage_overview", language="es")
    expected = RULES.answer("coverage_overview", PlanContext(), "es")
    assert answer["coverage"]["topic"] == "coverage_overview" and answer["coverage"]["language"] == "es"
    assert answer["messages"][0]["text"] == expected.text
    assert answer["language"]["answer"] == "es" and answer["language"]["detected"] is None
    # What the assistant read is the button's payload, without the language: a share link replays it.
    assert answer["read_as"]["text"] == "/ask_coverage_overview"


def test_without_a_language_a_spanish_message_is_detected_with_its_confidence(preview: Any) -> None:
    """No language asked: the detector's finding decides, and the Spanish
    question gets the Spanish answer."""
    answer = preview("¿mi plan cubre la terapia de masaje?", state="IL", plan_type="ppo")
    language = answer["language"]
    assert (language["answer"], language["conversation"], language["requested"]) == ("es", "es", None)
    assert language["detected"]["language"] == "es" and language["detected"]["clear"] is True
    assert 0.8 <= language["detected"]["confidence"] <= 1.0
    expected = RULES.answer("coverage_overview", PlanContext(state="IL", plan_type="ppo"), "es")
    assert answer["messages"][0]["text"] == expected.text
    assert answer["coverage"]["language"] == "es"
    english = preview("is massage therapy covered?", language="en")
    assert english["coverage"]["language"] == "en" and english["language"]["requested"] == "en"
    assert english["language"]["answer"] == "en"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer not-the-token", "Basic {token}", "Bearer {token}x", "{token}"],
    ids=["missing", "empty", "wrong", "wrong-scheme", "longer", "no-scheme"],
)
def test_without_the_agent_token_the_answer_is_401_with_no_detail(
    assistant: Assistant, authorization: Optional[str]
) -> None:
    header = authorization.format(token=assistant.agent_token) if authorization else authorization
    status, _, content = post_preview(assistant.preview_url, {"text": "do i need a referral?"}, header)
    assert status == 401
    assert content == b""


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"state": "TX"}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "text"),
        ({"text": "referral?", "state": "CA"}, "state"),
        ({"text": "referral?", "plan_type": "gold"}, "plan_type"),
        ({"text": "referral?", "history": "i have a ppo"}, "history"),
        ({"text": "referral?", "language": "fr"}, "language"),
        ({"text": "referral?", "language": "es-MX"}, "language"),
        ({"text": "referral?", "language": ["es"]}, "language"),
        (["do i need a referral?"], "object"),
        (b"{not json", "JSON"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(assistant: Assistant, body: Any, problem: str) -> None:
    raw = body if isinstance(body, bytes) else None
    status, answer, _ = post_preview(assistant.preview_url, body, f"Bearer {assistant.agent_token}", raw=raw)
    assert status == 400
    assert problem in answer["error"]


def test_the_agent_page_and_its_files_are_served_self_contained(assistant: Assistant) -> None:
    with urllib.request.urlopen(assistant.agent_page_url, timeout=10) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert '<script src="agent.js"' in page and 'href="agent.css"' in page
    for name, kind in (("agent.js", "javascript"), ("agent.css", "css")):
        with urllib.request.urlopen(assistant.agent_page_url + name, timeout=10) as response:
            assert kind in response.headers["Content-Type"]
            assert response.read().decode() == (WEB_AGENT / name).read_text()
    with urllib.request.urlopen(assistant.agent_page_url.rstrip("/"), timeout=10) as response:
        assert response.url == assistant.agent_page_url  # redirected, so agent.js resolves
    with urllib.request.urlopen(assistant.agent_page_url + "plan-context", timeout=10) as response:
        values = json.loads(response.read())
    assert values == {"state": RULES.context_values["state"], "plan_type": RULES.context_values["plan_type"]}


def test_the_agent_page_loads_nothing_from_elsewhere_and_never_renders_markup() -> None:
    for path in WEB_AGENT.iterdir():
        text = path.read_text()
        assert not re.search(r"https?://|//cdn|@import", text), path
    script = (WEB_AGENT / "agent.js").read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)


def test_every_topic_has_a_question_here() -> None:
    assert {question[3] for question in TOPIC_QUESTIONS} == set(RULES.topics)


@pytest.mark.parametrize(
    "text",
    [
        "my member id is XOF839201557, is massage in physical therapy covered?",
        "mi id de miembro es XOF 1234 5678 90, me cubren masajes en fisioterapia?",
    ],
)
def test_the_preview_shows_the_personal_details_notice_the_member_gets(
    send: Any, preview: Any, text: str
) -> None:
    member_reply = send(f"test-{uuid.uuid4().hex}", text, metadata={"state": "TX", "plan_type": "hmo"})
    answer = preview(text, state="TX", plan_type="hmo")
    assert answer["messages"] == without_recipient(member_reply)
    # Once per conversation: a later message with details gets no second notice.
    later = preview(text, state="TX", plan_type="hmo", history=[text])
    assert len(later["messages"]) == len(answer["messages"]) - 1
