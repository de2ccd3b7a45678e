"""The coverage action on real member messages (issue 11): qualifiers that every
topic obeys, denied qualifiers, follow-ups, several questions, portal changes."""

import asyncio
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.action_answer_coverage import ActionAnswerCoverage
from plan_coverage.engine import load_rules
from plan_coverage.followups import order_as_asked, refers_back

RULES = load_rules()
SLOT_NAMES = ("state", "plan_type", "insurer", "care_setting", "purpose", "stage", "topic", "portal_context")
Entity = Tuple[str, str]  # (entity, value); a value starting with "!" is denied


def tracker(
    intent: str,
    text: str = "member text",
    entities: Sequence[Entity] = (),
    slots: Optional[Dict[str, Any]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Tracker:
    """A tracker as Rasa sends it: slots already filled from this message's plan entities."""
    filled: Dict[str, Any] = {name: None for name in SLOT_NAMES}
    filled.update(slots or {})
    parsed = []
    for name, value in entities:
        entity: Dict[str, Any] = {
            "entity": name,
            "value": value.lstrip("!"),
            "extractor": "RulerEntityExtractor",
        }
        if value.startswith("!"):
            entity["negated"] = True
        elif name in ("state", "plan_type", "insurer"):
            filled[name] = value
        parsed.append(entity)
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": parsed,
        "metadata": metadata or {},
    }
    return Tracker("member", filled, latest, [], False, None, {}, "action_listen")


def run(t: Tracker) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerCoverage().run(dispatcher, t, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def coverages(messages: List[Dict[str, Any]]) -> List[Tuple[str, str]]:
    return [
        (m["custom"]["coverage"]["topic"], m["custom"]["coverage"]["outcome"])
        for m in messages
        if m.get("custom")
    ]


# --- a not-covered qualifier decides every topic -----------------------------------


@pytest.mark.parametrize(
    "qualifier", [("care_setting", "spa"), ("purpose", "relaxation"), ("stage", "maintenance")]
)
@pytest.mark.parametrize("topic", sorted(set(RULES.topics) - {"non_hcsc_plan"}))
def test_a_not_covered_qualifier_decides_any_topic(topic: str, qualifier: Entity) -> None:
    messages, slots = run(tracker(f"ask_{topic}", entities=[qualifier, ("plan_type", "hmo")]))
    assert [outcome for _, outcome in coverages(messages)] == ["not_covered"]
    assert messages[0]["text"].startswith("No.")
    payload = next(m["custom"]["coverage"] for m in messages if m.get("custom"))
    key = {"care_setting": "setting"}.get(qualifier[0], qualifier[0])
    assert payload["qualifiers"] == {key: qualifier[1]}


def test_spa_prior_approval_says_approval_does_not_make_it_covered() -> None:
    messages, _ = run(tracker("ask_prior_authorization", entities=[("care_setting", "spa")]))
    assert messages[0]["text"].startswith("No. A massage at a spa is not covered.")
    assert "Prior approval does not make it covered" in messages[0]["text"]
    assert messages[1]["custom"]["coverage"]["decided_by"] == "qualifier.spa"
    assert messages[-1]["text"] == RULES.closing


def test_a_spa_is_never_a_therapy_setting_but_a_massage_therapist_at_pt_is() -> None:
    spa_and_pt = [("care_setting", "spa"), ("care_setting", "physical_therapy")]
    assert coverages(run(tracker("ask_therapy_massage", entities=spa_and_pt))[0]) == [
        ("spa_wellness", "not_covered")
    ]
    lmt_at_pt = [("care_setting", "independent_therapist"), ("care_setting", "physical_therapy")]
    assert coverages(run(tracker("ask_therapy_massage", entities=lmt_at_pt))[0]) == [
        ("therapy_massage", "conditional")
    ]


# --- denied qualifiers ----------------------------------------------------------


@pytest.mark.parametrize(
    "intent, entities, expected",
    [
        # "not for relaxing, my doctor wants it for my injury. is massage covered?"
        (
            "ask_spa_wellness",
            [("purpose", "!relaxation"), ("purpose", "medical")],
            ("coverage_overview", "conditional"),
        ),
        # "not a wellness center - a licensed PT. does my plan cover the massage?"
        (
            "ask_spa_wellness",
            [("care_setting", "!wellness_center"), ("care_setting", "physical_therapy")],
            ("therapy_massage", "conditional"),
        ),
        # "isn't maintenance, I'm still improving"
        (
            "ask_maintenance_care",
            [("stage", "!maintenance"), ("stage", "improving")],
            ("therapy_massage", "conditional"),
        ),
        # "I don't want a spa massage" + a referral question on a PPO
        ("ask_referral", [("care_setting", "!spa"), ("plan_type", "ppo")], ("referral", "not_required")),
    ],
)
def test_a_denied_qualifier_does_not_decide(
    intent: str, entities: List[Entity], expected: Tuple[str, str]
) -> None:
    assert coverages(run(tracker(intent, entities=entities))[0]) == [expected]


def test_a_denied_qualifier_ends_the_one_carried_from_the_last_question() -> None:
    t = tracker(
        "ask_referral",
        text="what if it's not at a spa?",
        entities=[("care_setting", "!spa")],
        slots={"care_setting": "spa", "plan_type": "hmo", "topic": "referral"},
    )
    messages, slots = run(t)
    assert coverages(messages) == [("referral", "required")]
    assert slots["care_setting"] is None


# --- follow-ups -------------------------------------------------------------------


def test_those_keeps_the_previous_questions_qualifier() -> None:
    t = tracker(
        "ask_referral",
        text="ok and would my HMO need a referral for those?",
        entities=[("plan_type", "hmo")],
        slots={"care_setting": "spa", "topic": "spa_wellness"},
    )
    assert coverages(run(t)[0]) == [("referral", "not_covered")]


@pytest.mark.parametrize("slot, value", [("purpose", "relaxation"), ("stage", "maintenance")])
def test_what_about_out_of_network_keeps_purpose_and_stage(slot: str, value: str) -> None:
    t = tracker(
        "ask_out_of_network", text="what about out of network?", slots={slot: value, "plan_type": "ppo"}
    )
    assert coverages(run(t)[0]) == [("out_of_network", "not_covered")]


def test_a_new_question_naming_no_qualifier_starts_clean() -> None:
    t = tracker(
        "ask_referral",
        text="do I need a referral for physical therapy on my hmo",
        entities=[("plan_type", "hmo")],
        slots={"care_setting": "spa", "purpose": "relaxation", "stage": "maintenance"},
    )
    messages, slots = run(t)
    assert coverages(messages) == [("referral", "required")]
    assert (slots["care_setting"], slots["purpose"], slots["stage"]) == (None, None, None)


def test_plan_context_alone_re_answers_with_the_pending_qualifiers() -> None:
    t = tracker(
        "inform",
        text="it's an hmo",
        entities=[("plan_type", "hmo")],
        slots={"topic": "referral", "purpose": "relaxation"},
    )
    assert coverages(run(t)[0]) == [("referral", "not_covered")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ok and would my HMO need a referral for those?", True),
        ("what about out of network?", True),
        ("does it need prior auth", True),
        ("do I need a referral for physical therapy", False),
        ("how many visits do I get on my ppo", False),
        ("i stopped improving, will they still pay", False),
    ],
)
def test_refers_back(text: str, expected: bool) -> None:
    assert refers_back(text) is expected


# --- portal metadata ----------------------------------------------------------------


def test_portal_metadata_that_changes_replaces_the_plan_context() -> None:
    t = tracker(
        "ask_referral",
        metadata={"state": "IL", "plan_type": "ppo"},
        slots={"state": "TX", "plan_type": "hmo", "portal_context": "TX|hmo", "insurer": "aetna"},
    )
    messages, slots = run(t)
    assert coverages(messages) == [("referral", "not_required")]
    assert (slots["state"], slots["plan_type"], slots["insurer"], slots["portal_context"]) == (
        "IL",
        "ppo",
        None,
        "IL|ppo",
    )


def test_unchanged_portal_metadata_leaves_what_the_member_said() -> None:
    t = tracker(
        "ask_referral",
        metadata={"state": "TX", "plan_type": "hmo"},
        slots={"state": "TX", "plan_type": "ppo", "portal_context": "TX|hmo"},
    )
    assert coverages(run(t)[0]) == [("referral", "not_required")]


# --- several questions in one message ---------------------------------------------------


def test_two_questions_get_both_answers_in_order_and_one_id_card_line() -> None:
    t = tracker(
        "ask_referral+ask_visit_limits",
        text="do I need a referral and is there a visit limit for my texas hmo?",
        entities=[("state", "TX"), ("plan_type", "hmo")],
    )
    messages, slots = run(t)
    assert coverages(messages) == [("referral", "required"), ("visit_limits", "depends_on_plan")]
    assert [m["text"] for m in messages].count(RULES.closing) == 1
    assert messages[-1]["text"] == RULES.closing
    assert slots["topic"] == "referral+visit_limits"


def test_two_questions_are_answered_in_the_order_asked() -> None:
    t = tracker("ask_referral+ask_visit_limits", text="how many visits do I get, and do I need a referral?")
    assert [topic for topic, _ in coverages(run(t)[0])] == ["visit_limits", "referral"]


def test_two_questions_about_a_spa_massage_are_both_not_covered() -> None:
    t = tracker("ask_billing_codes+ask_referral", entities=[("care_setting", "spa")])
    assert coverages(run(t)[0]) == [("billing_codes", "not_covered"), ("referral", "not_covered")]


def test_two_questions_for_another_insurer_get_one_answer() -> None:
    t = tracker("ask_referral+ask_visit_limits", entities=[("insurer", "amerigroup")])
    messages, _ = run(t)
    assert coverages(messages) == [("non_hcsc_plan", "not_applicable")]


def test_plan_type_question_is_asked_once_for_two_answers() -> None:
    t = tracker("ask_referral+ask_out_of_network")
    messages, _ = run(t)
    assert len([m for m in messages if m.get("buttons")]) == 1


def test_order_as_asked_keeps_the_label_order_when_unsure() -> None:
    assert order_as_asked(["referral", "visit_limits"], "hmm?") == ["referral", "visit_limits"]
    assert order_as_asked(["billing_codes", "referral"], "referral? and 97124?") == [
        "referral",
        "billing_codes",
    ]


@pytest.mark.parametrize(
    "topics, text, expected",
    [
        (["coverage_overview", "referral"], "ok and would my HMO need a referral for those?", ["referral"]),
        (
            ["billing_codes", "referral"],
            "my massage therapist says a referral makes it billable. is that right?",
            ["referral"],
        ),
        (
            ["coverage_overview", "referral"],
            "is massage covered and do I need a referral",
            ["coverage_overview", "referral"],
        ),
        (
            ["therapy_massage", "referral"],
            "my surgeon wants more rehab with massage. do I need a referral for that?",
            ["referral"],
        ),
        (
            ["therapy_massage", "referral"],
            "is massage in pt covered, and is a referral needed?",
            ["therapy_massage", "referral"],
        ),
    ],
)
def test_a_guessed_second_question_without_its_words_is_not_answered(
    topics: List[str], text: str, expected: List[str]
) -> None:
    assert order_as_asked(topics, text) == expected


def test_an_unlisted_insurer_gets_no_hcsc_rules() -> None:
    t = tracker("ask_coverage_overview", entities=[("insurer", "unlisted")])
    assert coverages(run(t)[0]) == [("non_hcsc_plan", "not_applicable")]


# --- not understood, but another insurer named ------------------------------------


def test_a_fallback_naming_another_insurer_gets_the_not_applicable_answer() -> None:
    messages, slots = run(
        tracker("nlu_fallback", entities=[("insurer", "countycare")], slots={"topic": "referral"})
    )
    assert coverages(messages) == [("non_hcsc_plan", "not_applicable")]
    assert slots == {"insurer": "countycare"}


def test_a_fallback_without_another_insurer_is_not_understood() -> None:
    messages, slots = run(tracker("nlu_fallback", entities=[("state", "TX")]))
    assert [m.get("response") for m in messages] == ["utter_default"]
    assert slots == {}


def test_a_long_story_read_as_plan_context_answers_its_question() -> None:
    story = (
        "My daughter hurt her ankle and the physical therapist does massage during her visits. "
        "We have Blue Cross Blue Shield of Oklahoma PPO. How many of these sessions will the plan cover?"
    )
    t = tracker("inform", text=story, entities=[("state", "OK"), ("plan_type", "ppo")])
    t.latest_message["intent_ranking"] = [
        {"name": "inform", "confidence": 0.5},
        {"name": "ask_visit_limits", "confidence": 0.3},
        {"name": "ask_therapy_massage", "confidence": 0.2},
    ]
    assert coverages(run(t)[0]) == [("visit_limits", "depends_on_plan")]


def test_short_plan_context_stays_plan_context() -> None:
    t = tracker("inform", text="i have a ppo in oklahoma?", entities=[("state", "OK"), ("plan_type", "ppo")])
    t.latest_message["intent_ranking"] = [
        {"name": "inform", "confidence": 0.9},
        {"name": "ask_referral", "confidence": 0.1},
    ]
    messages, _ = run(t)
    assert coverages(messages) == []
