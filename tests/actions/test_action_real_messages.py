"""The coverage action on real member messages (issue 11): qualifiers that every
topic obeys, denied qualifiers, follow-ups, several questions, portal changes."""

import asyncio
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.action_answer_coverage import ActionAnswerCoverage
from plan_coverage.engine import load_rules
from plan_coverage.followups import order_as_asked, question_spans, refers_back

RULES = load_rules()
SLOT_NAMES = ("state", "plan_type", "insurer", "care_setting", "purpose", "stage", "topic", "portal_context")
# (entity, value) or (entity, value, the words in the text it was found in);
# a value starting with "!" is denied.
Entity = Tuple[str, ...]


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
    for name, value, *words in entities:
        entity: Dict[str, Any] = {
            "entity": name,
            "value": value.lstrip("!"),
            "extractor": "RulerEntityExtractor",
        }
        if words:
            entity["start"] = text.index(words[0])
            entity["end"] = entity["start"] + len(words[0])
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
        # "not for relaxing, it's for my torn rotator cuff": nothing but the denial named
        ("ask_spa_wellness", [("purpose", "!relaxation")], ("coverage_overview", "conditional")),
        ("ask_maintenance_care", [("stage", "!maintenance")], ("coverage_overview", "conditional")),
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


def test_a_new_question_naming_another_massage_starts_clean() -> None:
    t = tracker(
        "ask_referral",
        text="do I need a referral for physical therapy on my hmo",
        entities=[("plan_type", "hmo"), ("care_setting", "physical_therapy")],
        slots={"care_setting": "spa", "purpose": "relaxation", "stage": "maintenance"},
    )
    messages, slots = run(t)
    assert coverages(messages) == [("referral", "required")]
    assert (slots["care_setting"], slots["purpose"], slots["stage"]) == ("physical_therapy", None, None)


@pytest.mark.parametrize(
    "intent, text, slots",
    [
        # A question naming no massage is about the one the conversation is on.
        ("ask_out_of_network", "and out of network?", {"care_setting": "spa", "plan_type": "ppo"}),
        ("ask_out_of_network", "y fuera de la red?", {"care_setting": "spa", "plan_type": "ppo"}),
        ("ask_prior_authorization", "do I need prior authorization?", {"care_setting": "spa"}),
        ("ask_prior_authorization", "do i need prior approval?", {"stage": "maintenance"}),
        ("ask_prior_authorization", "y necesito autorizacion previa?", {"purpose": "relaxation"}),
    ],
)
def test_a_question_naming_no_massage_keeps_the_one_before(
    intent: str, text: str, slots: Dict[str, Any]
) -> None:
    assert [outcome for _, outcome in coverages(run(tracker(intent, text=text, slots=slots))[0])] == [
        "not_covered"
    ]


@pytest.mark.parametrize(
    "intent, text, expected",
    [
        # A question about massage in general starts clean (it says what it is about).
        ("ask_prior_authorization", "does massage therapy need prior authorization", "often_required"),
        ("ask_referral", "do i need a referral for massage therapy", "not_required"),
        ("ask_referral", "necesito referido para masajes?", "not_required"),
        # A question about the plan itself is not about the massage before.
        ("ask_plan_lookup", "how can i find out what my own plan covers", "info"),
    ],
)
def test_a_question_about_massage_in_general_starts_clean(intent: str, text: str, expected: str) -> None:
    slots = {"stage": "maintenance", "care_setting": "spa", "plan_type": "ppo", "state": "IL"}
    assert [outcome for _, outcome in coverages(run(tracker(intent, text=text, slots=slots))[0])] == [
        expected
    ]


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
    messages, _ = run(t)
    assert coverages(messages) == [("billing_codes", "not_covered"), ("referral", "not_covered")]
    # "No. A massage at a spa is not covered." is said once, not stacked.
    texts = " ".join(m.get("text") or "" for m in messages)
    assert texts.count("A massage at a spa is not covered.") == 1
    assert messages[0]["text"].startswith("No. A massage at a spa is not covered.")


def test_answers_decided_by_different_qualifiers_each_say_theirs() -> None:
    text = "do I need a referral for a relaxation massage? what about prior auth for one at a spa?"
    entities = [("purpose", "relaxation", "relaxation"), ("care_setting", "spa", "spa"), ("plan_type", "hmo")]
    messages, _ = run(tracker("ask_referral+ask_prior_authorization", text=text, entities=entities))
    assert coverages(messages) == [("referral", "not_covered"), ("prior_authorization", "not_covered")]
    texts = [m["text"] for m in messages if m.get("text")]
    assert texts[0].startswith("No. Massage to relax")
    assert texts[1].startswith("No. A massage at a spa is not covered.")


