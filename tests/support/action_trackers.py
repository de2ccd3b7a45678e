"""Trackers for the action tests, as Rasa sends them to the action server:
small JSON files in tests/actions/trackers/, read with rasa_sdk's own `Tracker.from_dict`."""

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

TRACKERS_DIR = Path(__file__).resolve().parents[1] / "actions" / "trackers"
# Entities that Rasa maps to slots of the same name before the action runs.
SLOT_ENTITIES = ("state", "plan_type", "insurer")


@lru_cache(maxsize=None)
def _tracker_state(name: str) -> Dict[str, Any]:
    return json.loads((TRACKERS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def tracker_from_file(name: str) -> Tracker:
    """The tracker stored in trackers/<name>.json."""
    return Tracker.from_dict(copy.deepcopy(_tracker_state(name)))


def make_tracker(
    intent: str,
    entities: Optional[Dict[str, List[str]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    metadata: Optional[Dict[str, Any]] = None,
    denied: Optional[Dict[str, List[str]]] = None,
    earlier: Optional[Dict[str, Any]] = None,
) -> Tracker:
    """trackers/new_question.json with another intent, entities, slots or metadata.

    `denied` entities come after the others, marked negated as the spaCy
    pipeline marks a plan left ("I used to have BCBSTX"). `earlier` slot
    values were set before this message (slot events before it). As Rasa does
    before calling the action, slots are then filled from this message's
    state, plan type and insurer entities, denied ones too: from the last one.
    """
    state = copy.deepcopy(_tracker_state("new_question"))
    entities = entities or {}
    denied = denied or {}
    state["slots"].update(earlier or {})
    state["slots"].update(slots or {})
    user_at = next(i for i, event in enumerate(state["events"]) if event["event"] == "user")
    state["events"][user_at:user_at] = [
        {"event": "slot", "name": name, "value": value} for name, value in (earlier or {}).items()
    ]
    for name in SLOT_ENTITIES:
        # Rasa fills a slot from the last entity value, denied or not.
        values = entities.get(name, []) + denied.get(name, [])
        if values:
            state["slots"][name] = values[-1]
    state["latest_message"].update(
        intent={"name": intent, "confidence": 0.99},
        entities=[
            {"entity": name, "value": value, "extractor": "RulerEntityExtractor"}
            for name, values in entities.items()
            for value in values
        ]
        + [
            {"entity": name, "value": value, "extractor": "RulerEntityExtractor", "negated": True}
            for name, values in denied.items()
            for value in values
        ],
        metadata=metadata or {},
    )
    return Tracker.from_dict(state)
