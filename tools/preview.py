"""`make preview`: what the assistant answers a member, and why, in the terminal.

    make preview Q="do i need a referral?" STATE=TX PLAN=hmo
    make preview Q="do i need a referral?" LANG=es
    python -m tools.preview --state TX --plan-type hmo --language es "do i need a referral?"

`--language` (make: LANG) asks for the answer in "en" or "es", as a member's
site does. make passes the shell's LANG when LANG=... is not given on its
command line, and that is a locale ("C.UTF-8", "en_US.UTF-8"), not a choice:
so only "en", "es" and a Spanish locale ("es_MX.UTF-8", "es-US") count as a
choice, anything else as not given (the assistant then goes by the words).

With RASA_URL (e.g. http://127.0.0.1:5005) and AGENT_TOKEN in the
environment it asks that running assistant. Otherwise it starts the action
server and the Rasa server on free ports with a one-off token, asks, and stops
them (about half a minute). Either way the answer comes from the agent preview
endpoint (channels/agent_preview.py), which runs the real model and actions.
"""

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional

from launch.paths import MODEL_PATH
from launch.servers import Assistant, free_port
from plan_coverage.engine import LANGUAGES

PREVIEW_PATH = "/webhooks/preview/answer"
WIDTH = 88
BAR_WIDTH = 20
# A Spanish locale name: "es_MX.UTF-8", "es-US", "es_ES@euro".
SPANISH_LOCALE = re.compile(r"es[-_].*")


class PreviewError(RuntimeError):
    """The preview could not be made; the message says why."""