def test_two_questions_for_another_insurer_get_one_answer() -> None:
    t = tracker("ask_referral+ask_visit_limits", entities=[("insurer", "amerigroup")])
    messages, _ = run(t)
    assert coverages(messages) == [("non_hcsc_plan", "not_applicable")]


@pytest.mark.parametrize(
    "intent, text, entities, expected",
    [
        # The fresh review's message: the PT question was dropped.
        (
            "ask_coverage_overview",
            "my PT does massage, is that covered? and also what about a massage for relaxation after",
            [("care_setting", "physical_therapy", "PT"), ("purpose", "relaxation", "relaxation")],
            [("coverage_overview", "conditional"), ("spa_wellness", "not_covered")],
        ),
        (
            "ask_spa_wellness",
            "is a spa massage covered? what about at my physical therapist's office?",
            [("care_setting", "spa", "spa"), ("care_setting", "physical_therapy", "physical therapist")],
            [("spa_wellness", "not_covered"), ("therapy_massage", "conditional")],
        ),
        (
            "ask_therapy_massage",
            "massage in my physical therapy is covered while I'm still improving? and what if I plateau?",
            [
                ("care_setting", "physical_therapy", "physical therapy"),
                ("stage", "improving", "still improving"),
                ("stage", "maintenance", "plateau"),
            ],
            [("therapy_massage", "conditional"), ("maintenance_care", "not_covered")],
        ),
        # Another massage named: nothing carried over from the first question.
        (
            "ask_spa_wellness",
            "would a massage for stress be covered? "
            "and how about one my PT does as part of rehab for my knee?",
            [("purpose", "relaxation", "stress"), ("care_setting", "physical_therapy", "PT")],
            [("spa_wellness", "not_covered"), ("therapy_massage", "conditional")],
        ),
        # The same massage ("it") at another place: still for relaxation.
        (
            "ask_spa_wellness",
            "would a massage for stress be covered? what about if my spa does it?",
            [("purpose", "relaxation", "stress"), ("care_setting", "spa", "spa")],
            [("spa_wellness", "not_covered")],
        ),
        # Two topics, two massages: each question its own topic and qualifier.
        (
            "ask_referral+ask_prior_authorization",
            "do I need a referral for massage in physical therapy? what about prior auth for a spa massage?",
            [
                ("care_setting", "physical_therapy", "physical therapy"),
                ("care_setting", "spa", "spa"),
                ("plan_type", "hmo"),
            ],
            [("referral", "required"), ("prior_authorization", "not_covered")],
        ),
    ],
)
def test_each_question_about_a_different_massage_gets_its_own_answer(
    intent: str, text: str, entities: List[Entity], expected: List[Tuple[str, str]]
) -> None:
    messages, slots = run(tracker(intent, text=text, entities=entities))
    assert coverages(messages) == expected
    assert [m["text"] for m in messages].count(RULES.closing) == 1
    # A follow-up ("do those need a referral?") is about the last massage asked about.
    last = next(
        value for name, value, *_ in reversed(entities) if name in ("care_setting", "purpose", "stage")
    )
    assert last in slots.values()


def test_the_same_massage_done_in_therapy_keeps_its_purpose() -> None:
    text = "is a relaxation massage covered? what about if my PT does it?"
    entities = [("purpose", "relaxation", "relaxation"), ("care_setting", "physical_therapy", "PT")]
    messages, _ = run(tracker("ask_spa_wellness", text=text, entities=entities))
    assert {outcome for _, outcome in coverages(messages)} == {"not_covered"}


@pytest.mark.parametrize(
    "text, entities",
    [
        # One massage named in one question: it decides both questions.
        ("is a spa massage covered? do I need a referral for it?", [("care_setting", "spa", "spa")]),
        ("do I need a referral? is a spa massage covered?", [("care_setting", "spa", "spa")]),
        # The same massage named twice.
        (
            "is a spa massage covered? and what about a referral for the spa?",
            [("care_setting", "spa", "spa massage"), ("care_setting", "spa", "spa?")],
        ),
    ],
)
def test_one_massage_named_decides_every_question_of_the_message(text: str, entities: List[Entity]) -> None:
    messages, _ = run(
        tracker("ask_spa_wellness+ask_referral", text=text, entities=[*entities, ("plan_type", "hmo")])
    )
    assert {outcome for _, outcome in coverages(messages)} == {"not_covered"}


