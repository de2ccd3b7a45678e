"""Members' feedback on coverage answers: the payloads the widget offers and
the record kept in the tracker store.

Under each coverage answer the widget asks "Was this helpful?" (Yes / No) and,
after "No", offers three reasons. Each choice is sent as one of the fixed
command payloads below, so the member channels accept exactly these and no
free text can carry personal details. The coverage action's sibling
(`actions/action_record_feedback.py`) records the choice with the rule ids of
the answer it rates, in the slot `answer_rating` (a SlotSet event in the
tracker store; the plan-context slots are never touched), and thanks the
member in one short line. `tools/review.py` reads those events.

Pure Python, no Rasa imports.
"""

from typing import Any, Dict, FrozenSet, List, Mapping, Optional

# Ratings ride on the existing `inform` intent with the entity `feedback`: a
# new intent, even one never typed, would change the trained classifier (every
# intent in the domain is one of its labels). data/feedback.yml's rule for
# `inform` with a `feedback` entity is longer than the plain `inform` rule, so
# RulePolicy picks it.
FEEDBACK_INTENT = "inform"
FEEDBACK_ENTITY = "feedback"
FEEDBACK_SLOT = "answer_rating"
FEEDBACK_ACTION = "action_record_feedback"

HELPFUL = "helpful"
# The reasons a member can give after "No", in the order the widget shows them.
REASONS: Mapping[str, str] = {
    "did_not_answer": "Did not answer my question",
    "hard_to_understand": "Hard to understand",
    "wrong_plan": "Not right for my plan",
}
# "did not answer my question" puts the question among the unanswered ones.
DID_NOT_ANSWER = "did_not_answer"
THANKS = "Thanks for your feedback."
# The same line in each language the assistant answers in (plan_coverage.engine.LANGUAGES).
THANKS_BY_LANGUAGE: Mapping[str, str] = {"en": THANKS, "es": "Gracias por su opinión."}


def feedback_payload(value: str) -> str:
    """The command the widget sends for one choice ("helpful" or a reason)."""
    if value != HELPFUL and value not in REASONS:
        raise ValueError(f"unknown feedback value: {value}")
    return f'/{FEEDBACK_INTENT}{{"{FEEDBACK_ENTITY}": "{value}"}}'


def feedback_payloads() -> FrozenSet[str]:
    """Every feedback command a member may send."""
    return frozenset(feedback_payload(value) for value in (HELPFUL, *REASONS))


def feedback_record(value: Optional[str], coverage: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """What is kept of one rating: helpful or not, the reason, and the rated answer.

    `coverage` is the coverage payload of the answer being rated (None when the
    conversation has no coverage answer yet). Nothing the member typed is kept.
    """
    reason = value if value in REASONS else None
    answer = dict(coverage or {})
    rules: List[str] = [str(rule) for rule in answer.get("rules") or []]
    return {
        "helpful": value == HELPFUL,
        "reason": reason,
        "topic": answer.get("topic"),
        "outcome": answer.get("outcome"),
        "state": answer.get("state"),
        "plan_type": answer.get("plan_type"),
        "rules": rules,
    }


def is_feedback_value(value: Any) -> bool:
    """True for "helpful" or one of the reasons."""
    return value == HELPFUL or value in REASONS
