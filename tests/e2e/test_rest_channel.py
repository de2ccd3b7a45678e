"""End to end: the trained assistant and the action server, on free ports, over REST."""

import sqlite3
import uuid
from typing import Any, Callable, Dict, List, Optional

import pytest

from plan_coverage.engine import load_rules
from tests.support.replies import COVERAGE_PAYLOAD_KEYS, ID_CARD

pytestmark = pytest.mark.slow

Reply = List[Dict[str, Any]]
Send = Callable[..., Reply]
RULES = load_rules()


def new_sender() -> str:
    """A fresh conversation id."""
    return f"test-{uuid.uuid4().hex}"


def coverage_of(reply: Reply) -> Optional[Dict[str, Any]]:
    """The coverage payload of a reply, None when it has none; never more than one."""
    payloads = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
    assert len(payloads) <= 1, reply
    return payloads[0] if payloads else None


def texts_of(reply: Reply) -> List[str]:
    """The reply's text messages in order."""
    return [m["text"] for m in reply if m.get("text")]


QUESTIONS = [
    ("is massage therapy covered by my blue cross plan?", "coverage_overview", "conditional"),
    ("will bcbs pay for a massage at a day spa?", "spa_wellness", "not_covered"),
    (
        "my physical therapist wants to add massage to my rehab after knee surgery, is that covered",
        "therapy_massage",
        "conditional",
    ),
    (
        "i stopped improving but want to keep getting monthly massages, will they still pay",
        "maintenance_care",
        "not_covered",
    ),
    ("does massage therapy need prior authorization", "prior_authorization", "often_required"),
    ("how do i get the pre auth for massage, what do i submit", "preauth_steps", "info"),
    ("do i need a referral for massage therapy", "referral", "depends_on_plan"),
    ("will they reimburse an out of network provider for massage", "out_of_network", "depends_on_plan"),
    ("what does a therapist need to chart for massage to be reimbursed", "documentation", "info"),
    ("can i bill 97140 instead of 97124", "billing_codes", "info"),
    ("how many massage sessions will they cover a year", "visit_limits", "depends_on_plan"),
    ("how can i find out what my own plan covers", "plan_lookup", "info"),
    ("what is hcsc", "about_hcsc", "info"),
    ("does cigna cover massage therapy", "non_hcsc_plan", "not_applicable"),
]


@pytest.mark.parametrize("text, topic, outcome", QUESTIONS, ids=[q[1] for q in QUESTIONS])
def test_each_topic_is_answered_with_its_payload_and_the_id_card_line(
    send: Send, text: str, topic: str, outcome: str
) -> None:
    reply = send(new_sender(), text)
    coverage = coverage_of(reply)
    assert coverage is not None, reply
    assert set(coverage) == COVERAGE_PAYLOAD_KEYS
    assert (coverage["topic"], coverage["outcome"]) == (topic, outcome)
    asked_topic = "coverage_overview" if topic == "non_hcsc_plan" else topic
    expected = RULES.answer(asked_topic, _context_for(topic))
    assert coverage["rules"] == list(expected.rule_ids)
    assert coverage["citations"] == list(expected.citations)
    texts = texts_of(reply)
    assert texts[0] == expected.text
    assert texts[-1] == expected.closing
    assert "ID card" in texts[-1]


def _context_for(topic: str) -> Any:
    from plan_coverage.engine import PlanContext

    settings = {"spa_wellness": "spa", "therapy_massage": "physical_therapy"}
    insurer = "cigna" if topic == "non_hcsc_plan" else None
    return PlanContext(setting=settings.get(topic), insurer=insurer)


