"""Follow-ups and several questions in one message. Pure Python, no Rasa imports.

Does a question refer back to the one before it?

"ok and would my HMO need a referral for those?", "what about out of
network?", "is that covered?" keep the previous question's qualifiers (a spa,
a relaxation or a maintenance massage); a new question that names none and
refers to nothing starts clean.
"""

import re
from typing import Dict, List, Optional, Sequence

# Words and phrases that point back to what was just discussed. Not "they":
# in "will they still pay" it is the plan, not the massage.
REFERRING = (
    "that",
    "those",
    "it",
    "them",
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
    # Spanish ("y fuera de la red?" alone starts clean, as "out of network?" does)
    "eso",
    "esos",
    "esas",
    "esa",
    "esto",
    "estos",
    "lo mismo",
    "y si",
    "y para",
    "y que",
    "que tal",
    "tambien",
    "también",
)
_REFERRING_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in REFERRING) + r")\b", re.IGNORECASE)


def refers_back(text: str) -> bool:
    """True when the message points back to the previous question."""
    return bool(_REFERRING_RE.search(text or ""))


# Words that show where in a message a topic is asked about, to answer two
# questions in the order asked: Rasa's multi-intent label ("ask_referral+
# ask_visit_limits") is the same for both orders.
TOPIC_CUES: Dict[str, str] = {
    "referral": r"referr|refer\b|referid|referencia",
    "visit_limits": r"how many|limit|l[ií]mite|\bcap\b|\bmax|m[aá]ximo|per year|a year|al a[nñ]o|por a[nñ]o"
    r"|sessions|sesiones|visits|visitas|cu[aá]nt[oa]s",
    "billing_codes": r"\bcodes?\b|c[oó]digo|97124|97140|\bbill(?:ed|ing|s)?\b|factur",
    "prior_authorization": r"prior|pre-?auth|pre-?approv|approv|authori[sz]|pre-?cert|autoriza|aprobaci",
    "preauth_steps": r"steps|how do i get|submit|pasos|c[oó]mo pido",
    "out_of_network": r"out of network|out-of-network|\boon\b|not in (?:my )?network|fuera de (?:la )?red",
    "documentation": r"document|notes|chart|records|notas|registros|expediente",
    "coverage_overview": r"cover|\bpay|paid|benefit|reimburs"
    r"|cubr|cubiert|\bpag(?:a|an|ar|o|u)|benefici|reembols",
    "therapy_massage": r"physical therap|\bpt\b|rehab|physio|terapia f[ií]sica|fisio",
}


# Therapy words alone name where the massage is, not a question about it:
# "my surgeon wants more rehab with massage. Do I need a referral?" asks only
# about the referral. Asked about, therapy comes with words about coverage.
ALSO_NEEDS = {"therapy_massage": "coverage_overview"}


def first_cue(topic: str, text: str) -> Optional[int]:
    """Where the message first asks about `topic`, or None."""
    cue = TOPIC_CUES.get(topic)
    match = re.search(cue, text, re.IGNORECASE) if cue else None
    if match is None or (topic in ALSO_NEEDS and first_cue(ALSO_NEEDS[topic], text) is None):
        return None
    return match.start()


def order_as_asked(topics: Sequence[str], text: str) -> List[str]:
    """Of several topics, those the message has words for, in the order it asks them.

    A multi-intent is a guess: "would my HMO need a referral for those?" may be
    read as coverage plus referral, but has no word about coverage, so only the
    referral is answered. When no topic has words, the topics stay as given.
    """
    if len(topics) < 2:
        return list(topics)
    found = [(position, topic) for topic in topics if (position := first_cue(topic, text)) is not None]
    if not found:
        return list(topics)
    return [topic for _, topic in sorted(found, key=lambda pair: pair[0])]
