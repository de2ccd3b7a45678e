"""Follow-ups and several questions in one message. Pure Python, no Rasa imports.

Where does each question of a message start and end?

"my PT does massage, is that covered? and also what about a massage for
relaxation after" asks about two massages: each question keeps its own
qualifiers (`question_spans`).

Does a question refer back to the one before it?

"ok and would my HMO need a referral for those?", "what about out of
network?", "is that covered?" keep the previous question's qualifiers (a spa,
a relaxation or a maintenance massage); a new question that names none and
refers to nothing starts clean.
"""

import re
from typing import Dict, List, Optional, Sequence, Tuple

# Words that stand for the massage just asked about ("if my PT does it",
# "a referral for those"), English and Spanish.
PRONOUNS = (
    *("that", "those", "it", "them", "this", "these", "same"),
    *("eso", "esos", "esas", "esa", "esto", "estos"),
)
# Words and phrases that point back to what was just discussed: the pronouns,
# and words that go on with the last question ("what about...", "y si...").
# Not "they": in "will they still pay" it is the plan, not the massage.
REFERRING = (
    *PRONOUNS,
    "what about",
    "how about",
    "and for",
    "and if",
    "what if",
    "and what",
    "also",
    # Spanish
    "lo mismo",
    "y si",
    "y para",
    "y que",
    "que tal",
    "tambien",
    "también",
)


def _words_re(words: Sequence[str]) -> "re.Pattern[str]":
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


_REFERRING_RE = _words_re(REFERRING)
_PRONOUN_RE = _words_re(PRONOUNS)


def refers_back(text: str) -> bool:
    """True when the message points back to the previous question."""
    return bool(_REFERRING_RE.search(text or ""))


def names_it(text: str) -> bool:
    """True when the message refers to the massage just asked about by a pronoun ("it", "those")."""
    return bool(_PRONOUN_RE.search(text or ""))


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
    # "Therapy" alone is physical therapy ("massage in therapy", "masaje en la
    # terapia"), not "massage therapy"/"terapia de masaje", the massage itself.
    "therapy_massage": r"physical therap|\bpt\b|rehab|physio|terapia f[ií]sica|fisio"
    r"|\b(?:in|at|during) therapy\b|\bterapias?\b(?! de masaje)",
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
    if GENERIC_TOPIC in topics and not asked_on_its_own(GENERIC_TOPIC, topics, text):
        found = [(position, topic) for position, topic in found if topic != GENERIC_TOPIC]
    return [topic for _, topic in sorted(found, key=lambda pair: pair[0])]


# "Is it covered?" asked beside another topic is its own question only in a
# clause of its own: in "how many of these sessions will the plan cover?" the
# word "cover" is the visit-limit question's verb; in "is massage covered and
# do I need a referral?" it is a question.
GENERIC_TOPIC = "coverage_overview"
_CLAUSE_BREAK_RE = re.compile(r"[?,;.!]|\b(?:and|also|or|but|y|o|pero|tambi[eé]n)\b", re.IGNORECASE)


def asked_on_its_own(topic: str, topics: Sequence[str], text: str) -> bool:
    """True when some clause of `text` has words for `topic` and for none of the other `topics`."""
    others = [t for t in topics if t != topic]
    return any(
        first_cue(topic, clause) is not None and all(first_cue(t, clause) is None for t in others)
        for clause in _CLAUSE_BREAK_RE.split(text)
    )


# Where a message's next question starts: after a question mark, or at words
# that open another question ("... covered, and what about a spa?", "...,
# and separately, ...", "..., plus can I ...").
# English and Spanish; a message with none of these is one question.
_NEXT_QUESTION_RE = re.compile(
    r"\?+"
    r"|\b(?:and\s+)?(?:also\s*,?\s+)?(?:what|how)\s+about\b|\b(?:and\s+)?what\s+if\b|\band\s+also\b"
    r"|\b(?:and\s+)?separately\b|,\s*plus\b|\bplus,"
    r"|\by\s+(?:qu[eé]\s+tal|si|tambi[eé]n)\b",
    re.IGNORECASE,
)


def question_spans(text: str) -> List[Tuple[int, int]]:
    """(start, end) character offsets of each question in `text`, in order.

    A message is cut after each "?" and before words that open another
    question ("what about", "and also"); pieces without a letter are dropped.
    One question gives one span. Offsets index `text` as given, as Rasa's
    entity `start`/`end` do.
    """
    cuts = {0, len(text)}
    for match in _NEXT_QUESTION_RE.finditer(text):
        cuts.add(match.end() if match.group().startswith("?") else match.start())
    bounds = sorted(cuts)
    return [
        (start, end)
        for start, end in zip(bounds, bounds[1:], strict=False)
        if any(character.isalpha() for character in text[start:end])
    ]


# An amount of money: what the member pays or the plan pays, which the
# assistant cannot see (the source gives no amounts). "Cover the cost" and
# "out of pocket" are not here: "does my plan cover the cost of massage?" is a
# coverage question.
_MONEY_RE = re.compile(
    r"\bdollars?\b|\$\s?\d|\bhow much\b(?!\s+(?:massage|therapy|pt|physical))|\bco-?pays?\b|co-?insurance"
    r"|deductible|\bcopago|deducible|coaseguro|d[oó]lares"
    r"|cu[aá]nto (?:cuesta|cobra|pag|me cobr|me pag|me toca)",
    re.IGNORECASE,
)


def asks_about_money(text: str) -> bool:
    """True when the text asks about an amount of money (copay, deductible, dollars)."""
    return bool(_MONEY_RE.search(text or ""))


def question_sentences(text: str) -> str:
    """The sentences of `text` that end in "?", joined ("...the therapist said that's
    the max. Would my PPO pay for more?" -> "Would my PPO pay for more?"); the whole
    text when none does."""
    sentences = re.findall(r"[^.!?]*\?+", text or "")
    return " ".join(s.strip() for s in sentences) if sentences else text


def last_sentence(text: str) -> str:
    """The last sentence of `text` ("new question. my PT adds massage. do i need prior
    auth" -> "do i need prior auth"); the whole text when it is one sentence."""
    sentences = [part for part in re.split(r"[.!\n]+", text or "") if part.strip()]
    return sentences[-1].strip() if sentences else text


def question_sentence(text: str) -> str:
    """The last sentence of `text` that ends in "?" ("...my husband's employer. How many
    of these sessions will the plan cover?" -> "How many of these sessions will the plan
    cover?"); the whole text when none does."""
    sentences = re.findall(r"[^.!?]*\?+", text or "")
    return sentences[-1].strip() if sentences else text


_MASSAGE_RE = re.compile(r"\b(?:massages?|masajes?|massage therapy|terapia de masajes?)\b", re.IGNORECASE)


def names_massage(text: str) -> bool:
    """True when a question says what it is about ("...for massage therapy?"), rather
    than leaving it to the conversation ("and out of network?", "do I need prior auth?")."""
    return bool(_MASSAGE_RE.search(text or ""))
