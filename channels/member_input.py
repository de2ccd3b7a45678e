"""What a member channel does to a member's text before Rasa sees it.

Pure Python (no Rasa imports), shared by the REST and socketio member
channels and tested directly, Hypothesis included:

- `clean_text`: drops control characters and broken Unicode, which some
  databases refuse (Postgres rejects NUL) and no member means to send, and
  caps the length;
- `redact_personal_details`: members type member IDs, SSNs, birth dates,
  phone numbers and email addresses into chat boxes although nobody asks; the
  assistant needs none of them, so they are replaced before the text reaches
  NLU, the tracker store or any log;
- `member_command_or_text`: Rasa reads a message starting with "/" as an
  intent with entities ("/restart", '/inform{"state": "TX"}'). A member may
  send only what the assistant offered as a button; other "/..." text is
  treated as ordinary words.
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Collection, Dict, List, Mapping, Optional, Pattern, Tuple

# Longer messages are cut: nobody types more into a chat box, and NLU time
# grows with length. The cut comes after redaction, so nothing is half-kept.
MAX_MESSAGE_CHARS = 2000
# Conversation ids as member sites make them (uuid4 hex, "member-123", ...):
# no spaces, no "@", so an email address cannot become a conversation id.
SENDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
# Metadata a member site may send: the member's plan context. Anything else
# is dropped before it reaches the tracker store.
METADATA_KEYS = ("state", "plan_type")
MAX_METADATA_VALUE_CHARS = 40
COMMAND_PREFIX = "/"

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"

# (kind, replacement, pattern), most specific first: each pattern sees the
# text the earlier ones left. Replacements hold no digits, so a later pattern
# never matches inside one; `\g<keep>` keeps the words that introduced an ID.
_PATTERNS: Tuple[Tuple[str, str, Pattern[str]], ...] = (
    ("email", "[email]", re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")),
    # An identifier after the words that introduce one: "member ID is XOF 1234 5678".
    (
        "member_id",
        r"\g<keep>[member ID]",
        re.compile(
            r"\b(?P<keep>(?:member|subscriber|policy|group|id|card|ssn|social security)"
            r"(?:\s+(?:id|number|no\.?|num|#))?(?:\s*(?:is|[:#=]))?\s*)"
            r"[A-Za-z]{0,4}[ -]?\d[\d -]{2,30}\d[A-Za-z]{0,3}" + _NOT_ALNUM_AFTER,
            re.IGNORECASE,
        ),
    ),
    (
        "date",
        "[date]",
        re.compile(
            r"(?<!\d)(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})(?!\d)"
            rf"|\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{2,4}}(?!\d)"
            rf"|(?<!\d)\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+\d{{2,4}}(?!\d)",
            re.IGNORECASE,
        ),
    ),
    ("ssn", "[SSN]", re.compile(_NOT_ALNUM_BEFORE + r"\d{3}([\s.-]?)\d{2}\1\d{4}(?!\d)")),
    (
        "phone",
        "[phone]",
        re.compile(
            r"(?<![A-Za-z0-9+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}(?!\d)"
            r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?",
            re.IGNORECASE,
        ),
    ),
    # Card-style digit groups ("1234 5678 9012"), then any other code with six
    # or more digits (member IDs such as XOF123456789), then letters and five
    # digits (H12345). Five-digit numbers alone stay: CPT codes such as 97124
    # are what members ask about.
    (
        "member_id",
        "[member ID]",
        re.compile(_NOT_ALNUM_BEFORE + r"\d{3,4}(?:[ -]\d{3,4}){2,4}" + _NOT_ALNUM_AFTER),
    ),
    (
        "member_id",
        "[member ID]",
        re.compile(_NOT_ALNUM_BEFORE + r"(?=(?:[A-Za-z]*\d){6})[A-Za-z0-9]{6,}" + _NOT_ALNUM_AFTER),
    ),
    (
        "member_id",
        "[member ID]",
        re.compile(_NOT_ALNUM_BEFORE + r"[A-Za-z]{1,4}\d{5,}[A-Za-z]{0,3}" + _NOT_ALNUM_AFTER),
    ),
)


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
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            continue
        kept.append(" " if category == "Cc" else char)
    return "".join(kept)[:max_chars]


def redact_personal_details(text: str) -> Redaction:
    """Replace member IDs, SSNs, dates, phone numbers and emails with placeholders."""
    removed: List[str] = []
    for kind, placeholder, pattern in _PATTERNS:
        text, count = pattern.subn(placeholder, text)
        removed.extend([kind] * count)
    return Redaction(text=text, removed=tuple(sorted(set(removed))))


def member_command_or_text(text: str, offered_commands: Collection[str]) -> str:
    """The text itself, an offered button payload, or "/..." made ordinary text.

    "/restart" becomes "restart", which NLU reads like any other words.
    """
    stripped = text.strip()
    if not stripped.startswith(COMMAND_PREFIX):
        return text
    if stripped in offered_commands:
        return stripped
    return stripped.lstrip(COMMAND_PREFIX).strip()


def prepare_member_text(raw_text: str, offered_commands: Collection[str]) -> Redaction:
    """Everything a member channel does to a member's text, in order.

    An offered button payload passes unchanged. Other text is cleaned and
    redacted (before cutting, so no part of an identifier is kept), cut to
    length, and any leading "/" is dropped.
    """
    stripped = raw_text.strip()
    if stripped in offered_commands:
        return Redaction(text=stripped)
    redaction = redact_personal_details(clean_text(raw_text, max_chars=len(raw_text)))
    text = member_command_or_text(redaction.text[:MAX_MESSAGE_CHARS], ())
    return Redaction(text=text, removed=redaction.removed)


def is_valid_sender_id(sender_id: object) -> bool:
    """True for a conversation id a member site may use."""
    return isinstance(sender_id, str) and bool(SENDER_ID_PATTERN.match(sender_id))


def plan_context_metadata(metadata: Optional[Mapping[str, object]]) -> Dict[str, str]:
    """Only the plan-context keys of a site's metadata, as short clean strings."""
    kept: Dict[str, str] = {}
    for key in METADATA_KEYS:
        value = (metadata or {}).get(key)
        if isinstance(value, str):
            cleaned = redact_personal_details(clean_text(value, MAX_METADATA_VALUE_CHARS)).text.strip()
            if cleaned:
                kept[key] = cleaned
    return kept
