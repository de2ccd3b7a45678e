"""The coverage action on the kinds of message the blind held-out cases of
2026-12-01 found answered wrongly (tests/heldout/, "written blind"): a
qualifier topic whose qualifier is denied, an HCSC plan the member left,
long stories NLU misread, and a second question found in a story's words.
Each case here is written apart from the held-out sets."""

from typing import Any, Dict, List, Optional, Sequence

import pytest
from rasa_sdk import Tracker

from plan_coverage.followups import first_cue
from tests.actions.test_action_real_messages import Entity, coverages, run, tracker


def ranked(
    intents: List[str], text: str, entities: Sequence[Entity] = (), slots: Optional[Dict[str, Any]] = None
) -> Tracker:
    """A tracker whose NLU ranked `intents` in this order (the first is the intent)."""
    t = tracker(intents[0], text=text, entities=entities, slots=slots)
    t.latest_message["intent_ranking"] = [
        {"name": name, "confidence": round(0.6 / (rank + 1), 3)} for rank, name in enumerate(intents)
    ]
    return t


def texts(messages: List[Dict[str, Any]]) -> List[Optional[str]]:
    return [m.get("response") for m in messages]


# --- a qualifier topic whose own qualifier is denied --------------------------------


def test_denied_maintenance_with_a_health_problem_answers_the_runner_up_question() -> None:
    # "it isn't maintenance care, i broke my wrist in june. how many visits will they pay for"
    text = "it isn't maintenance care, i broke my wrist in june. how many visits will they pay for"
    t = ranked(
        ["ask_maintenance_care", "ask_visit_limits", "ask_coverage_overview"],
        text,
        entities=[("stage", "!maintenance"), ("purpose", "medical")],
    )
    assert [topic for topic, _ in coverages(run(t)[0])] == ["visit_limits"]
    assert all(outcome != "not_covered" for _, outcome in coverages(run(t)[0]))


def test_maintenance_in_words_no_entity_names_stays_not_covered() -> None:
    # NLU's reading stands when nothing is denied: "pt is over, i want massage to stay limber"
    text = "pt is over but i want monthly massage from her to stay limber, covered?"
    t = ranked(
        ["ask_maintenance_care", "ask_therapy_massage"],
        text,
        entities=[("care_setting", "physical_therapy")],
    )
    assert coverages(run(t)[0]) == [("maintenance_care", "not_covered")]


def test_a_denied_spa_with_a_therapy_setting_is_still_redirected_to_therapy() -> None:
    t = ranked(
        ["ask_spa_wellness", "ask_referral"],
        "this won't be at a day spa, it's at my rehab clinic. is the massage covered",
        entities=[("care_setting", "!spa"), ("care_setting", "physical_therapy")],
    )
    assert coverages(run(t)[0]) == [("therapy_massage", "conditional")]


# --- an HCSC plan the member no longer has ---------------------------------------------


@pytest.mark.parametrize("insurer", ["cigna", "other_state_medicaid"])
def test_another_insurer_now_and_an_hcsc_plan_left_behind_is_not_hcsc(insurer: str) -> None:
    t = tracker(
        "ask_therapy_massage",
        text="we used to be on bcbs of oklahoma, now it's the new plan. will pt massage be covered",
        entities=[("insurer", insurer), ("state", "!OK")],
        slots={"state": "OK"},
    )
    t.latest_message["entities"][1]["hcsc_plan"] = True
    messages, slots = run(t)
    assert coverages(messages) == [("non_hcsc_plan", "not_applicable")]
    assert slots["state"] is None


def test_a_state_left_behind_does_not_stay_the_plan_state() -> None:
    t = tracker(
        "ask_referral",
        text="we moved from texas to oklahoma, do i need a referral for pt on my hmo",
        entities=[("state", "!TX"), ("state", "OK"), ("plan_type", "hmo")],
        slots={"state": "TX"},
    )
    messages, slots = run(t)
    assert slots["state"] == "OK"
    assert coverages(messages) == [("referral", "required")]


# --- long stories NLU misread ---------------------------------------------------------

