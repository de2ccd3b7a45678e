"""What tests look for in replies, taken from the rules data, never retyped."""

from typing import Any, Dict, List

from plan_coverage.engine import load_rules

# The ID-card line that closes every answer (plan_coverage/rules.yml, `phrases`).
ID_CARD = load_rules().phrases["id_card"]

# What closes an answer for a member of another insurer (rules.yml, non_hcsc_plan).
OTHER_INSURER_CLOSING = str(load_rules().rule("non_hcsc_plan.general").closing)


def ends_with_a_closing_line(reply: List[Dict[str, Any]]) -> bool:
    """True once a reply ends with the ID-card line, or with the other-insurer
    closing a member of another insurer gets instead."""
    last = reply[-1].get("text", "") if reply else ""
    return ID_CARD in last or OTHER_INSURER_CLOSING in last


# The keys of every coverage payload (`custom.coverage`): the channels' contract.
COVERAGE_PAYLOAD_KEYS = frozenset(
    {"topic", "outcome", "state", "plan_type", "qualifiers", "decided_by", "rules", "citations", "language"}
)
