"""The coverage action as Rasa calls it: a rasa_sdk Tracker in, messages and events out."""

import asyncio
from typing import Any, Dict, List, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.action_answer_coverage import ActionAnswerCoverage
from plan_coverage.engine import load_rules
from plan_coverage.replies import topic_for_intent
from tests.support.action_trackers import make_tracker, tracker_from_file

RULES = load_rules()


def run_action(tracker: Tracker) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """Run the action; return the messages sent and the slot values it set."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerCoverage().run(dispatcher, tracker, {}))
    slots = {event["name"]: event["value"] for event in events if event["event"] == "slot"}
    return dispatcher.messages, slots


def coverage_of(messages: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The one coverage payload among the messages."""
    payloads = [m["custom"]["coverage"] for m in messages if m.get("custom")]
    assert len(payloads) == 1, messages
    return payloads[0]


def texts_of(messages: List[Dict[str, Any]]) -> List[str]:
    """The text messages, in order."""
    return [m["text"] for m in messages if m.get("text")]


def test_a_question_gets_answer_payload_and_id_card_line_in_that_order() -> None:
    messages, _ = run_action(make_tracker("ask_spa_wellness", {"care_setting": ["spa"]}))
    assert messages[0]["text"].startswith("No.")
    assert messages[1]["custom"] == {
        "coverage": {
            "topic": "spa_wellness",
            "outcome": "not_covered",
            "state": None,
            "plan_type": None,
            "qualifiers": {"setting": "spa"},
            "decided_by": None,
            "rules": ["spa_wellness.general"],
            "citations": [RULES.references["CPCP040"], RULES.references["BCBSTX-BAHMO"]],
            "language": "en",
        }
    }
    assert messages[-1]["text"] == RULES.closing
    assert "ID card" in messages[-1]["text"]


@pytest.mark.parametrize("topic", sorted(set(RULES.topics) - {"non_hcsc_plan"}))
def test_every_question_intent_answers_its_own_topic(topic: str) -> None:
    # As a button sends it: the command alone, no entities.
    tracker = make_tracker(f"ask_{topic}")
    tracker.latest_message["text"] = f"/ask_{topic}"
    messages, slots = run_action(tracker)
    assert coverage_of(messages)["topic"] == topic
    assert slots["topic"] == topic


@pytest.mark.parametrize("topic", ["spa_wellness", "maintenance_care"])
def test_a_typed_spa_or_maintenance_guess_naming_neither_is_a_plain_coverage_question(topic: str) -> None:
    # "is a deep tissue massage covered?" read as a spa question: nothing says spa, relaxation or maintenance.
    tracker = make_tracker(f"ask_{topic}")
    tracker.latest_message["text"] = "is a deep tissue massage covered?"
    messages, _ = run_action(tracker)
    assert (coverage_of(messages)["topic"], coverage_of(messages)["outcome"]) == (
        "coverage_overview",
        "conditional",
    )


def test_plan_context_from_entities_shapes_the_answer_and_is_kept() -> None:
    tracker = make_tracker("ask_referral", {"state": ["TX"], "plan_type": ["hmo"]})
    messages, slots = run_action(tracker)
    coverage = coverage_of(messages)
    assert (coverage["outcome"], coverage["state"], coverage["plan_type"]) == ("required", "TX", "hmo")
    assert (slots["state"], slots["plan_type"]) == ("TX", "hmo")


def test_unknown_plan_type_offers_plan_type_buttons_before_the_id_card_line() -> None:
    messages, _ = run_action(make_tracker("ask_referral"))
    assert coverage_of(messages)["outcome"] == "depends_on_plan"
    with_buttons = [m for m in messages if m.get("buttons")]
    assert len(with_buttons) == 1
    payloads = [button["payload"] for button in with_buttons[0]["buttons"]]
    assert payloads == [
        '/inform{"plan_type": "hmo"}',
        '/inform{"plan_type": "ppo"}',
        '/inform{"plan_type": "medicaid"}',
        '/inform{"plan_type": "medicare_advantage"}',
    ]
    assert messages[-1]["text"] == RULES.closing


def test_known_plan_type_offers_no_buttons() -> None:
    messages, _ = run_action(make_tracker("ask_referral", slots={"plan_type": "ppo"}))
    assert coverage_of(messages)["outcome"] == "not_required"
    assert not any(m.get("buttons") for m in messages)


def test_a_tracker_from_rasa_answers_its_question() -> None:
    messages, slots = run_action(tracker_from_file("new_question"))
    assert coverage_of(messages)["topic"] == "referral"
    assert slots["topic"] == "referral"


def test_a_stored_conversation_re_answers_the_pending_question_for_its_new_plan_type() -> None:
    messages, slots = run_action(tracker_from_file("plan_type_after_referral"))
    coverage = coverage_of(messages)
    assert (coverage["topic"], coverage["outcome"], coverage["state"], coverage["plan_type"]) == (
        "referral",
        "not_required",
        "TX",
        "ppo",
    )
    assert slots["topic"] == "referral"


