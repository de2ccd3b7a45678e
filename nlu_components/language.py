"""The language a member writes in: English or Spanish, judged per message.

Pure Python (no Rasa imports), used by the NLU component
`nlu_components.language_detector.LanguageDetector` and tested directly.

Detection is lingua (`lingua-language-detector`): offline, its models ship in
the wheel, and it is built for short and mixed-language text. It is restricted
to the assistant's languages (`plan_coverage.engine.LANGUAGES`), so it only
ever decides between them.

A conversation keeps its language unless a message is clearly in the other
one: short or ambiguous messages ("ok", "PPO?", "97124", "hola") say nothing.
So before lingua judges, the words that read the same in both languages are
set aside: plan and brand names, abbreviations, numbers ("tengo un PPO de blue
cross" is judged on "tengo un de"). A message is clear when at least
`MIN_WORDS` words remain and either one of them is clearly Spanish among
at least `MIN_CLEAR_WORDS` clear words (Spanglish is Spanish: "necesito
massage therapy") or lingua's confidence in the whole message is at least
`MIN_CONFIDENCE`.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, List, Mapping, Optional, Tuple

from plan_coverage.engine import LANGUAGES

# Words that say nothing about the language: plan types, plan and brand names,
# abbreviations members use in both languages, and chat fillers.
NEUTRAL_WORDS = frozenset(
    """
    hmo ppo pos epo hsa fsa medicaid medicare advantage star chip kids
    blue cross shield bcbs bcbsil bcbstx bcbsok bcbsnm bcbsmt hcsc
    il tx ok nm mt cpt pt ot pcp id ok okay k
    eviCore evicore
    """.lower().split()
)
# Fewer words than this never change a conversation's language.
MIN_WORDS = 2
# lingua's confidence (0 to 1; the two languages' values sum to 1) in the
# whole message that makes it clear.
MIN_CONFIDENCE = 0.8
# A word lingua gives at least this confidence on its own is a word of that
# language ("necesito", "quiero"; "therapy", "covered"). Members mix English
# words into Spanish ("necesito massage therapy"), not the other way round:
# a message with a Spanish word and an English one is Spanish (Spanglish).
WORD_CONFIDENCE = 0.9
# Clear words (either language) a message needs for the Spanish-word rule.
MIN_CLEAR_WORDS = 2
# Only the first words are judged word by word: enough for a chat message,
# and bounded work for a long one.
MAX_JUDGED_WORDS = 40
_REQUEST = re.compile(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*")
_WORD = re.compile(r"[^\W\d_]+")
SPANISH = "es"


@dataclass(frozen=True)
class Detection:
    """What one message says about its language.

    `language`: the likelier of LANGUAGES, None when no word is left to judge;
    `confidence`: lingua's confidence in it for the whole message, 0 to 1;
    `words`: how many words were judged; `clear`: whether the message may set
    or change the conversation's language.
    """

    language: Optional[str]
    confidence: float
    words: int
    clear: bool = False


def judged_words(text: str) -> List[str]:
    """The words of `text` that tell the languages apart (NEUTRAL_WORDS and numbers left out)."""
    return [word for word in _WORD.findall(text) if word.lower() not in NEUTRAL_WORDS][:MAX_JUDGED_WORDS]


def detect_language(text: str) -> Detection:
    """Detect the language of one message (of any length; only the first words count)."""
    words = judged_words(text)
    if not words:
        return Detection(None, 0.0, 0)
    language, confidence = _best(" ".join(words))
    if len(words) < MIN_WORDS or language is None:
        return Detection(language, confidence, len(words))
    word_languages = [language for language in map(_word_language, words) if language]
    # A Spanish word among other clear words: Spanish, even with English words
    # around it. Two clear words at least, so one odd word in gibberish
    # ("qwzx plorb vvv") does not count.
    if SPANISH in word_languages and len(word_languages) >= MIN_CLEAR_WORDS:
        spanish_confidence = confidence if language == SPANISH else 1.0 - confidence
        return Detection(SPANISH, spanish_confidence, len(words), clear=True)
    return Detection(language, confidence, len(words), clear=confidence >= MIN_CONFIDENCE)


def _best(text: str) -> Tuple[Optional[str], float]:
    values = _detector().compute_language_confidence_values(text)
    if not values or values[0].value <= 0.0:
        return None, 0.0
    return values[0].language.iso_code_639_1.name.lower(), float(values[0].value)


@lru_cache(maxsize=4096)
def _word_language(word: str) -> Optional[str]:
    """The language a single word clearly belongs to, else None."""
    language, confidence = _best(word.lower())
    return language if confidence >= WORD_CONFIDENCE else None


def requested_language(metadata: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The language a site asks for in message metadata (`{"lang": "es"}`, also "es-MX"),
    if it is one of LANGUAGES; otherwise None."""
    value = metadata.get("lang") if isinstance(metadata, Mapping) else None
    match = _REQUEST.fullmatch(value.strip()) if isinstance(value, str) and len(value) <= 40 else None
    language = match.group(1).lower() if match else None
    return language if language in LANGUAGES else None


@lru_cache(maxsize=1)
def _detector() -> Any:
    # Imported here: building the detector loads its models (about 2 s, once per process).
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()