STORY = (
    "my mom is 70 and had a hip replacement in may, the hospital set her up with a physical "
    "therapist who does massage on the scar tissue twice a week and she is on our bcbs plan. {question}"
)


def test_a_long_story_without_a_question_mark_is_asked_in_its_last_sentence() -> None:
    text = STORY.format(question="do we need prior approval for the massage part")
    t = ranked(["ask_therapy_massage", "ask_prior_authorization"], text, entities=[("purpose", "medical")])
    assert [topic for topic, _ in coverages(run(t)[0])] == ["prior_authorization"]


def test_a_long_inform_without_a_question_mark_stays_plan_context() -> None:
    text = (
        "i have the blue cross ppo through my job at the school district and my wife and kids are on it too"
    )
    t = ranked(["inform", "ask_coverage_overview"], text, entities=[("plan_type", "ppo")])
    messages, slots = run(t)
    assert coverages(messages) == []
    assert slots["plan_type"] == "ppo"


def test_a_long_inform_with_a_coverage_question_answers_coverage() -> None:
    text = STORY.format(question="i only care about her plan, will it cover that?")
    t = ranked(["inform", "ask_about_hcsc", "ask_plan_lookup"], text)
    assert [topic for topic, _ in coverages(run(t)[0])] == ["coverage_overview"]


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
def test_a_story_nlu_could_not_place_answers_the_runner_up_its_question_names(intent: str) -> None:
    text = STORY.format(question="does she need a referral from her primary doctor?")
    t = ranked([intent, "ask_referral", "inform"], text, entities=[("plan_type", "hmo")])
    assert coverages(run(t)[0]) == [("referral", "required")]


def test_out_of_scope_stays_out_of_scope_without_massage_or_a_long_story() -> None:
    short = ranked(["out_of_scope", "ask_referral"], "do i need a referral to see a vet?")
    assert texts(run(short)[0]) == ["utter_out_of_scope"]
    story = ranked(
        ["out_of_scope", "ask_referral"],
        "our dog tore a ligament and the vet wants surgery, we have pet insurance through work and "
        "a deductible. do we need a referral from the vet for the specialist?",
    )
    assert texts(run(story)[0]) == ["utter_out_of_scope"]


def test_a_second_question_is_looked_for_in_a_storys_questions_only() -> None:
    # "referred" is in the story, not in its question: no referral answer.
    text = (
        "my doctor referred me last spring, and i did two months of pt for my elbow with "
        "massage at the end of each visit. is it covered if she keeps massaging it?"
    )
    t = ranked(
        ["ask_therapy_massage", "ask_therapy_massage+ask_referral", "ask_referral"],
        text,
        entities=[("care_setting", "physical_therapy")],
    )
    assert [topic for topic, _ in coverages(run(t)[0])] == ["therapy_massage"]


@pytest.mark.parametrize(
    "text, cued",
    [
        ("cubren el masaje que me dan en la terapia", True),
        ("is massage at therapy covered", True),
        ("cubren la terapia de masaje", False),
        ("is massage therapy covered", False),
    ],
)
def test_therapy_alone_is_physical_therapy_but_massage_therapy_is_the_massage(text: str, cued: bool) -> None:
    assert (first_cue("therapy_massage", text) is not None) is cued


@pytest.mark.parametrize(
    "text",
    [
        "is the massage my pt does covered, and separately, does a day spa massage need a referral on my hmo",
        "is the massage my pt does covered, plus does a day spa massage need a referral on my hmo",
    ],
)
def test_separately_and_plus_start_another_question_about_another_massage(text: str) -> None:
    t = tracker(
        "ask_coverage_overview+ask_referral",
        text=text,
        entities=[
            ("care_setting", "physical_therapy", "pt"),
            ("care_setting", "spa", "spa"),
            ("plan_type", "hmo"),
        ],
    )
    assert [outcome for _, outcome in coverages(run(t)[0])] == ["conditional", "not_covered"]


# --- requests about something other than health care ---------------------------------


