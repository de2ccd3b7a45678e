"""What a member channel does to a member's text before Rasa sees it.

Pure Python (no Rasa imports), shared by the member channels and tested
directly, Hypothesis included. Every step does bounded work, in this order:

- `bounded`: the raw text is cut first (MAX_MESSAGE_CHARS plus a margin for
  an identifier that straddles the cut), so nothing below ever sees more;
- `normalise_text`: control characters and broken Unicode dropped (Postgres
  rejects NUL), zero-width characters removed, Unicode NFKC ("／" is "/",
  full-width digits are digits), every dash a "-", every apostrophe a "'"
  and every decimal digit an ASCII digit, so "518\u2013\u200b47\u20132963" is seen as the SSN it is;
- `redact_personal_details`: members type member IDs, SSNs, birth dates,
  phone numbers, email addresses, names and street addresses into chat
  boxes although nobody asks; the assistant needs none of them. Each detail,
  with the words that introduced it ("my member id is", "dob"), becomes one
  neutral placeholder, `[…]`, so the question around it still reads as a
  question to NLU. The patterns run on RE2 (google-re2), whose matching time
  is linear in the length of the text: no pattern can backtrack. Phone
  numbers outside the US plan formats are found by `phonenumbers` (Google's
  libphonenumber, maintained), also linear (tests/channels measure both);
- `member_command_or_text`: the one command gate. Rasa reads a message
  starting with "/" (after stripping whitespace) as an intent with entities
  ("/restart", '/inform{"state": "TX"}'). Only a payload the assistant
  offered passes as a command; any other command-like text, however it is
  spelled ("/ /restart", "／restart"), becomes plain words: its slashes go,
  and so does any "{...}" entity part, so no slot is set from it.
"""

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection, Dict, FrozenSet, List, Mapping, Optional, Tuple

import phonenumbers
import re2
import yaml

# The entity vocabulary NLU uses (spacy_pipeline/), read for insurer names.
INSURER_VOCABULARY = (
    Path(__file__).resolve().parents[1] / "spacy_pipeline" / "en_hcsc_entities" / "entity_patterns.yml"
)

# Longer messages are cut: nobody types more into a chat box, and NLU time
# grows with length.
MAX_MESSAGE_CHARS = 2000
# The raw text is cut to this before anything else runs; the final cut to
# MAX_MESSAGE_CHARS comes after redaction, so an identifier that straddles
# MAX_MESSAGE_CHARS is still recognised whole and nothing of it is kept.
CUT_MARGIN_CHARS = 120
# Conversation ids as member sites make them (uuid4 hex, "member-123", ...):
# no spaces, no "@", so an email address cannot become a conversation id.
SENDER_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
# Metadata a member site may send: the member's plan context, and the
# language the member chose or the page is in ("lang": "es"). Anything else
# is dropped before it reaches the tracker store.
METADATA_KEYS = ("state", "plan_type", "lang")
# The entity a command carries the site's language in (domain.yml, slot `language`).
LANGUAGE_ENTITY = "language"
MAX_METADATA_VALUE_CHARS = 40
COMMAND_PREFIX = "/"
# What a removed detail becomes in the text NLU, the tracker store and the
# logs see: no digits, no words, so it neither leaks nor steers NLU.
PLACEHOLDER = "[…]"
# Used while redacting (a private-use character, removed from members' text):
# later patterns can never match inside it.
_MARK = "\ue000"

# Typographic apostrophes ("my name\u2019s", "O\u2019Neil"), read as "'".
_APOSTROPHES = frozenset("\u2018\u2019\u02bc\u2032")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u034f" + _MARK))


def _compile(pattern: str) -> "re2._Regexp":
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    return re2.compile(pattern, options)