@pytest.mark.parametrize(
    "text, questions",
    [
        ("is massage covered?", ["is massage covered?"]),
        (
            "my PT does massage, is that covered? and also what about a massage for relaxation after",
            ["my PT does massage, is that covered?", "and also what about a massage for relaxation after"],
        ),
        (
            "is massage covered? what about out of network?",
            ["is massage covered?", "what about out of network?"],
        ),
        ("what about out of network?", ["what about out of network?"]),
        (
            "is PT massage covered and also, how about a spa?",
            ["is PT massage covered ", "and also, how about a spa?"],
        ),
        (
            "¿cubre el masaje en un spa? y si es terapia física?",
            ["¿cubre el masaje en un spa?", "y si es terapia física?"],
        ),
        ("???", []),
    ],
)
def test_question_spans(text: str, questions: List[str]) -> None:
    assert [text[start:end] for start, end in question_spans(text)] == questions


@pytest.mark.parametrize(
    "intent, text, expected",
    [
        ("ask_visit_limits+ask_coverage_overview", "how many dollars will my plan pay for massage", []),
        ("ask_therapy_massage", "what is my copay for a massage in physical therapy", []),
        ("ask_coverage_overview", "does massage count toward my deductible?", []),
        ("ask_therapy_massage", "cuanto me toca pagar por el masaje en terapia fisica", []),
        (
            "ask_coverage_overview+ask_referral",
            "is massage covered? and what's the copay? do I need a referral?",
            [("coverage_overview", "conditional"), ("referral", "required")],
        ),
        # Not amounts: the coverage question stands.
        (
            "ask_coverage_overview",
            "does my plan cover the cost of massage therapy?",
            [("coverage_overview", "conditional")],
        ),
        (
            "ask_visit_limits",
            "how much massage therapy do I get a year",
            [("visit_limits", "depends_on_plan")],
        ),
    ],
)
def test_amounts_of_money_get_no_coverage_answer(
    intent: str, text: str, expected: List[Tuple[str, str]]
) -> None:
    messages, _ = run(tracker(intent, text=text, entities=[("plan_type", "hmo")]))
    assert coverages(messages) == expected
    account = [m for m in messages if m.get("response") == "utter_account_question"]
    assert len(account) == (0 if "cost of" in text or "how much massage" in text else 1)


@pytest.mark.parametrize(
    "text, runner_up, expected",
    [
        # The second question has words of its own: NLU's runner-up multi-intent is taken.
        (
            "necesito referido para un masaje en la fisio y cuantos me dan?",
            "ask_referral+ask_visit_limits",
            ["referral", "visit_limits"],
        ),
        (
            "do I need a referral for pt, and what is the visit limit",
            "ask_referral+ask_visit_limits",
            ["referral", "visit_limits"],
        ),
        # No words for it, or only "covered": one question.
        ("do I need a referral for pt on my hmo", "ask_referral+ask_visit_limits", ["referral"]),
        ("do I need a referral, and is it covered", "ask_coverage_overview+ask_referral", ["referral"]),
    ],
)
def test_a_second_question_nlu_ranked_next_is_answered_when_it_has_words(
    text: str, runner_up: str, expected: List[str]
) -> None:
    t = tracker("ask_referral", text=text, entities=[("plan_type", "hmo")])
    t.latest_message["intent_ranking"] = [
        {"name": "ask_referral", "confidence": 0.7},
        {"name": runner_up, "confidence": 0.1},
    ]
    assert [topic for topic, _ in coverages(run(t)[0])] == expected


STORY = (
    "My son tore a ligament at basketball and his physical therapist does massage at each visit. "
    "We are on a Texas PPO through my job. {question}"
)


