"""The review queue of answers agents flagged as wrong ("Flag this answer" in
the agent console), written by the preview channel and read by `make review`,
the console's Review tab and `make catalogue`.

JSON Lines at REVIEW_FLAG_QUEUE (default var/flagged_answers.jsonl), one flag
per line: "rules" (list of rule ids, strings; empty only for an answer no
rule made, such as a fallback, and then "question" is required) and
optionally "time" (Unix seconds or ISO 8601), "question", "state",
"plan_type", "note", "answer", "intent" (strings) and "history" (list of
strings, the earlier member messages). Personal details never enter the
queue: the channel runs every text through the member channels' redaction
(channels/member_input.py) before writing, and readers apply today's
redaction again, as the review report does for stored member text.

Pure Python with no Rasa imports, so the Rasa server, the tools and the tests
share it.
"""

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from channels.member_input import MAX_MESSAGE_CHARS, bounded, normalise_text, redact_personal_details
from launch.paths import PROJECT_DIR

FLAG_QUEUE_ENV = "REVIEW_FLAG_QUEUE"
DEFAULT_FLAG_QUEUE = PROJECT_DIR / "var" / "flagged_answers.jsonl"
# The text fields a flag may carry, in the order reports show them.
FLAG_TEXT_FIELDS = ("question", "state", "plan_type", "note", "answer", "intent")
# Written by the server from the assistant's messages, never from member text.
ASSISTANT_TEXT_FIELDS = ("answer",)
# An agent's note: a few sentences, not a document.
MAX_NOTE_CHARS = 1000
MAX_HISTORY = 20


def queue_path() -> Path:
    """Where the queue is: REVIEW_FLAG_QUEUE, else var/flagged_answers.jsonl of the project."""
    return Path(os.environ.get(FLAG_QUEUE_ENV) or DEFAULT_FLAG_QUEUE)


def redacted(text: str, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """Text as the member channels keep it: cut, normalised, personal details replaced."""
    return redact_personal_details(normalise_text(bounded(text))).text[:max_chars] if text else ""


def new_flag(
    *,
    rules: Sequence[str],
    question: str,
    state: Optional[str],
    plan_type: Optional[str],
    history: Sequence[str],
    answer: str,
    note: str,
    intent: Optional[str],
    at: Optional[datetime] = None,
) -> Dict[str, Any]:
    """One queue line for a flagged answer, the question, earlier messages and
    note redacted (the answer is the assistant's, see answer_as_text).

    `at` defaults to now (UTC); the time is written as ISO 8601 to the second.
    """
    when = (at or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    return {
        "time": when.isoformat(),
        "rules": list(rules),
        "question": redacted(question),
        "state": state,
        "plan_type": plan_type,
        "history": [redacted(message) for message in history][:MAX_HISTORY],
        # The assistant's own words, made by the server (answer_as_text): not
        # member text, and redaction would mangle policy ids ("Policy THE803.010").
        "answer": answer,
        "intent": intent,
        "note": redacted(note, MAX_NOTE_CHARS),
    }


def answer_as_text(messages: Sequence[Dict[str, Any]]) -> str:
    """The bot messages of one turn as plain text, in order: each text, the
    buttons offered as "[HMO] [PPO]", and after each coverage payload its
    references as "Based on: ..." (the widget's words for them)."""
    lines: List[str] = []
    for message in messages:
        if isinstance(message.get("text"), str) and message["text"]:
            lines.append(message["text"])
        buttons = message.get("buttons") or message.get("quick_replies") or []
        titles = [str(button.get("title")) for button in buttons if isinstance(button, dict)]
        if titles:
            lines.append("[" + "] [".join(titles) + "]")
        custom = message.get("custom")
        coverage = custom.get("coverage") if isinstance(custom, dict) else None
        if isinstance(coverage, dict) and coverage.get("citations"):
            lines.append("Based on: " + "; ".join(str(c) for c in coverage["citations"]))
    return "\n".join(lines)


def append_flag(flag: Dict[str, Any], path: Optional[Path] = None) -> Path:
    """Append one flag as a line of the queue (created with its folder if missing); return the path.

    An exclusive lock around the one write keeps lines whole when several
    server processes share the file.
    """
    path = path or queue_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(flag, ensure_ascii=False) + "\n"
    with path.open("a", encoding="utf-8") as queue:
        fcntl.flock(queue, fcntl.LOCK_EX)
        try:
            queue.write(line)
            queue.flush()
        finally:
            fcntl.flock(queue, fcntl.LOCK_UN)
    return path


def flag_record(flag: Any) -> Optional[Dict[str, Any]]:
    """One line of the queue checked and made fit to show, or None when it is not a flag.

    Returns {"rules": [str], "at": datetime or None, "history": [str], and
    each of FLAG_TEXT_FIELDS as a str ("" when absent)}; every text but the
    assistant's answer redacted again with today's rules.
    """
    if not isinstance(flag, dict):
        return None
    rules = flag.get("rules")
    if not isinstance(rules, list) or not all(isinstance(r, str) and r.strip() for r in rules):
        return None
    question = flag.get("question")
    if not rules and not (isinstance(question, str) and question.strip()):
        return None
    record: Dict[str, Any] = {"rules": [rule.strip() for rule in rules], "at": None}
    when = flag.get("time")
    if isinstance(when, bool):
        return None
    if isinstance(when, (int, float)):
        try:
            record["at"] = datetime.fromtimestamp(when, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(when, str) and when.strip():
        try:
            at = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        record["at"] = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    elif when is not None:
        return None
    for name in FLAG_TEXT_FIELDS:
        value = flag.get(name)
        if value is not None and not isinstance(value, str):
            return None
        text = value or ""
        record[name] = text if name in ASSISTANT_TEXT_FIELDS else redact_personal_details(text).text
    history = flag.get("history")
    if history is not None and not (
        isinstance(history, list) and all(isinstance(message, str) for message in history)
    ):
        return None
    record["history"] = [redact_personal_details(message).text for message in history or []]
    return record


def read_flags(
    path: Path, since: Optional[datetime] = None, until: Optional[datetime] = None
) -> Tuple[List[Dict[str, Any]], int]:
    """The flags of the period [since, until) from the queue at `path` (all of
    them without a period; a flag without a time is always kept), and how many
    lines were skipped as not being flags. No file: no flags."""
    if not path.exists():
        return [], 0
    flags = []
    skipped = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                record = flag_record(json.loads(line))
            except ValueError:
                record = None
            if record is None:
                skipped += 1
                continue
            at = record["at"]
            if at is not None and ((since is not None and at < since) or (until is not None and at >= until)):
                continue
            flags.append(record)
    return flags, skipped


def rule_cell(flag: Dict[str, Any]) -> str:
    """The rule ids of a flag as one cell; an answer no rule made names its intent."""
    if flag["rules"]:
        return ", ".join(flag["rules"])
    return f"no rule (intent {flag['intent'] or 'unknown'})"


def flag_rows(flags: Iterable[Dict[str, Any]]) -> List[List[str]]:
    """Flags as table rows, in FLAG_COLUMNS order."""
    return [
        [
            f"{flag['at']:%Y-%m-%d %H:%M} UTC" if flag["at"] else "",
            rule_cell(flag),
            flag["question"],
            flag["state"],
            flag["plan_type"],
            flag["note"],
            " / ".join(flag["history"]),
            flag["answer"],
        ]
        for flag in flags
    ]


FLAG_COLUMNS = ["time", "rule ids", "question", "state", "plan type", "note", "earlier messages", "answer"]