def _compile_exact_case(pattern: str) -> "re2._Regexp":
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    # Spanish: "5 de mayo de 1970"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|sep?tiembre|octubre|noviembre|diciembre)"
)
# Between a day, a month and a year: "of" ("the 5th of May"), Spanish "de".
_OF = r"(?:of|de)"
_ORDINAL_WORD = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
    r"|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth"
    r"|twenty[- ]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|thirtieth|thirty[- ]?first)"
)
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{_ORDINAL_WORD})"
_BIRTH_WORDS = (
    r"(?:born(?:\s+(?:on|in))?|dob|d\.o\.b\.?|birth\s*day|birth\s*date|date\s+of\s+birth"
    r"|fecha\s+de\s+nacimiento|nac[ií]\s+(?:el|en))"
)
_STREET = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|court|way|place|terrace|parkway"
    r"|pkwy|circle|highway|hwy|calle|avenida)"
)
_TLD = r"(?:com|org|net|edu|gov|us|io|info|biz|co|uk|me|mail)"
_AT = r"(?:\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+at\s+|\s*@\s*)"
_DOT = r"(?:\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+|\.)"

# Capitalised words that follow "I am", "this is" or "it's" and are not a
# name: this assistant's own words ("this is Blue Cross", "I am Texas PPO"),
# and the other proper words members describe themselves or a day with
# ("I am Hispanic", "it's Monday").
_NOT_NAMES = frozenset(
    "blue cross shield texas illinois oklahoma montana new mexico hmo ppo epo pos hcsc bcbs bcbstx "
    "medicare medicaid member members not a an the in on with from at looking asking wondering "
    "calling trying going here there curious confused massage therapy therapist spa physical "
    "insurance plan covered coverage patient provider doctor hello hi hey thanks thank yes no ok okay "
    "sure sorry please just also still really very so now new old retired pregnant diabetic disabled "
    "american mexican hispanic latino latina asian african black white native indian english spanish "
    "catholic christian jewish muslim veteran senior today tomorrow services service portal support "
    "handbook guide card id number".split()
)


def _insurer_names(path: Path = INSURER_VOCABULARY) -> FrozenSet[str]:
    """The other insurers the assistant knows by name ("humana", "united healthcare"),
    lower case: the entity vocabulary's `insurer` phrases (written once, for NLU)."""
    vocabulary = yaml.safe_load(path.read_text(encoding="utf-8"))
    return frozenset(
        " ".join(phrase.lower().split())
        for phrases in vocabulary["insurer"].values()
        for phrase in phrases
        if isinstance(phrase, str)
    )


# "now it's Humana", "I'm United Healthcare": an insurer, not a person. Only a
# whole capitalised run counts ("I'm Oscar Martinez" is a name, not Oscar Health).
_INSURER_NAMES = _insurer_names()
# Days and months are names too ("April Jones"): not a name alone ("it's March").
_CALENDAR_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june "
    "july august september october november december".split()
)
# A name: capitalised words ("Maria", "O'Neil", "María José", "Garcia-Lopez"),
# lower-case particles between them ("Juan de la Cruz"), a middle initial, and
# a title before them ("Dr. Lee", "Mrs Smith").
_NAME_WORD = r"\p{Lu}[\p{L}'-]*\p{Ll}[\p{L}'-]*"
_TITLE = r"(?i:dr|mr|mrs|ms|miss|mx|prof|rev|sr|sra|srta)\.?"
_PARTICLE = r"(?:de|del|la|las|los|da|das|dos|di|du|van|von|der|den|le|bin|ibn|al|y)"
_NAME = (
    rf"(?:{_TITLE}\s+)?{_NAME_WORD}(?:\s+\p{{Lu}}\.?)?"
    rf"(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_NAME_WORD}){{0,3}}"
)
_TITLE_WORD = re.compile(r"(?i:dr|mr|mrs|ms|miss|mx|prof|rev|sr|sra|srta)\.?")


def _replace(kind: str) -> Callable[["re2._Match", List[str]], str]:
    def replace(_match: "re2._Match", removed: List[str]) -> str:
        return _mark(kind, removed)

    return replace