def ask(url: str, token: str, question: Dict[str, Any]) -> Dict[str, Any]:
    """POST one question to the preview endpoint and return its JSON answer."""
    request = urllib.request.Request(
        url,
        json.dumps(question).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        if error.code == 401:
            raise PreviewError("the assistant did not accept the agent token (AGENT_TOKEN)") from error
        detail = error.read().decode(errors="replace")[:300]
        raise PreviewError(f"the preview failed with HTTP {error.code}: {detail}") from error
    except urllib.error.URLError as error:
        raise PreviewError(f"cannot reach the assistant at {url}: {error.reason}") from error


def ask_running_assistant(rasa_url: str, question: Dict[str, Any]) -> Dict[str, Any]:
    """Ask the assistant at RASA_URL with AGENT_TOKEN."""
    token = os.environ.get("AGENT_TOKEN", "").strip()
    if not token:
        raise PreviewError("RASA_URL is set but AGENT_TOKEN is not: give the agent token too")
    return ask(rasa_url.rstrip("/") + PREVIEW_PATH, token, question)


def ask_own_assistant(question: Dict[str, Any]) -> Dict[str, Any]:
    """Start the assistant on free ports for this one question, then stop it."""
    if not MODEL_PATH.exists():
        raise PreviewError(f"no trained model at {MODEL_PATH}: run `make preview` (it trains)")
    print("Starting the assistant on free ports (about half a minute)...", file=sys.stderr, flush=True)
    with tempfile.TemporaryFile() as log:
        assistant = Assistant(
            rasa_port=free_port(),
            action_port=free_port(),
            output=log,
            agent_token=secrets.token_urlsafe(24),
        )
        try:
            assistant.start()
            return ask(assistant.preview_url, str(assistant.agent_token), question)
        except RuntimeError as error:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            raise PreviewError(f"{error}\n{tail}") from error
        finally:
            assistant.stop()


def chosen_language(value: str) -> Optional[str]:
    """The answer language asked for: "en", "es" (a Spanish locale counts as
    "es"), or None for anything else, such as the shell's own LANG ("C.UTF-8")."""
    value = value.strip()
    if value in LANGUAGES:
        return value
    return "es" if SPANISH_LOCALE.fullmatch(value) else None


def bar(confidence: Optional[float]) -> str:
    """A text confidence bar: filled blocks out of BAR_WIDTH, and the percentage."""
    if not isinstance(confidence, (int, float)):
        return "n/a"
    filled = round(confidence * BAR_WIDTH)
    return f"{'█' * filled}{'░' * (BAR_WIDTH - filled)} {percent(confidence)}"


def percent(confidence: float) -> str:
    """A confidence as a percentage; "<1%" rather than a misleading "0%"."""
    return "<1%" if 0 < confidence < 0.005 else f"{confidence:.0%}"


def wrapped(text: str, indent: str, first_indent: Optional[str] = None) -> str:
    """Text wrapped to the terminal width, every line indented."""
    return textwrap.fill(
        text,
        WIDTH,
        initial_indent=indent if first_indent is None else first_indent,
        subsequent_indent=indent,
    )


def format_preview(question: Dict[str, Any], answer: Dict[str, Any]) -> str:
    """The preview as plain text for the terminal."""
    context = ", ".join(
        f"{label} {question.get(key) or 'not given'}"
        for key, label in (("state", "state"), ("plan_type", "plan type"))
    )
    lines: List[str] = [
        f"Question: {question['text']}",
        f"Plan context: {context}",
        f"Language asked: {question.get('language') or 'not given (the assistant goes by the words)'}",
    ]
    if question.get("history"):
        lines.append("Earlier messages: " + " / ".join(question["history"]))
    lines += ["", "WHAT THE MEMBER RECEIVES"]
    for number, message in enumerate(answer["messages"], 1):
        if message.get("text"):
            lines.append(wrapped(message["text"], "     ", f"{number:>3}. "))
        if message.get("buttons"):
            titles = " | ".join(button["title"] for button in message["buttons"])
            lines.append(wrapped(f"[buttons] {titles}", "     "))
        if "custom" in message:
            payload = json.dumps(message["custom"], ensure_ascii=False)
            lines.append(wrapped(f"[data, not shown as text] {payload}", "     ", f"{number:>3}. "))
    intent = answer.get("intent") or {}
    lines += ["", "WHY", f"  Intent:      {intent.get('name')}  {bar(intent.get('confidence'))}"]
    others = [f"{i['name']} {percent(i['confidence'])}" for i in answer.get("intent_ranking", [])[1:]]
    if others:
        lines.append(wrapped("Runners-up: " + ", ".join(others), "  "))
    entities = ", ".join(f"{e['entity']}={e['value']}" for e in answer.get("entities", [])) or "none"
    lines.append(f"  Entities:    {entities}")
    slots = ", ".join(f"{name}={value}" for name, value in answer.get("slots", {}).items() if value)
    lines.append(f"  Slots after: {slots or 'none set'}")
    outcome = answer.get("outcome")
    lines.append(
        f"  Outcome:     {outcome['name']}: {outcome['meaning']}"
        if outcome
        else "  Outcome:     no coverage answer"
    )
    coverage = answer.get("coverage") or {}
    if coverage:
        qualifiers = ", ".join(f"{k}={v}" for k, v in (coverage.get("qualifiers") or {}).items()) or "none"
        lines.append(f"  Qualifiers:  {qualifiers}")
        lines.append(f"  Decided by:  {coverage.get('decided_by') or 'the topic rule'}")
    lines.append("  Rules:" if answer.get("rules") else "  Rules:       none")
    for rule in answer.get("rules", []):
        lines.append(f"    {rule['id']} ({rule['kind']})")
        detail = f"redirects to {rule['redirect_to']}" if rule["kind"] == "redirect" else rule["text"]
        lines.append(wrapped(detail, "      "))
        # The source article's own words the rule rests on, and its references.
        lines += [wrapped(f"\u201c{quote}\u201d", "        ", "      > ") for quote in rule.get("source", [])]
        references = "; ".join(f"{ref['id']}: {ref['title']}" for ref in rule.get("references", []))
        lines.append(wrapped(f"References: {references or 'none'}", "        ", "      "))
    citations = (answer.get("coverage") or {}).get("citations") or []
    lines.append("  References:" if citations else "  References:  none")
    lines += [wrapped(citation, "      ", "    - ") for citation in citations]
    lines.append(f"  Language:    {describe_language(answer.get('language'))}")
    actions = ", ".join(a["name"] for a in answer.get("actions", []))
    lines.append(f"  Actions:     {actions or 'none'}")
    lines.append(f"  Fell back:   {'YES' if answer.get('fallback') else 'no'}")
    return "\n".join(lines)


def describe_language(language: Optional[Dict[str, Any]]) -> str:
    """The answer's language and what the detector found, in one line."""
    if not language:
        return "n/a"
    detected = language.get("detected")
    found = (
        f"detected {detected.get('language') or 'none'} {percent(detected.get('confidence') or 0.0)}"
        f"{'' if detected.get('clear') else ' (not clear enough to decide)'}"
        if detected
        else "not detected (a command skips NLU)"
    )
    return f"answer in {language.get('answer')}; {found}"


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("question", help="the member's message")
    parser.add_argument("--state", default="", help="IL, TX, OK, NM or MT (empty: not given)")
    parser.add_argument("--plan-type", default="", help="hmo, ppo, medicaid, medicare_advantage")
    parser.add_argument(
        "--history",
        action="append",
        default=[],
        help="an earlier member message (repeat, oldest first; newlines also separate)",
    )
    parser.add_argument(
        "--language",
        default="",
        help='answer in "en" or "es" (a Spanish locale such as es_MX.UTF-8 counts as es); '
        "anything else, e.g. the shell's LANG=C.UTF-8, is not given",
    )
    parser.add_argument("--json", action="store_true", help="print the endpoint's JSON answer")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not args.question.strip():
        print('error: give a question, e.g. make preview Q="do i need a referral?"', file=sys.stderr)
        return 2
    question = {
        "text": args.question.strip(),
        "state": args.state.strip().upper() or None,
        "plan_type": args.plan_type.strip().lower() or None,
        "history": [line.strip() for entry in args.history for line in entry.splitlines() if line.strip()],
    }
    language = chosen_language(args.language)
    if language is not None:
        question["language"] = language
    rasa_url = os.environ.get("RASA_URL", "").strip()
    try:
        answer = ask_running_assistant(rasa_url, question) if rasa_url else ask_own_assistant(question)
    except PreviewError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2, ensure_ascii=False) if args.json else format_preview(question, answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
