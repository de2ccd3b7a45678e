"""Custom action: a thin adapter from the Rasa tracker to the coverage domain.

It reads the tracker (intent, this message's entities, slots, portal
metadata), asks `plan_coverage` for the answers and sends the messages
`plan_coverage.replies` builds. No coverage logic lives here.
"""

from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from plan_coverage.engine import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    CoverageAnswer,
    CoverageRules,
    PlanContext,
    load_rules,
)
from plan_coverage.followups import order_as_asked, refers_back
from plan_coverage.replies import (
    NOT_UNDERSTOOD_RESPONSE,
    TOPIC_SEPARATOR,
    Message,
    answers_messages,
    context_noted_messages,
    topics_for_intent,
)

# Entities that tell the assistant about the member's plan.
CONTEXT_ENTITIES = {"state", "plan_type", "insurer"}
# Qualifier entities (and their slots, same names) -> the engine's context keys.
QUALIFIER_ENTITIES = {"care_setting": "setting", "purpose": "purpose", "stage": "stage"}
# Of several values of one qualifier in one message, the first listed here
# decides: a spa, massage clinic or wellness center is never a therapy
# setting ("massage at a spa as part of my PT benefits" is a spa massage), but
# "a massage therapist at my PT clinic" is therapy; relaxation is not covered
# only "without a qualifying medical diagnosis"; "I was improving but now it
# has plateaued" is maintenance.
PREFERRED = {
    "care_setting": ("spa", "massage_clinic", "wellness_center", "physical_therapy"),
    "purpose": ("medical",),
    "stage": ("maintenance",),
}
# Set by RulerEntityExtractor (nlu_components/entity_value_normalizer.py) on a
# qualifier the member denies ("not at a spa").
NEGATED = "negated"
PORTAL_SLOT = "portal_context"
FALLBACK_INTENT = "nlu_fallback"
INFORM_INTENT = "inform"
# Plan context alone is short ("my plan is through my employer in oklahoma, ppo").
INFORM_MAX_WORDS = 15
# The conversation's language (domain.yml; set from nlu_components/language_detector.py).
LANGUAGE_SLOT = "language"


class ActionAnswerCoverage(Action):
    """Answers the member's coverage question(s) for their plan context."""

    def name(self) -> Text:
        return "action_answer_coverage"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        rules = load_rules(language=answer_language(tracker))
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = str(tracker.latest_message.get("text") or "")
        intent = question_in_a_story(tracker, intent, text, rules)
        asked = order_as_asked(topics_for_intent(intent, rules), text)
        pending = [t for t in (tracker.get_slot("topic") or "").split(TOPIC_SEPARATOR) if t in rules.topics]
        topics = asked or pending
        entities = latest_entities(tracker)
        said = entities.keys() | denied_entities(tracker)
        if intent == FALLBACK_INTENT:
            if "insurer" not in entities:
                dispatcher.utter_message(response=NOT_UNDERSTOOD_RESPONSE)
                return []
            # Not understood, but another insurer is named: HCSC's rules are not theirs.
            insurer = entities["insurer"][0]
            answer = rules.answer("coverage_overview", PlanContext(insurer=insurer))
            send(dispatcher, answers_messages(rules, [answer]))
            return [SlotSet("insurer", insurer)]
        if not asked and not (CONTEXT_ENTITIES | QUALIFIER_ENTITIES.keys()) & said:
            # "inform" without any plan context is a guess at a short or odd
            # message ("hmm"): say so rather than repeat the last answer.
            dispatcher.utter_message(response=NOT_UNDERSTOOD_RESPONSE)
            return []
        context = rules.clean_context(plan_context(tracker, is_new_question=bool(asked)))
        events: List[EventType] = [
            SlotSet(key, context.get(key)) for key in ("state", "plan_type", "insurer")
        ]
        events.append(SlotSet(PORTAL_SLOT, portal_key(tracker) or tracker.get_slot(PORTAL_SLOT)))

        if not topics and context.insurer is None:
            # Plan context alone, and nothing asked yet: note it, ask what they want.
            send(dispatcher, context_noted_messages(rules, context))
            return events

        answers = answer_all(rules, topics or ["coverage_overview"], context)
        send(dispatcher, answers_messages(rules, answers))
        return events + [
            SlotSet("topic", TOPIC_SEPARATOR.join(topics) or None),
            *(SlotSet(slot, context.get(key)) for slot, key in QUALIFIER_ENTITIES.items()),
        ]


def answer_language(tracker: Tracker) -> Text:
    """The language to answer in: the conversation's (slot `language`), English when unset."""
    language = tracker.get_slot(LANGUAGE_SLOT)
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def question_in_a_story(tracker: Tracker, intent: Text, text: Text, rules: CoverageRules) -> Text:
    """A long story with a question in it is not plan context alone: when NLU read it as
    `inform`, the best-ranked coverage question is what the member asks."""
    if intent != INFORM_INTENT or len(text.split()) <= INFORM_MAX_WORDS or "?" not in text:
        return intent
    ranking = tracker.latest_message.get("intent_ranking") or []
    questions = [str(i.get("name")) for i in ranking if topics_for_intent(str(i.get("name") or ""), rules)]
    return questions[0] if questions else intent