def test_context_carries_over_and_corrections_re_answer(send: Send) -> None:
    sender = new_sender()
    first = send(sender, "do i need a referral for massage therapy")
    assert coverage_of(first)["outcome"] == "depends_on_plan"
    buttons = [b for m in first for b in m.get("buttons", [])]
    assert {b["title"] for b in buttons} == {"HMO", "PPO", "Medicaid", "Medicare Advantage"}

    hmo = coverage_of(send(sender, "I have an HMO"))
    assert (hmo["topic"], hmo["outcome"], hmo["plan_type"]) == ("referral", "required", "hmo")

    ppo = coverage_of(send(sender, "actually it's a ppo"))
    assert (ppo["topic"], ppo["outcome"], ppo["plan_type"]) == ("referral", "not_required", "ppo")

    oon = coverage_of(send(sender, "what about out of network?"))
    assert (oon["topic"], oon["outcome"], oon["plan_type"]) == ("out_of_network", "conditional", "ppo")


def test_a_plan_type_button_answers_the_pending_question(send: Send) -> None:
    sender = new_sender()
    send(sender, "is a referral needed for pt massage")
    coverage = coverage_of(send(sender, '/inform{"plan_type": "medicaid"}'))
    assert (coverage["topic"], coverage["plan_type"], coverage["outcome"]) == (
        "referral",
        "medicaid",
        "depends_on_plan",
    )


def test_state_and_plan_given_first_shape_later_answers(send: Send) -> None:
    sender = new_sender()
    noted = send(sender, "i have bcbs of texas blue advantage hmo")
    assert coverage_of(noted) is None
    assert "Texas HMO plan" in texts_of(noted)[0]
    coverage = coverage_of(send(sender, "is massage covered?"))
    assert (coverage["state"], coverage["plan_type"]) == ("TX", "hmo")
    assert "note.tx_hmo_not_covered_list" in coverage["rules"]
    assert RULES.references["BCBSTX-BAHMO"] in coverage["citations"]


def test_illinois_prior_authorization_names_evicore(send: Send) -> None:
    reply = send(new_sender(), "does massage need pre auth with blue cross of illinois")
    coverage = coverage_of(reply)
    assert (coverage["state"], coverage["outcome"]) == ("IL", "often_required")
    assert "eviCore" in texts_of(reply)[0]


def test_portal_metadata_is_the_plan_context(send: Send) -> None:
    reply = send(new_sender(), "do i need a referral?", metadata={"state": "TX", "plan_type": "hmo"})
    coverage = coverage_of(reply)
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", "hmo", "required")
    assert not any(m.get("buttons") for m in reply)


def test_another_insurer_then_an_hcsc_plan(send: Send) -> None:
    sender = new_sender()
    assert coverage_of(send(sender, "does aetna cover massage therapy"))["topic"] == "non_hcsc_plan"
    coverage = coverage_of(send(sender, "sorry i meant bcbsok"))
    assert (coverage["topic"], coverage["state"]) == ("coverage_overview", "OK")


def test_conversations_keep_their_own_context(send: Send) -> None:
    hmo_member, ppo_member = new_sender(), new_sender()
    send(hmo_member, "i have an hmo")
    send(ppo_member, "i have a ppo")
    assert coverage_of(send(hmo_member, "do i need a referral"))["outcome"] == "required"
    assert coverage_of(send(ppo_member, "do i need a referral"))["outcome"] == "not_required"


@pytest.mark.parametrize(
    "text",
    [
        "does my plan cover chiropractic adjustments",
        "what's the weather like today",
        "can i talk to a real person",
        "qwzx plorb vvv",
        "hmm",
    ],
)
def test_other_messages_get_an_honest_id_card_answer_without_coverage(send: Send, text: str) -> None:
    reply = send(new_sender(), text)
    assert coverage_of(reply) is None
    texts = texts_of(reply)
    assert texts and ID_CARD in texts[-1]


def test_the_server_runs_with_the_project_fixes(assistant: Any, send: Send) -> None:
    # The SQLite tracker store is in write-ahead-log mode only when
    # rasa_server/fixes.py ran inside the Rasa server process.
    send(new_sender(), "hi")
    url = assistant.rasa_server.env["TRACKER_STORE_URL"]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_topic_has_a_question_here() -> None:
    assert {question[1] for question in QUESTIONS} == set(RULES.topics)
