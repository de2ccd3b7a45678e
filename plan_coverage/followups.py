"""Follow-ups and several questions in one message. Pure Python, no Rasa imports.

Does a question refer back to the one before it?

"ok and would my HMO need a referral for those?", "what about out of
network?", "is that covered?" keep the previous question's qualifiers (a spa,
a relaxation or a maintenance massage); a new question that names none and
refers to nothing starts clean.
"""

import re
from typing import Dict, List, Optional, Sequence

# Words and phrases that point back to what was just discussed.
REFERRING = (
    "that",
    "those",
    "it",
    "them",
    "they",
    "this",
    "these",
    "same",
    "what about",
    "how about",
    "and for",
    "and if",
    "what if",
    "and what",
    "also",
)
_REFERRING_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in REFERRING) + r")\b", re.IGNORECASE)


def refers_back(text: str) -> bool:
    """True when the message points back to the previous question."""
    return bool(_REFERRING_RE.search(text or ""))


# Words that show where in a message a topic is asked about, to answer two
# questions in the order asked: Rasa's multi-intent label ("ask_referral+
# ask_visit_limits") is the same for both orders.
TOPIC_CUES: Dict[str, str] = {
    "referral": r"referr|refer\b",
    "visit_limits": r"how many|limit|\bcap\b|\bmax|per year|a year|sessions|visits",
    "billing_codes": r"\bcode|97124|97140|\bbill",
    "prior_authorization": r"prior|pre-?auth|pre-?approv|approv|authori[sz]|pre-?cert",
    "preauth_steps": r"steps|how do i get|submit",
    "out_of_network": r"out of network|out-of-network|\boon\b|not in (?:my )?network",
    "documentation": r"document|notes|chart|records",
    "coverage_overview": r"cover|pay for|paid",
    "therapy_massage": r"physical therap|\bpt\b|rehab|physio",
}


def first_cue(topic: str, text: str) -> Optional[int]:
    """Where the message first asks about `topic`, or None."""
    cue = TOPIC_CUES.get(topic)
    match = re.search(cue, text, re.IGNORECASE) if cue else None
    return match.start() if match else None


def order_as_asked(topics: Sequence[str], text: str) -> List[str]:
    """The topics in the order the message asks them; as given when that cannot be told."""
    positions = [first_cue(topic, text) for topic in topics]
    if len(topics) < 2 or any(p is None for p in positions):
        return list(topics)
    return [topic for _, topic in sorted(zip(positions, topics, strict=True), key=lambda pair: pair[0] or 0)]