def answer_all(rules: CoverageRules, topics: Sequence[str], context: PlanContext) -> List[CoverageAnswer]:
    """One answer per topic asked, in order; an answer given twice is given once."""
    answers: List[CoverageAnswer] = []
    for topic in topics:
        answer = rules.answer(topic, context)
        if all((a.topic, a.text) != (answer.topic, answer.text) for a in answers):
            answers.append(answer)
    return answers


def send(dispatcher: CollectingDispatcher, messages: List[Message]) -> None:
    """Hand plain message dicts to rasa_sdk's dispatcher, in order."""
    for message in messages:
        dispatcher.utter_message(
            text=message.get("text"),
            buttons=message.get("buttons") or [],
            json_message=message.get("custom"),
        )


def plan_context(tracker: Tracker, is_new_question: bool) -> PlanContext:
    """The member's plan context for this turn.

    Slots already hold what the member said (Rasa fills them from entities).
    Metadata from a member portal fills what the member has not said, and
    replaces the plan context when it changes (the member switched plan or
    account). Naming an HCSC plan ends an earlier "I have Aetna".
    Qualifiers (care setting, purpose, stage) belong to the question they
    were asked with; a follow-up that refers back ("those", "what about...")
    keeps them, and a qualifier the member denies is dropped.
    """
    entities = latest_entities(tracker)
    portal = portal_plan(tracker)
    state = tracker.get_slot("state")
    plan_type = tracker.get_slot("plan_type")
    insurer = tracker.get_slot("insurer")
    seen = tracker.get_slot(PORTAL_SLOT)
    if portal and seen and portal_key(tracker) != seen:
        # The portal now sends another plan: it replaces the old one, except
        # for what the member says in this very message.
        state = state if "state" in entities else portal.get("state")
        plan_type = plan_type if "plan_type" in entities else portal.get("plan_type")
        insurer = insurer if "insurer" in entities else None
    else:
        state = state or portal.get("state")
        plan_type = plan_type or portal.get("plan_type")
    if "state" in entities and "insurer" not in entities:
        insurer = None
    qualifiers = question_qualifiers(tracker, is_new_question)
    return PlanContext(state=state, plan_type=plan_type, insurer=insurer, **qualifiers)


def question_qualifiers(tracker: Tracker, is_new_question: bool) -> Dict[str, Optional[str]]:
    """The care setting, purpose and stage this question is about (context keys)."""
    entities = latest_entities(tracker)
    denied = denied_entities(tracker)
    keep_previous = not is_new_question or refers_back(str(tracker.latest_message.get("text") or ""))
    values: Dict[str, Optional[str]] = {}
    for entity, key in QUALIFIER_ENTITIES.items():
        named = entities.get(entity, [])
        if named:
            values[key] = next((v for v in PREFERRED[entity] if v in named), named[0])
        elif entity in denied or not keep_previous:
            values[key] = None
        else:
            values[key] = tracker.get_slot(entity)
    return values


def latest_entities(tracker: Tracker) -> Dict[Text, List[Text]]:
    """Entity values of the latest message, by entity name, in message order; denied ones left out."""
    values: Dict[Text, List[Text]] = {}
    for entity in tracker.latest_message.get("entities") or []:
        if not entity.get(NEGATED):
            values.setdefault(entity["entity"], []).append(str(entity.get("value")))
    return values


def denied_entities(tracker: Tracker) -> set:
    """Names of the entities the member denied in the latest message ("not at a spa")."""
    return {e["entity"] for e in tracker.latest_message.get("entities") or [] if e.get(NEGATED)}


def portal_plan(tracker: Tracker) -> Dict[Text, Text]:
    """The plan context a member portal sent with this message, cleaned."""
    metadata = tracker.latest_message.get("metadata") or {}
    values = {
        "state": _clean(metadata.get("state"), str.upper),
        "plan_type": _clean(metadata.get("plan_type"), str.lower),
    }
    return {key: value for key, value in values.items() if value}


def portal_key(tracker: Tracker) -> Optional[Text]:
    """The portal's plan as one slot value ("TX|hmo"), to see when it changes; None without one."""
    portal = portal_plan(tracker)
    return f"{portal.get('state', '')}|{portal.get('plan_type', '')}" if portal else None


def _clean(value: Any, normalise: Any) -> Optional[Text]:
    # Metadata comes from a web page: accept short strings only; the engine
    # drops any value it does not know.
    if isinstance(value, str) and 0 < len(value) <= 40:
        return str(normalise(value.strip()))
    return None
