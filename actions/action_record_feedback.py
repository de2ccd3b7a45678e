"""Custom action: record a member's rating of the last coverage answer.

The rating arrives as one of the feedback commands `plan_coverage.feedback`
defines (the widget's "Was this helpful?" buttons). The action finds the
coverage payload of the latest answer in the tracker, keeps the rating with
that answer's rule ids in the slot `answer_rating` (a SlotSet event in the
tracker store, read by `make review`) and thanks the member in one line; a
rating sent before any coverage answer is thanked but not recorded. It
never sets the plan-context slots (state, plan_type, topic, care_setting), so
the next question is answered as before.
"""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.action_answer_coverage import answer_language
from plan_coverage.feedback import (
    FEEDBACK_ACTION,
    FEEDBACK_ENTITY,
    FEEDBACK_SLOT,
    THANKS_BY_LANGUAGE,
    feedback_record,
)


class ActionRecordFeedback(Action):
    """Keeps the member's rating with the rule ids of the answer it rates."""

    def name(self) -> Text:
        return FEEDBACK_ACTION

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        value = next(
            (
                entity.get("value")
                for entity in tracker.latest_message.get("entities") or []
                if entity.get("entity") == FEEDBACK_ENTITY
            ),
            None,
        )
        dispatcher.utter_message(text=THANKS_BY_LANGUAGE[answer_language(tracker)])
        coverage = last_coverage(tracker.events)
        if coverage is None:
            # Nothing answered yet: there is no answer to rate, so no rating.
            return []
        return [SlotSet(FEEDBACK_SLOT, feedback_record(value, coverage))]


def last_coverage(events: List[Dict[Text, Any]]) -> Optional[Dict[Text, Any]]:
    """The coverage payload of the latest coverage answer among the events, if any."""
    for event in reversed(events):
        if event.get("event") != "bot":
            continue
        custom = (event.get("data") or {}).get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("coverage"), dict):
            return dict(custom["coverage"])
    return None
