"""The trained model's NLU: intents and normalised entities, through Rasa itself."""

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa_sdk import Tracker

from nlu_components.language_detector import LANGUAGE_ENTITY
from tests.actions.test_action_real_messages import SLOT_NAMES, coverages, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    """The trained model, loaded in this process."""
    return Agent.load(str(trained_model))


def parse(agent: Agent, text: str) -> Dict[str, Any]:
    """Rasa's parse of one message."""
    return asyncio.run(agent.parse_message(text))


def word_entities(parsed: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The entities found in the words, without the conversation's `language`
    (LanguageDetector's, tested in tests/nlu/test_language*.py)."""
    return [e for e in parsed["entities"] if e["entity"] != LANGUAGE_ENTITY]


def entities_of(parsed: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(entity, value) pairs in message order."""
    return [(e["entity"], e["value"]) for e in word_entities(parsed)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("does bcbstx cover massage at a day spa", [("state", "TX"), ("care_setting", "spa")]),
        ("I have Blue Cross and Blue Shield of Illinois", [("state", "IL")]),
        ("my plan is a blue advantage hmo", [("plan_type", "hmo")]),
        ("we're on STAR+PLUS in OK", [("plan_type", "medicaid"), ("state", "OK")]),
        ("medicare advantage plan in new mexico", [("plan_type", "medicare_advantage"), ("state", "NM")]),
        ("does uhc cover it", [("insurer", "unitedhealthcare")]),
        ("i have blue shield of california", [("insurer", "other_blue_plan")]),
        ("can i bill 97140 for massage instead of cpt 97124", [("cpt_code", "97140"), ("cpt_code", "97124")]),
        ("out of network lmt", [("care_setting", "independent_therapist")]),
        ("does my texas H.M.O. need a referral?", [("state", "TX"), ("plan_type", "hmo")]),
        ("i have a P.P.O. in ILLINOIS", [("plan_type", "ppo"), ("state", "IL")]),
        ("I have Amerigroup STAR in Texas", [("insurer", "amerigroup"), ("state", "TX")]),
        ("i'm with acme health plan", [("insurer", "unlisted")]),
        ("a relaxation massage for maintenance", [("purpose", "relaxation"), ("stage", "maintenance")]),
        ("ok thanks", []),
        ("nm, forget it", []),
    ],
)
def test_entities_are_found_and_normalised(agent: Agent, text: str, expected: List[Tuple[str, str]]) -> None:
    assert entities_of(parse(agent, text)) == expected


@pytest.mark.parametrize(
    "text, intent",
    [
        ("is massage covered by my bcbs plan", "ask_coverage_overview"),
        ("will they pay for massage envy", "ask_spa_wellness"),
        ("do i need a refferal to see a pt", "ask_referral"),
        ("does massge need prior auth", "ask_prior_authorization"),
        ("actually i have a ppo", "inform"),
        ("does my plan cover acupuncture", "ask_other_service"),
    ],
)
def test_typical_messages_get_their_intent(agent: Agent, text: str, intent: str) -> None:
    assert parse(agent, text)["intent"]["name"] == intent


@pytest.mark.parametrize("text", ["qwzx plorb vvv", "asdkjh qwe", "lorem ipsum dolor"])
def test_gibberish_gets_no_coverage_intent(agent: Agent, text: str) -> None:
    # Any of these is honest: they point to the ID card and carry no coverage
    # (`inform` without plan context gets "not understood" from the action:
    # tests/actions; Latin-looking words may read as Spanish plan context).
    assert parse(agent, text)["intent"]["name"] in {"nlu_fallback", "out_of_scope", "inform"}


def test_denied_qualifiers_reach_the_action_marked_negated(agent: Agent) -> None:
    entities = word_entities(parse(agent, "it is not at a spa, my physical therapist does it"))
    marked = [(e["entity"], e["value"], bool(e.get("negated"))) for e in entities]
    assert marked == [("care_setting", "spa", True), ("care_setting", "physical_therapy", False)]


def answer_turn(agent: Agent, text: str) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """The coverage action's messages and slots for Rasa's parse of `text`, with
    the slots Rasa fills from the plan entities (denied or not, as its slot mappings do)."""
    parsed = parse(agent, text)
    slots: Dict[str, Any] = {name: None for name in SLOT_NAMES}
    for entity in word_entities(parsed):
        if entity["entity"] in ("state", "plan_type", "insurer"):
            slots[entity["entity"]] = entity["value"]
    return run(Tracker("member", slots, parsed, [], False, None, {}, "action_listen"))


@pytest.mark.parametrize(
    "text, outcome",
    [
        # The plan named after "now" is the one to answer for.
        (
            "we had bcbs texas but moved and now have kaiser, is massage covered?",
            ("non_hcsc_plan", "not_applicable"),
        ),
        ("I had BCBSTX. Now I have Aetna. Does it cover massage?", ("non_hcsc_plan", "not_applicable")),
        (
            "had cigna but now we have blue cross texas, is massage covered?",
            ("coverage_overview", "conditional"),
        ),
        # Or the one named just before "now".
        ("i had bcbstx, i have aetna now. is massage covered?", ("non_hcsc_plan", "not_applicable")),
        (
            "we used to have cigna but we have bcbs texas now, does it cover massage?",
            ("coverage_overview", "conditional"),
        ),
        # A plan left named after the current one; another person's plan.
        (
            "i have aetna now, i had bcbs texas before. is massage covered?",
            ("non_hcsc_plan", "not_applicable"),
        ),
        (
            "i have bcbstx, my husband is on cigna now. is massage covered?",
            ("coverage_overview", "conditional"),
        ),
        # A plan held until a date, one changed for the member, one swapped.
        (
            "bcbsmt was my plan until december. starting january i'm with cigna. is massage covered?",
            ("non_hcsc_plan", "not_applicable"),
        ),
        (
            "my employer changed our insurance from bcbsil to aetna, does it cover massage?",
            ("non_hcsc_plan", "not_applicable"),
        ),
        ("i traded my bcbsok for a kaiser plan, is massage covered?", ("non_hcsc_plan", "not_applicable")),
        (
            "my job switched carriers from bcbstx to aetna, is massage covered?",
            ("non_hcsc_plan", "not_applicable"),
        ),
        # Another person's plan, with the member's own named.
        (
            "my son has bcbstx through his job but i’m on cigna. is massage covered for me?",
            ("non_hcsc_plan", "not_applicable"),
        ),
    ],
)
def test_a_plan_left_for_another_named_after_now_gets_that_plans_answer(
    agent: Agent, text: str, outcome: Tuple[str, str]
) -> None:
    assert outcome in coverages(answer_turn(agent, text)[0])


@pytest.mark.parametrize(
    "text",
    [
        "new job soon, had bcbstx there and they offer aetna. is massage covered?",
        "cobra with bcbsil until may, then going to humana. massage covered?",
    ],
)
def test_two_plans_and_an_unresolved_change_get_no_plans_answer(agent: Agent, text: str) -> None:
    # Which plan the member has now is unknown: the answer is for no plan
    # (the general answer and the ID-card number), not BCBS rules.
    messages, slots_set = answer_turn(agent, text)
    assert (slots_set["state"], slots_set["insurer"]) == (None, None)
    assert [outcome for _, outcome in coverages(messages)] == ["conditional"]


@pytest.mark.parametrize(
    "text, plan_type, outcome",
    [
        # The plan type the member has now, not the one they left.
        ("I'm on an HMO now, had a PPO before. do i need a referral for massage therapy?", "hmo", "required"),
        ("i used to have a ppo but now i have an hmo, do i need a referral for massage?", "hmo", "required"),
        (
            "my old plan was an hmo, now i have a ppo. do i need a referral for massage?",
            None,
            "depends_on_plan",
        ),
        # A type that was part of a plan left goes with it.
        ("i had bcbstx hmo, now i have bcbsil. do i need a referral for massage?", None, "depends_on_plan"),
        # "was" and "not" also report what is: two types unmarked, the answer for any plan.
        ("not an hmo, it's a ppo. do i need a referral for massage?", None, "depends_on_plan"),
        # Another person's type is not the member's.
        ("my husband has an hmo and i have a ppo, do i need a referral for massage?", "ppo", "not_required"),
        # Two types and no word of which one is held: the answer for any plan.
        ("my plan is hmo or ppo, not sure which. do i need a referral for massage?", None, "depends_on_plan"),
        ("do i need a referral for massage with an hmo or a ppo?", None, "depends_on_plan"),
        # A type the member will move to is not theirs yet.
        (
            "i'm switching from an hmo to a ppo next month, do i need a referral for massage now?",
            None,
            "depends_on_plan",
        ),
    ],
)
def test_a_plan_type_left_or_unsure_is_not_answered_for(
    agent: Agent, text: str, plan_type: str, outcome: str
) -> None:
    messages, slots_set = answer_turn(agent, text)
    assert slots_set["plan_type"] == plan_type
    assert ("referral", outcome) in coverages(messages)
