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
) -> Tracker:
    """trackers/new_question.json with another intent, entities, slots or metadata.

    As Rasa does before calling the action, slots are already filled from this
    message's state, plan type and insurer entities.
    """
    state = copy.deepcopy(_tracker_state("new_question"))
    entities = entities or {}
    state["slots"].update(slots or {})
    for name in SLOT_ENTITIES:
        if entities.get(name):
            state["slots"][name] = entities[name][0]
    state["latest_message"].update(
        intent={"name": intent, "confidence": 0.99},
        entities=[
            {"entity": name, "value": value, "extractor": "RulerEntityExtractor"}
            for name, values in entities.items()
            for value in values
        ],
        metadata=metadata or {},
    )
    return Tracker.from_dict(state)