def test_inform_re_answers_the_pending_question_for_the_new_context() -> None:
    tracker = make_tracker("inform", {"plan_type": ["ppo"]}, slots={"topic": "referral", "plan_type": "hmo"})
    messages, slots = run_action(tracker)
    coverage = coverage_of(messages)
    assert (coverage["topic"], coverage["outcome"], coverage["plan_type"]) == (
        "referral",
        "not_required",
        "ppo",
    )
    assert slots["topic"] == "referral"


def test_inform_remembers_the_care_setting_of_the_pending_question() -> None:
    tracker = make_tracker(
        "inform",
        {"plan_type": ["ppo"]},
        slots={"topic": "out_of_network", "care_setting": "independent_therapist"},
    )
    messages, _ = run_action(tracker)
    assert coverage_of(messages)["outcome"] == "not_covered"


def test_a_new_question_naming_no_massage_keeps_the_old_care_setting() -> None:
    # After "is a spa massage covered?", "and out of network?" is still about the spa.
    tracker = make_tracker(
        "ask_out_of_network", slots={"plan_type": "ppo", "care_setting": "spa", "topic": "spa_wellness"}
    )
    tracker.latest_message["text"] = "and out of network?"
    messages, slots = run_action(tracker)
    assert coverage_of(messages)["outcome"] == "not_covered"
    assert slots["care_setting"] == "spa"


def test_a_new_question_naming_another_massage_starts_without_the_old_care_setting() -> None:
    tracker = make_tracker(
        "ask_out_of_network",
        {"care_setting": ["physical_therapy"]},
        slots={"plan_type": "ppo", "care_setting": "spa", "purpose": "relaxation", "topic": "spa_wellness"},
    )
    messages, slots = run_action(tracker)
    assert coverage_of(messages)["outcome"] == "conditional"
    assert (slots["care_setting"], slots["purpose"]) == ("physical_therapy", None)


def test_physical_therapy_wins_over_a_massage_therapist_in_the_same_question() -> None:
    tracker = make_tracker(
        "ask_out_of_network",
        {"care_setting": ["independent_therapist", "physical_therapy"]},
        slots={"plan_type": "ppo"},
    )
    messages, slots = run_action(tracker)
    assert coverage_of(messages)["outcome"] == "conditional"
    assert slots["care_setting"] == "physical_therapy"


def test_inform_with_nothing_asked_yet_notes_the_plan_and_offers_topics() -> None:
    messages, slots = run_action(make_tracker("inform", {"state": ["TX"], "plan_type": ["ppo"]}))
    assert len(messages) == 1
    assert "Texas PPO plan" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]][0] == "/ask_coverage_overview"
    assert not any(m.get("custom") for m in messages)
    assert (slots["state"], slots["plan_type"]) == ("TX", "ppo")


def test_another_insurer_gets_the_not_applicable_answer() -> None:
    messages, slots = run_action(make_tracker("ask_coverage_overview", {"insurer": ["aetna"]}))
    coverage = coverage_of(messages)
    assert (coverage["topic"], coverage["outcome"]) == ("non_hcsc_plan", "not_applicable")
    assert "Blue Cross and Blue Shield ID card" not in messages[-1]["text"]
    assert "ID card" in messages[-1]["text"]
    assert slots["insurer"] == "aetna"


def test_naming_an_hcsc_plan_ends_an_earlier_other_insurer() -> None:
    tracker = make_tracker("inform", {"state": ["IL"]}, slots={"insurer": "aetna", "topic": "referral"})
    messages, slots = run_action(tracker)
    assert coverage_of(messages)["topic"] == "referral"
    assert slots["insurer"] is None


def test_portal_metadata_fills_the_plan_context_the_member_did_not_give() -> None:
    tracker = make_tracker("ask_referral", metadata={"state": "tx", "plan_type": "HMO"})
    messages, slots = run_action(tracker)
    coverage = coverage_of(messages)
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", "hmo", "required")
    assert (slots["state"], slots["plan_type"]) == ("TX", "hmo")


def test_what_the_member_said_wins_over_portal_metadata() -> None:
    tracker = make_tracker("ask_referral", {"plan_type": ["ppo"]}, metadata={"plan_type": "hmo"})
    messages, _ = run_action(tracker)
    assert coverage_of(messages)["plan_type"] == "ppo"


@pytest.mark.parametrize(
    "entities, denied, metadata, expected",
    [
        # A plan left, and the portal's plan fills in (the member is logged in to it).
        ({}, {"state": ["IL"]}, {"state": "TX", "plan_type": "hmo"}, ("TX", "hmo", "required")),
        # A plan type left: the answer for any type, never an earlier or portal one (README).
        ({}, {"plan_type": ["ppo"]}, {"plan_type": "hmo"}, (None, None, "depends_on_plan")),
        ({"plan_type": ["hmo"]}, {"plan_type": ["ppo"]}, {}, (None, "hmo", "required")),
        # ... but not the portal's plan when that is the one the member left.
        ({}, {"state": ["TX"]}, {"state": "TX"}, (None, None, "depends_on_plan")),
        ({}, {"plan_type": ["hmo"]}, {"plan_type": "hmo"}, (None, None, "depends_on_plan")),
    ],
)
def test_a_plan_left_gives_way_to_the_plan_held(
    entities: Dict[str, List[str]],
    denied: Dict[str, List[str]],
    metadata: Dict[str, Any],
    expected: Tuple[Any, ...],
) -> None:
    messages, slots = run_action(make_tracker("ask_referral", entities, metadata=metadata, denied=denied))
    coverage = coverage_of(messages)
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == expected
    assert (slots["state"], slots["plan_type"]) == expected[:2]