@pytest.mark.parametrize(
    "intent, text, domain, response",
    [
        (
            "ask_referral",
            "can my vet give me a referral to a surgeon for my cat",
            "pets",
            "utter_out_of_scope",
        ),
        (
            "ask_preauth_steps",
            "how do i get approval for time off from my boss",
            "work",
            "utter_out_of_scope",
        ),
        ("ask_prior_authorization", "does a root canal need prior approval", "dental", "utter_other_service"),
        ("ask_referral", "necesito referido para el oculista", "vision", "utter_other_service"),
    ],
)
def test_referral_and_approval_words_about_something_else_get_no_coverage_answer(
    intent: str, text: str, domain: str, response: str
) -> None:
    messages, _ = run(tracker(intent, text=text, entities=[("other_domain", domain)]))
    assert coverages(messages) == []
    assert texts(messages) == [response]


@pytest.mark.parametrize(
    "text, entities",
    [
        ("i hurt my back at the gym, is massage covered", [("other_domain", "gym")]),
        (
            "after the car accident my pt wants prior approval",
            [("other_domain", "vehicles"), ("care_setting", "physical_therapy")],
        ),
        (
            "i work at a bank, does my hmo need a referral",
            [("other_domain", "finance"), ("plan_type", "hmo")],
        ),
    ],
)
def test_something_else_named_beside_massage_therapy_or_a_plan_is_still_answered(
    text: str, entities: List[Entity]
) -> None:
    messages, _ = run(tracker("ask_referral", text=text, entities=entities))
    assert coverages(messages) != []


@pytest.mark.parametrize(
    "intent, text, entities",
    [
        ("ask_coverage_overview", "does my bcbs texas plan cover massage for my dog", [("state", "TX")]),
        ("ask_therapy_massage", "the vet says my dog needs physical therapy, is it covered", []),
        ("ask_coverage_overview", "mi plan de illinois cubre masajes para mi perro?", [("state", "IL")]),
    ],
)
def test_massage_or_therapy_for_an_animal_is_out_of_scope_even_with_a_plan_named(
    intent: str, text: str, entities: List[Entity]
) -> None:
    t = ranked([intent, "ask_referral"], text, entities=[*entities, ("other_domain", "animal_care")])
    assert texts(run(t)[0]) == ["utter_out_of_scope"]


@pytest.mark.parametrize(
    "text, entities",
    [
        ("will my bcbs illinois ppo pay for a massage chair", [("state", "IL"), ("plan_type", "ppo")]),
        (
            "my physical therapist said to get a massage gun, is it covered",
            [("care_setting", "physical_therapy")],
        ),
    ],
)
def test_things_sold_for_massage_get_the_other_services_reply(text: str, entities: List[Entity]) -> None:
    t = ranked(
        ["ask_coverage_overview", "ask_therapy_massage"],
        text,
        entities=[*entities, ("other_domain", "massage_products")],
    )
    assert texts(run(t)[0]) == ["utter_other_service"]


@pytest.mark.parametrize(
    "text, entities",
    [
        ("is massage covered if it's not part of PT", [("care_setting", "!physical_therapy")]),
        ("cubren el masaje si no es parte de la terapia fisica", [("care_setting", "!physical_therapy")]),
        (
            "my massage isn't from a physical therapist, is it covered on my tx ppo",
            [("care_setting", "!physical_therapy"), ("state", "TX"), ("plan_type", "ppo")],
        ),
    ],
)
def test_massage_whose_therapy_is_denied_gets_the_plain_coverage_answer(
    text: str, entities: List[Entity]
) -> None:
    t = ranked(["ask_therapy_massage", "ask_coverage_overview"], text, entities=entities)
    assert [topic for topic, _ in coverages(run(t)[0])] == ["coverage_overview"]


def test_massage_at_therapy_named_beside_a_denied_one_stays_therapy_massage() -> None:
    t = ranked(
        ["ask_therapy_massage", "ask_coverage_overview"],
        "not the pt at the gym, the pt at my rehab clinic, is the massage covered",
        entities=[("care_setting", "!physical_therapy"), ("care_setting", "physical_therapy")],
    )
    assert [topic for topic, _ in coverages(run(t)[0])] == ["therapy_massage"]
