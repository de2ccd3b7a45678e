"""Custom action: a thin adapter from the Rasa tracker to the coverage domain.

It reads the tracker (intent, this message's entities, slots, portal
metadata), asks `plan_coverage` for the answer and sends the messages
`plan_coverage.replies` builds. No coverage logic lives here.
"""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from plan_coverage.engine import PlanContext, load_rules
from plan_coverage.replies import (
    NOT_UNDERSTOOD_RESPONSE,
    Message,
    answer_messages,
    context_noted_messages,
    topic_for_intent,
)

# Of several care settings in one message, physical therapy decides: "a massage
# therapist at my PT clinic" is therapy, not a stand-alone massage.
THERAPY_SETTING = "physical_therapy"
# Entities that tell the assistant about the member's plan.
CONTEXT_ENTITIES = {"state", "plan_type", "insurer"}


class ActionAnswerCoverage(Action):
    """Answers the member's coverage question for their plan context."""

    def name(self) -> Text:
        return "action_answer_coverage"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        rules = load_rules()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        asked_topic = topic_for_intent(intent, rules)
        topic = asked_topic or tracker.get_slot("topic")
        entities = latest_entities(tracker)
        if asked_topic is None and not CONTEXT_ENTITIES & entities.keys():
            # "inform" without any plan context is a guess at a short or odd
            # message ("hmm"): say so rather than repeat the last answer.
            dispatcher.utter_message(response=NOT_UNDERSTOOD_RESPONSE)
            return []
        context = rules.clean_context(plan_context(tracker, is_new_question=asked_topic is not None))
        context_events = [SlotSet(key, context.get(key)) for key in ("state", "plan_type", "insurer")]

        if topic is None and context.insurer is None:
            # Plan context alone, and nothing asked yet: note it, ask what they want.
            send(dispatcher, context_noted_messages(rules, context))
            return context_events

        answer = rules.answer(topic or "coverage_overview", context)
        send(dispatcher, answer_messages(rules, answer))
        return context_events + [
            SlotSet("topic", topic),
            SlotSet("care_setting", context.setting),
        ]


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
    Metadata from a member portal fills what the member has not said. Naming
    an HCSC plan ends an earlier "I have Aetna". A care setting belongs to the
    question it was asked with.
    """
    entities = latest_entities(tracker)
    metadata = tracker.latest_message.get("metadata") or {}
    state = tracker.get_slot("state") or _clean(metadata.get("state"), str.upper)
    plan_type = tracker.get_slot("plan_type") or _clean(metadata.get("plan_type"), str.lower)
    insurer = tracker.get_slot("insurer")
    if "state" in entities and "insurer" not in entities:
        insurer = None
    if is_new_question:
        settings = entities.get("care_setting", [])
        setting = THERAPY_SETTING if THERAPY_SETTING in settings else next(iter(settings), None)
    else:
        setting = tracker.get_slot("care_setting")
    return PlanContext(state=state, plan_type=plan_type, setting=setting, insurer=insurer)


def latest_entities(tracker: Tracker) -> Dict[Text, List[Text]]:
    """Entity values of the latest message, by entity name, in message order."""
    values: Dict[Text, List[Text]] = {}
    for entity in tracker.latest_message.get("entities") or []:
        values.setdefault(entity["entity"], []).append(str(entity.get("value")))
    return values


def _clean(value: Any, normalise: Any) -> Optional[Text]:
    # Metadata comes from a web page: accept short strings only; the engine
    # drops any value it does not know.
    if isinstance(value, str) and 0 < len(value) <= 40:
        return str(normalise(value.strip()))
    return None
