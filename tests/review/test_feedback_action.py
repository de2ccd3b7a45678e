"""The feedback commands and the action that records them, with rasa_sdk's
own Tracker and CollectingDispatcher (the real servers: test_review_e2e.py)."""

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.action_record_feedback import ActionRecordFeedback
from channels.member_input import prepare_member_text
from plan_coverage.engine import PlanContext, load_rules
from plan_coverage.feedback import (
    FEEDBACK_SLOT,
    HELPFUL,
    REASONS,
    THANKS,
    feedback_payload,
    feedback_payloads,
)
from plan_coverage.replies import offered_payloads

RULES = load_rules()


def rating_tracker(value: str, coverages: List[Dict[str, Any]]) -> Tracker:
    events: List[Dict[str, Any]] = [{"event": "action", "name": "action_listen"}]
    for coverage in coverages:
        events += [
            {"event": "user", "text": "a question"},
            {"event": "bot", "text": "An answer.", "data": {}},
            {"event": "bot", "text": None, "data": {"custom": {"coverage": coverage}}},
            {"event": "bot", "text": "The ID-card line.", "data": {}},
        ]
    message = {
        "text": feedback_payload(value) if value in (HELPFUL, *REASONS) else value,
        "intent": {"name": "inform", "confidence": 1.0},
        "entities": [{"entity": "feedback", "value": value}],
    }
    events.append({"event": "user", **message})
    slots = {"state": "TX", "plan_type": "hmo", "topic": "referral", "care_setting": None, "insurer": None}
    return Tracker("member-1", slots, message, events, False, None, {}, "action_listen")


def run(tracker: Tracker) -> "tuple[List[Dict[str, Any]], List[Dict[str, Any]]]":
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionRecordFeedback().run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def payload(topic: str, context: PlanContext) -> Dict[str, Any]:
    return dict(RULES.answer(topic, context).payload()["coverage"])


def test_a_reason_is_kept_with_the_latest_answers_rule_ids() -> None:
    older = payload("spa_wellness", PlanContext(state="TX", plan_type="hmo", setting="spa"))
    latest = payload("referral", PlanContext(state="TX", plan_type="hmo"))
    messages, events = run(rating_tracker("wrong_plan", [older, latest]))
    assert [m["text"] for m in messages] == [THANKS]
    [event] = events
    assert (event["event"], event["name"]) == ("slot", FEEDBACK_SLOT)
    assert event["value"] == {
        "helpful": False,
        "reason": "wrong_plan",
        "topic": "referral",
        "outcome": latest["outcome"],
        "state": "TX",
        "plan_type": "hmo",
        "rules": latest["rules"],
    }


@pytest.mark.parametrize("value", [HELPFUL, "did_not_answer"])
def test_a_rating_before_any_answer_is_thanked_not_recorded(value: str) -> None:
    # Nothing has been answered yet, so there is nothing to rate: no rating
    # with empty rule ids (and no topic "None") reaches the tracker store.
    messages, events = run(rating_tracker(value, []))
    assert [m["text"] for m in messages] == [THANKS]
    assert events == []


@pytest.mark.parametrize("value", [None, "terrible"])
def test_an_unknown_value_is_not_a_reason(value: Optional[str]) -> None:
    answer = payload("referral", PlanContext(state="TX", plan_type="hmo"))
    _, [event] = run(rating_tracker(str(value), [answer]))
    assert event["value"]["helpful"] is False and event["value"]["reason"] is None


def test_the_member_channels_accept_exactly_these_feedback_commands() -> None:
    offered = offered_payloads(RULES)
    assert feedback_payloads() <= offered
    assert len(feedback_payloads()) == 1 + len(REASONS)
    for command in feedback_payloads():
        assert prepare_member_text(command, offered).text == command
    forged = '/inform{"feedback": "terrible"}'
    # An unoffered command becomes plain words, without its entities.
    assert prepare_member_text(forged, offered).text == "inform"
    with pytest.raises(ValueError):
        feedback_payload("terrible")
