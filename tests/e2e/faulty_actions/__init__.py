"""Test-only actions for a real rasa_sdk action server that fails on purpose.

`action_answer_coverage` fails the way the environment variable FAULT says:
- `slow`: answers only after FAULT_SLEEP_S (default 30) seconds, far beyond
  the Rasa server's action timeout in the tests;
- `raise`: raises, so rasa_sdk answers HTTP 500 with the whole request
  (the conversation) in the body;
- `invalid`: returns an event Rasa's response schema refuses, with the
  member's own words as a slot value.
Used by tests/e2e/test_action_faults.py with `--actions tests.e2e.faulty_actions`.
"""

import asyncio
import os
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

FAULTS = ("slow", "raise", "invalid")


class FaultyAnswerCoverage(Action):
    """Stands in for the real coverage action and fails."""

    def name(self) -> Text:
        return "action_answer_coverage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        fault = os.environ.get("FAULT", "")
        if fault == "slow":
            # Asynchronous, so the server stays free for its other requests.
            await asyncio.sleep(float(os.environ.get("FAULT_SLEEP_S", "30")))
            dispatcher.utter_message(text="This answer comes too late.")
            return []
        if fault == "invalid":
            # A slot event with a timestamp that is not a number: Rasa's schema refuses it.
            member_text = tracker.latest_message.get("text")
            return [{"event": "slot", "name": "topic", "value": member_text, "timestamp": "not a number"}]
        raise RuntimeError(f"injected fault {fault!r}")