@pytest.mark.parametrize(
    "question, ranking, expected",
    [
        # The story's therapy words won; the question sentence asks a runner-up.
        (
            "How many of these visits will they cover?",
            ["ask_therapy_massage", "ask_visit_limits"],
            "visit_limits",
        ),
        ("Does he need a referral first?", ["ask_therapy_massage", "ask_referral"], "referral"),
        # The question sentence has words for NLU's question: it stands.
        (
            "Will the massage part of his therapy be covered?",
            ["ask_therapy_massage", "ask_visit_limits"],
            "therapy_massage",
        ),
        # Plan context read as `inform`: the best-ranked question.
        ("What now?", ["inform", "ask_therapy_massage"], "therapy_massage"),
    ],
)
def test_a_long_storys_question_sentence_decides_between_nlus_guesses(
    question: str, ranking: List[str], expected: str
) -> None:
    t = tracker(
        ranking[0], text=STORY.format(question=question), entities=[("state", "TX"), ("plan_type", "ppo")]
    )
    t.latest_message["intent_ranking"] = [{"name": name, "confidence": 0.5} for name in ranking]
    assert [topic for topic, _ in coverages(run(t)[0])] == [expected]


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
        # "cover" as the verb of another topic's question is not a second question.
        (
            ["coverage_overview", "visit_limits"],
            "the physical therapist does massage. How many of these sessions will the plan cover?",
            ["visit_limits"],
        ),
        (
            ["coverage_overview", "prior_authorization"],
            "does the massage need prior approval before they cover it",
            ["prior_authorization"],
        ),
        (
            ["coverage_overview", "visit_limits"],
            "will the plan cover massage and how many sessions",
            ["coverage_overview", "visit_limits"],
        ),
        (
            ["coverage_overview", "referral"],
            "cubren la terapia de masaje y se necesita referido con mi ppo?",
            ["coverage_overview", "referral"],
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


@pytest.mark.parametrize(
    "text, entities",
    [
        (
            "I used to have Cigna but now I have BCBSTX HMO. do I need a referral?",
            [("insurer", "!cigna"), ("state", "TX"), ("plan_type", "hmo")],
        ),
        (
            "switched from aetna to an hmo, do I need a referral?",
            [("insurer", "!aetna"), ("plan_type", "hmo")],
        ),
    ],
)
def test_an_insurer_the_member_no_longer_has_is_not_their_plan(text: str, entities: List[Entity]) -> None:
    # Rasa fills the insurer slot from the entity, denied or not.
    t = tracker("ask_referral", text=text, entities=entities, slots={"insurer": entities[0][1].lstrip("!")})
    messages, slots = run(t)
    assert coverages(messages) == [("referral", "required")]
    assert slots["insurer"] is None


def test_an_hcsc_plan_named_beside_another_insurer_is_answered_and_ends_the_other() -> None:
    # "I have cigna and bcbstx, is massage covered?" on BCBSTX's member portal,
    # then a question naming neither: both answered for the HCSC plan.
    first = tracker(
        "ask_coverage_overview",
        text="I have cigna and bcbstx, is massage covered?",
        entities=[("insurer", "cigna"), ("state", "TX")],
        metadata={"state": "TX", "plan_type": "hmo"},
    )
    first.latest_message["entities"][1]["hcsc_plan"] = True
    messages, slots = run(first)
    assert coverages(messages) == [("coverage_overview", "conditional")]
    assert RULES.prompts["other_plan_too"] in [m.get("text") for m in messages]
    assert messages[-1]["text"] == RULES.closing
    assert slots["insurer"] is None
    later = tracker(
        "ask_referral",
        text="do I need a referral?",
        slots={"state": "TX", "plan_type": "hmo", "portal_context": "TX|hmo"},
        metadata={"state": "TX", "plan_type": "hmo"},
    )
    assert coverages(run(later)[0]) == [("referral", "required")]


def test_a_plan_in_another_state_gets_no_hcsc_rules_unless_an_hcsc_plan_is_named() -> None:
    # "I have bcbs, I live in Georgia. is massage in PT covered?"
    t = tracker(
        "ask_therapy_massage", entities=[("insurer", "out_of_area"), ("care_setting", "physical_therapy")]
    )
    assert coverages(run(t)[0]) == [("non_hcsc_plan", "not_applicable")]
    # "I live in georgia but have BCBSIL through my employer": BCBSIL, and no "other plan" line.
    named = tracker("ask_therapy_massage", entities=[("insurer", "out_of_area"), ("state", "IL")])
    named.latest_message["entities"][1]["hcsc_plan"] = True
    messages, slots = run(named)
    assert coverages(messages) == [("therapy_massage", "conditional")]
    assert RULES.prompts["other_plan_too"] not in [m.get("text") for m in messages]
    assert slots["insurer"] is None


def test_an_insurer_the_member_has_still_gets_no_hcsc_rules_next_to_a_state() -> None:
    # "I live in Texas and have Aetna": a state is where the member lives, not an HCSC plan.
    t = tracker("ask_referral", entities=[("state", "TX"), ("insurer", "aetna")])
    messages, slots = run(t)
    assert coverages(messages) == [("non_hcsc_plan", "not_applicable")]
    assert slots["insurer"] == "aetna"


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