def _mark(kind: str, removed: List[str]) -> str:
    removed.append(kind)
    return _MARK


def _digit_groups(match: "re2._Match", removed: List[str]) -> str:
    """Digit groups ("1234 5678", "AAA 9999 9999") long enough to be an identifier.

    Groups of exactly five digits stay: CPT codes such as "97124 97140".
    """
    groups = match.group("groups").replace("-", " ").split()
    if sum(len(group) for group in groups) < 7 or all(len(group) == 5 for group in groups):
        return str(match.group(0))
    letters = match.group("letters") or ""
    kept = (letters + " ") if letters and letters.lower() in _COMMON_SHORT_WORDS else ""
    return kept + _mark("member_id", removed)


_COMMON_SHORT_WORDS = frozenset(
    "a an and or is my id no at to for of in on by was it its me we our his her the are am "
    "be if so as about over than from with".split()
)


def _long_code(match: "re2._Match", removed: List[str]) -> str:
    """A code of letters and digits with six or more digits (member IDs such as XOF123456789)."""
    token = str(match.group(0))
    if sum(char.isdigit() for char in token) < 6:
        return token
    return _mark("member_id", removed)


def _full_name(match: "re2._Match", removed: List[str]) -> str:
    """A name after "I am" / "this is" / "it's" (or after a title anywhere): the
    capitalised words up to the first one that is not a name ("I am Maria
    Texas PPO" keeps "Texas PPO"); nothing when the first is not a name."""
    group = str(match.group("name"))
    words = group.split()
    if " ".join(words).lower().strip(".,'") in _INSURER_NAMES:
        return str(match.group(0))
    name: List[str] = []
    for index, word in enumerate(words):
        lowered = word.lower().strip(".,'")
        if lowered in _NOT_NAMES or (lowered in _CALENDAR_WORDS and index == len(words) - 1):
            break
        name.append(word)
    if not name or all(_TITLE_WORD.fullmatch(word) for word in name):
        return str(match.group(0))
    rest = "".join(" " + word for word in words[len(name) :])
    return str(match.group("keep") or "") + _mark("name", removed) + rest


def _named(match: "re2._Match", removed: List[str]) -> str:
    """The words after "my name is": up to three, stopping at the first that is not part of a name."""
    group = str(match.group("name"))
    words = group.split()
    name: List[str] = []
    for word in words:
        if word.lower().strip(".,") in _NAME_STOP_WORDS:
            break
        name.append(word)
    if not name:
        return str(match.group(0))
    rest = words[len(name) :]
    trailing = group[len(group.rstrip()) :]
    return _mark("name", removed) + "".join(" " + word for word in rest) + trailing


_NAME_STOP_WORDS = frozenset(
    "and or but is my i im i'm am was does do can could would will should what how when where why "
    "which who my's with from in on at for to the a an please thanks thank y o e pero es".split()
)

Replacer = Callable[["re2._Match", List[str]], str]