@pytest.mark.parametrize(
    "denied, earlier, expected",
    [
        # "I have a PPO" earlier, "I used to have an HMO" now: the type is not taken from before.
        ({"plan_type": ["hmo"]}, {"plan_type": "ppo"}, (None, None, "depends_on_plan")),
        ({"state": ["IL"]}, {"state": "TX", "plan_type": "hmo"}, ("TX", "hmo", "required")),
        # The plan named earlier is the one now left.
        ({"plan_type": ["ppo"]}, {"plan_type": "ppo"}, (None, None, "depends_on_plan")),
        ({"state": ["TX"]}, {"state": "TX"}, (None, None, "depends_on_plan")),
    ],
)
def test_a_plan_left_in_a_later_message_keeps_the_one_said_before(
    denied: Dict[str, List[str]], earlier: Dict[str, Any], expected: Tuple[Any, ...]
) -> None:
    messages, slots = run_action(make_tracker("ask_referral", denied=denied, earlier=earlier))
    coverage = coverage_of(messages)
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == expected
    assert (slots["state"], slots["plan_type"]) == expected[:2]


def test_a_plan_left_while_the_portal_sends_another_gets_the_portals_plan() -> None:
    # Earlier TX HMO from the portal; the portal now sends IL PPO and the member
    # says "I used to have BCBSOK": the new portal plan, not a mix of both.
    tracker = make_tracker(
        "ask_referral",
        denied={"state": ["OK"]},
        earlier={"state": "TX", "plan_type": "hmo", "portal_context": "TX|hmo"},
        metadata={"state": "IL", "plan_type": "ppo"},
    )
    messages, slots = run_action(tracker)
    coverage = coverage_of(messages)
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("IL", "ppo", "not_required")
    assert (slots["state"], slots["plan_type"]) == ("IL", "ppo")


@pytest.mark.parametrize(
    "plan_types", [["hmo", "ppo"], ["ppo", "hmo"], ["medicare_advantage", "ppo"], ["hmo", "medicaid"]]
)
def test_two_plan_types_in_one_message_get_the_answer_for_any_plan(plan_types: List[str]) -> None:
    # "not an HMO, it's a PPO", "HMO or PPO?": which one is the member's is not
    # known, and a PPO answer ("usually not") would be wrong for an HMO member.
    messages, slots = run_action(make_tracker("ask_referral", {"plan_type": plan_types, "state": ["TX"]}))
    coverage = coverage_of(messages)
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", None, "depends_on_plan")
    assert slots["plan_type"] is None


@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback"])
def test_a_reply_without_an_answer_still_drops_a_plan_left(intent: str) -> None:
    # Rasa filled the slot from "I used to have BCBSIL"; the next question must not use it.
    tracker = make_tracker(
        intent, denied={"state": ["IL"], "plan_type": ["hmo"]}, earlier={"plan_type": "ppo"}
    )
    _, slots = run_action(tracker)
    assert (slots["state"], slots["plan_type"]) == (None, None)


def test_a_reply_without_an_answer_keeps_the_plan_said_beside_the_one_left() -> None:
    # "i have bcbstx now, i used to have bcbsil. what's the weather": Rasa filled
    # the slot from the last state (IL, denied); TX is the member's.
    tracker = make_tracker("out_of_scope", {"state": ["TX"]}, denied={"state": ["IL"]})
    _, slots = run_action(tracker)
    assert slots["state"] == "TX"


@pytest.mark.parametrize(
    "metadata", [{"state": "CA"}, {"plan_type": "<script>"}, {"state": ["TX"]}, {"state": "x" * 500}]
)
def test_unusable_metadata_is_ignored(metadata: Dict[str, Any]) -> None:
    messages, slots = run_action(make_tracker("ask_referral", metadata=metadata))
    coverage = coverage_of(messages)
    assert (coverage["state"], coverage["plan_type"]) == (None, None)
    assert (slots["state"], slots["plan_type"]) == (None, None)


def test_non_question_intents_have_no_topic() -> None:
    assert topic_for_intent("ask_referral", RULES) == "referral"
    assert topic_for_intent("ask_other_service", RULES) is None
    assert topic_for_intent("inform", RULES) is None
    assert topic_for_intent("ask_non_hcsc_plan_typo", RULES) is None


def test_inform_without_any_plan_context_is_not_understood() -> None:
    messages, slots = run_action(make_tracker("inform", slots={"topic": "referral"}))
    assert [m["response"] for m in messages] == ["utter_default"]
    assert slots == {}