# (pattern, replacer), most specific first: each pattern sees the text the
# earlier ones left, where details are already _MARK (no letters, no digits).
_PATTERNS: Tuple[Tuple["re2._Regexp", Replacer], ...] = (
    # Email addresses, also written out: "jane at example dot com", "jane(at)example".
    (_compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b"), _replace("email")),
    (
        _compile(
            rf"\b[a-z0-9._%+-]+(?:\s+dot\s+[a-z0-9_%+-]+)*{_AT}[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_DOT}{_TLD}\b"
        ),
        _replace("email"),
    ),
    (
        _compile(r"\b[a-z0-9._%+-]+\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*[a-z0-9-]+(?:\.[a-z0-9-]+)*"),
        _replace("email"),
    ),
    # Names: "my name is jane doe", "me llamo ...", "I am Jane Doe", "this is Jane Q. Doe".
    (
        _compile(
            r"\b(?:my\s+name\s+is|my\s+name's|name\s*:|me\s+llamo|mi\s+nombre\s+es)\s+(?P<name>(?:[^\s,.;!?]+\s*){1,4})"
        ),
        _named,
    ),
    (
        _compile_exact_case(
            r"(?P<keep>\b(?:[Ii]\s+am|[Ii]'m|[Tt]his\s+is|[Ss]oy|[Ii]t's|[Ii]t\s+is"
            # Who a message is about, as agents' notes and members write it:
            # "Member John Smith asked...", "my wife Maria needs...".
            r"|(?i:member|patient|caller|customer|subscriber|dependent|miembro|paciente)"
            r"|(?i:my)\s+(?i:wife|husband|partner|son|daughter|mom|mother|dad|father|child|kid|spouse))\s+)"
            rf"(?P<name>{_NAME})\b"
        ),
        _full_name,
    ),
    # Medicare Beneficiary Identifiers, with or without dashes: 1EG4-TE5-MK73.
    (_compile(r"\b[1-9][a-z][a-z0-9]\d-?[a-z][a-z0-9]\d-?[a-z]{2}\d{2}\b"), _replace("member_id")),
    # Birth dates after birth words, also partial: "born 4/12", "born in March 1975",
    # "born March third 1975", "dob: 1975".
    (
        _compile(
            rf"\b{_BIRTH_WORDS}(?:\s*(?:is|was|es|fue|:|-))?\s*(?:"
            rf"\d{{1,4}}[./-]\d{{1,2}}(?:[./-]\d{{2,4}})?"
            rf"|{_MONTH}\.?(?:\s+(?:the\s+)?{_DAY})?(?:\s+{_OF})?,?(?:\s+\d{{4}}|\s+'?\d{{2}}\b)?"
            rf"|(?:the\s+|el\s+)?{_DAY}(?:\s+{_OF})?\s+{_MONTH}\.?(?:(?:,?\s+|\s+del?\s+)'?\d{{2,4}})?"
            rf"|\d{{4}}"
            r")\b\.?"
        ),
        _replace("date"),
    ),
    # Full dates anywhere.
    (
        _compile(
            r"\b(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})\b"
            rf"|\b{_MONTH}\.?\s+{_DAY},?\s+\d{{2,4}}\b"
            rf"|\b(?:the\s+)?{_DAY}\s+(?:{_OF}\s+)?{_MONTH}\.?(?:,?\s+|\s+del?\s+)\d{{2,4}}\b"
        ),
        _replace("date"),
    ),
    # An identifier after the words that introduce one: "member ID is XOF 1234 5678",
    # "group number: A12B34". The value needs a digit.
    (
        _compile(
            r"\b(?:member|subscriber|policy|group|id|card|ssn|social\s+security|medicare|mbi|insurance"
            r"|n[uú]mero\s+de\s+(?:miembro|seguro|grupo))(?:\s+(?:id|number|no\.?|num|#|card))*"
            r"(?:\s*(?:is|was|es|[:#=]))?\s*"
            r"(?:[a-z]{1,4}[ -]?)?[a-z0-9]*\d[a-z0-9]*(?:[ ./-][a-z0-9]*\d[a-z0-9]*)*\b"
        ),
        _replace("member_id"),
    ),
    # SSNs: 123-45-6789, 123 45 6789, 123456789.
    (_compile(r"\b\d{3}[ .-]?\d{2}[ .-]?\d{4}\b"), _replace("ssn")),
    # Phone numbers: US formats, then international ones with a + or 00 prefix.
    (
        _compile(
            r"(?:\+\s?1[ .-]?|\b1[ .-]?)?(?:\(\d{3}\)\s?|\b\d{3}[ .-]?)\d{3}[ .-]?\d{4}\b"
            r"(?:\s*(?:x|ext\.?)\s*\d{1,6}\b)?"
        ),
        _replace("phone"),
    ),
    (_compile(r"(?:\+|\b00)\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}\b"), _replace("phone")),
    # Street addresses: "1200 N Main St", "45 West Elm Avenue Apt 3", "PO Box 1234".
    (
        _compile(
            rf"\b\d{{1,6}}\s+(?:[a-z0-9.'-]+\s+){{0,4}}{_STREET}\b\.?"
            r"(?:,?\s*(?:apt|apartment|suite|ste|unit|#)\.?\s*[a-z0-9-]+\b)?"
            r"|\bp\.?\s?o\.?\s+box\s+\d+\b"
        ),
        _replace("address"),
    ),
    # "Dr", "Ct" and "Pl" are streets only after a capitalised street name
    # ("1200 N Lakeshore Dr. Apt 4B"); "after 3 visits dr said" is a doctor.
    (
        _compile_exact_case(
            r"\b\d{1,6}\s+(?:[\p{L}\d.'-]+\s+){0,3}\p{Lu}[\p{L}'-]*\s+(?:Dr|DR|Ct|CT|Pl|PL)\b\.?"
            r"(?:,?\s*(?i:apt|apartment|suite|ste|unit|#)\.?\s*[\p{L}\d-]+\b)?"
        ),
        _replace("address"),
    ),
    # A title and a name anywhere: "my doctor is Dr. Patel", "Mrs Smith here".
    (_compile_exact_case(rf"\b(?P<keep>)(?P<name>{_TITLE}\s+{_NAME})\b"), _full_name),
    # Card-style digit groups ("1234 5678 9012", "AAA 9999 9999", "XOF 1234 5678 90":
    # a short last group goes with them).
    (
        _compile(r"\b(?:(?P<letters>[a-z]{1,4})[ -]?)?(?P<groups>\d{3,5}(?:[ -]\d{3,5})+(?:[ -]\d{1,2})?)\b"),
        _digit_groups,
    ),
    # Any other code with six or more digits (member IDs such as XOF123456789),
    # then letters and five digits (H12345). Five-digit numbers alone stay: CPT
    # codes such as 97124 are what members ask about.
    (_compile(r"\b[a-z0-9]{6,}\b"), _long_code),
    (_compile(r"\b[a-z]{1,4}\d{5,}[a-z]{0,3}\b"), _replace("member_id")),
)

# The words that introduced a removed detail go with it ("my phone is [...]"
# is one placeholder), so NLU reads the question around it.
_INTRODUCERS = _compile(
    r"(?:\b(?:my|our|his|her|the|mi|su)\s+)?"
    r"(?:\b(?:member|subscriber|policy|group|id|card|ssn|social\s+security|medicare|mbi|insurance|phone|cell"
    r"|mobile|telephone|tel|number|email|e-mail|mail|address|name|dob|birthday|birth\s*date"
    r"|date\s+of\s+birth|correo|tel[eé]fono|direcci[oó]n|n[uú]mero)"
    r"(?:\s+(?:id|number|no\.?|num|#|card|address|is|was|es|de))*\s*(?:is|was|es|[:#=])?\s*)?" + _MARK
)
_RUNS_OF_MARKS = re2.compile(_MARK + r"(?:[\s,;&/+-]*" + _MARK + ")+")


@dataclass(frozen=True)
class Redaction:
    """A member's text with personal details replaced, and which kinds were found."""

    text: str
    removed: Tuple[str, ...] = ()


def clean_text(text: str, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """Text without control characters or broken Unicode, at most max_chars long.

    Line breaks and tabs become spaces; lone surrogates (from JSON "\\ud800")
    are dropped, as is NUL, which Postgres cannot store.
    """
    kept: List[str] = []
    for char in text[: max_chars * 2]:
        category = unicodedata.category(char)
        if category == "Cs":
            continue
        kept.append(" " if category == "Cc" else char)
    return "".join(kept)[:max_chars]


def normalise_text(text: str, max_chars: int = MAX_MESSAGE_CHARS + CUT_MARGIN_CHARS) -> str:
    """Clean text (see clean_text) in one spelling: NFKC, no zero-width characters,
    ASCII dashes, digits and apostrophes. At most max_chars long (NFKC can lengthen text)."""
    text = unicodedata.normalize("NFKC", clean_text(text, max_chars)).translate(_ZERO_WIDTH)
    chars: List[str] = []
    for char in text[:max_chars]:
        if char.isascii():
            chars.append(char)
        elif unicodedata.category(char) == "Pd" or char == "\u2212":
            chars.append("-")
        elif char in _APOSTROPHES:
            chars.append("'")
        elif unicodedata.category(char) == "Nd":
            chars.append(str(unicodedata.digit(char, 0)))
        else:
            chars.append(char)
    return "".join(chars)


def redact_personal_details(text: str) -> Redaction:
    """Replace personal details (module docstring) with PLACEHOLDER; linear time."""
    removed: List[str] = []
    text = text.replace(_MARK, "")
    for pattern, replacer in _PATTERNS:
        text = pattern.sub(lambda match, replacer=replacer: replacer(match, removed), text)
    text = _international_phones(text, removed)
    if removed:
        text = _INTRODUCERS.sub(_just_the_mark, text)
        text = _RUNS_OF_MARKS.sub(_just_the_mark, text)
    return Redaction(text=text.replace(_MARK, PLACEHOLDER), removed=tuple(sorted(set(removed))))


def _just_the_mark(_match: "re2._Match") -> str:
    return _MARK  # a function: RE2's template replacement mangles non-ASCII text


def _international_phones(text: str, removed: List[str]) -> str:
    """Phone numbers libphonenumber recognises that the patterns above left."""
    if sum(char.isdigit() for char in text) < 7:
        return text
    pieces: List[str] = []
    last = 0
    for match in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE):
        digits = sum(char.isdigit() for char in match.raw_string)
        if digits < 8 or _looks_like_plan_numbers(match.raw_string):
            continue
        pieces.append(text[last : match.start])
        pieces.append(_mark("phone", removed))
        last = match.end
    pieces.append(text[last:])
    return "".join(pieces)


def _looks_like_plan_numbers(raw: str) -> bool:
    """CPT codes ("97124 97140") and years are what members ask about, not phone numbers."""
    groups = re.split(r"[^0-9]+", raw)
    return all(len(group) in (0, 5) for group in groups)


_COMMAND_LEAD = re.compile(r"[\s/]+")
_COMMAND_ENTITIES = re.compile(r"[{@].*", re.DOTALL)


def member_command_or_text(text: str, offered_commands: Collection[str]) -> str:
    """The text itself, an offered button payload, or command-like text made plain words.

    "/restart" and "/ /restart" become "restart", '/inform{"state": "TX"}'
    becomes "inform": NLU reads them like any other words, and no entity
    from the command's "{...}" part reaches a slot.
    """
    stripped = text.strip()
    if stripped in offered_commands:
        return stripped
    normalised = normalise_text(stripped).strip()
    if normalised in offered_commands:
        return normalised
    if not normalised.startswith(COMMAND_PREFIX):
        return text
    words = normalised[_COMMAND_LEAD.match(normalised).end() :]  # type: ignore[union-attr]
    name, _, rest = words.partition(" ")
    if "{" in name:
        name = _COMMAND_ENTITIES.sub("", name)
        rest = ""
    return f"{name} {rest}".strip()


def bounded(raw_text: str) -> str:
    """The first MAX_MESSAGE_CHARS + CUT_MARGIN_CHARS characters: the only part any rule reads."""
    return raw_text[: MAX_MESSAGE_CHARS + CUT_MARGIN_CHARS]


def prepare_member_text(raw_text: str, offered_commands: Collection[str]) -> Redaction:
    """Everything a member channel does to a member's text, in order.

    The text is cut first, then an offered button payload passes unchanged;
    other text is normalised, redacted, cut to MAX_MESSAGE_CHARS (an
    identifier across the cut was redacted whole first), and made plain
    words if it looks like a command.
    """
    text = bounded(raw_text)
    stripped = text.strip()
    if stripped in offered_commands:
        return Redaction(text=stripped)
    redaction = redact_personal_details(normalise_text(text))
    cut = redaction.text[:MAX_MESSAGE_CHARS]
    if len(redaction.text) > MAX_MESSAGE_CHARS and cut.endswith(PLACEHOLDER[:-1]):
        cut = cut.rstrip(PLACEHOLDER[:-1])
    prepared = member_command_or_text(cut, offered_commands)
    # The gate's invariant: only an offered payload reaches Rasa as a command.
    while prepared.strip().startswith(COMMAND_PREFIX) and prepared.strip() not in offered_commands:
        prepared = prepared.strip().lstrip(COMMAND_PREFIX)
    return Redaction(text=prepared, removed=redaction.removed)


def command_with_language(text: str, language: Optional[str]) -> str:
    """An offered command with the language a site asked for among its entities:
    ("/greet", "es") -> '/greet{"language": "es"}'; '/inform{"plan_type": "hmo"}'
    keeps its entities and gains the language. Other text, or no language,
    is returned as it is.

    Rasa hands commands straight to the dialogue, past the NLU components
    that read the site's language for typed messages
    (nlu_components/language_detector.py); this way the widget's opening
    "/greet" and its buttons set the language too. Call it only on text that
    passed the command gate (`prepare_member_text`), with a language from
    `nlu_components.language.requested_language`.
    """
    if language is None or not text.startswith(COMMAND_PREFIX):
        return text
    name, brace, rest = text.partition("{")
    try:
        entities = json.loads(brace + rest) if brace else {}
    except ValueError:
        return text
    if not isinstance(entities, dict):
        return text
    return name + json.dumps({**entities, LANGUAGE_ENTITY: language})


def is_valid_sender_id(sender_id: object) -> bool:
    """True for a conversation id a member site may use: 1 to 128 letters,
    digits or `. _ : -`, nothing after them (not even a newline), and nothing
    that looks like a personal detail (an SSN, phone or member number, an MBI)."""
    return (
        isinstance(sender_id, str)
        and SENDER_ID_PATTERN.fullmatch(sender_id) is not None
        and not looks_like_personal_detail(sender_id)
    )


_PERSONAL_ID_PARTS = _compile(
    r"(?:^|[-_.:])(?:\d{3}[-_.:]\d{2}[-_.:]\d{4}|\d{3}[-_.:]\d{3}[-_.:]\d{4}|\d{9,}"
    r"|[a-z]{1,4}\d{8,}|[1-9][a-z][a-z0-9]\d-?[a-z][a-z0-9]\d-?[a-z]{2}\d{2})(?:$|[-_.:])"
)


def looks_like_personal_detail(identifier: str) -> bool:
    """True when an id, or a part of it between `- _ . :`, is shaped like an SSN,
    a phone number, a member number (nine or more digits, or letters and eight
    or more digits) or a Medicare MBI. Hex ids (uuid4) are not."""
    return bool(_PERSONAL_ID_PARTS.search(identifier))


def plan_context_metadata(metadata: Optional[Mapping[str, object]]) -> Dict[str, str]:
    """Only the plan-context keys of a site's metadata, as short clean strings.

    A value that holds a personal detail is dropped, not kept redacted.
    """
    kept: Dict[str, str] = {}
    if not isinstance(metadata, Mapping):
        return kept
    for key in METADATA_KEYS:
        value = metadata.get(key)
        if isinstance(value, str):
            cleaned = normalise_text(value, MAX_METADATA_VALUE_CHARS).strip()
            if cleaned and not redact_personal_details(cleaned).removed:
                kept[key] = cleaned
    return kept
