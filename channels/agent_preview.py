"""Agent preview channel: what the assistant would answer a member, and why.

Support agents and content owners ask a question in a plan context and see
the member-facing messages together with the intent, entities, slots, the
coverage rule that fired and its references. The question runs through this
server's own model, dialogue policies and action server, so the preview
cannot drift from what members get.

Preview conversations are kept apart from members': each request gets its
own in-memory tracker store (no event broker) and lock store, dropped when
the request ends, so nothing reaches the members' tracker store, their
conversation locks or their analytics events.

Routes (under /webhooks/preview):
  GET  /         the agent page (web/agent/)
  GET  /plan-context  the states and plan types the rules know (for the pickers)
  POST /answer   {"text", "state", "plan_type", "history", "language"} -> the
                 answer and why; `language` ("en" or "es", optional) is the
                 language a member's site would ask for (metadata "lang"), and
                 `language` in the reply says which language the answer is in
                 and what the assistant detected; needs
                 `Authorization: Bearer <AGENT_TOKEN>`
  POST /flag     {"text", "state", "plan_type", "history", "note"} -> the
                 question previewed again and its answer flagged for content
                 owners: one line of the review queue (tools/flag_queue.py), the
                 question and note redacted like a member's; needs the same token
  GET  /render.js, /widget.css  the member widget's own renderer and styles
                 (web/widget/), so "What the member sees" is the widget's DOM
  POST /review   {"since", "until"} (YYYY-MM-DD, UTC, both days included; no
                 `until`: today; no `since`: the 7 days up to `until`) -> the
                 review report (tools/review.py) of this server's tracker store,
                 for content owners; needs the same token

AGENT_TOKEN must be set in the environment. Without it the channel refuses to
start, unless AGENT_PREVIEW_DEMO=1 asks for an open local demo.
"""

import asyncio
import copy
import hmac
import logging
import os
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.core.constants import ACTION_DEFAULT_FALLBACK_NAME, ACTION_LISTEN_NAME, DEFAULT_SLOT_NAMES
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.member_channel import LANGUAGE_SLOT, PERSONAL_DETAILS_NOTICE, offered_commands
from channels.member_input import (
    MAX_MESSAGE_CHARS,
    command_with_language,
    plan_context_metadata,
    prepare_member_text,
)
from nlu_components.language import requested_language
from nlu_components.language_detector import DETECTION_KEY, LANGUAGE_ENTITY
from plan_coverage.engine import DEFAULT_LANGUAGE, LANGUAGES, CoverageRules, load_rules
from plan_coverage.replies import NOT_UNDERSTOOD_RESPONSE
from rasa_server.nlg import response_text
from tools.flag_queue import MAX_NOTE_CHARS, answer_as_text, append_flag, new_flag

logger = logging.getLogger(__name__)

TOKEN_ENV = "AGENT_TOKEN"
DEMO_ENV = "AGENT_PREVIEW_DEMO"
WEB_DIR = Path(__file__).resolve().parents[1] / "web" / "agent"
WIDGET_DIR = WEB_DIR.parent / "widget"
# Files of the agent page, by the name the page asks for: its own, and the
# member widget's renderer and styles, served from the widget's folder so the
# page shows an answer exactly as members get it.
PAGE_FILES = {
    "": (WEB_DIR / "index.html", "text/html; charset=utf-8"),
    "agent.js": (WEB_DIR / "agent.js", "text/javascript; charset=utf-8"),
    "agent.css": (WEB_DIR / "agent.css", "text/css; charset=utf-8"),
    "review.js": (WEB_DIR / "review.js", "text/javascript; charset=utf-8"),
    "render.js": (WIDGET_DIR / "render.js", "text/javascript; charset=utf-8"),
    "widget.css": (WIDGET_DIR / "widget.css", "text/css; charset=utf-8"),
}
# The page loads only its own files and talks only to this server.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# Preview conversation ids never look like a member's, even in a log line.
PREVIEW_SENDER_PREFIX = "agent-preview-"
# Bounds on what one request may ask the assistant to process.
MAX_TEXT_CHARS = MAX_MESSAGE_CHARS
MAX_HISTORY = 20
TOP_INTENTS = 5
# The metadata key a member's site asks for a language with (channels/member_input.py).
LANGUAGE_METADATA_KEY = "lang"


class PreviewRequestError(ValueError):
    """A preview request the channel cannot answer; the message says why."""


class AgentPreviewInput(InputChannel):
    """Input channel for support agents' previews, protected by a bearer token."""

    @classmethod
    def name(cls) -> Text:
        return "preview"

    def __init__(self, token: Optional[Text]) -> None:
        # None only in the local demo mode: then every request is accepted.
        self.token = token

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "AgentPreviewInput":
        """The channel, configured from the environment (never from credentials.yml).

        Raises RasaException (which stops `rasa run`) when no token is set and
        the demo mode was not asked for.
        """
        token = os.environ.get(TOKEN_ENV, "").strip()
        if token:
            return cls(token)
        if os.environ.get(DEMO_ENV) == "1":
            logger.warning(
                "\n%s\nAGENT PREVIEW DEMO MODE: %s is not set and %s=1, so the agent preview\n"
                "at /webhooks/preview/ answers ANYONE who can reach this server, without a token.\n"
                "Use it only on your own machine. Set %s to protect it.\n%s",
                "!" * 78,
                TOKEN_ENV,
                DEMO_ENV,
                TOKEN_ENV,
                "!" * 78,
            )
            return cls(None)
        raise RasaException(
            f"The agent preview channel needs a token: set {TOKEN_ENV} in the environment "
            f"(or {DEMO_ENV}=1 for an open local demo, never in production)."
        )

    def is_authorised(self, request: Request) -> bool:
        """True when the request carries the agent token (always, in demo mode)."""
        if self.token is None:
            return True
        scheme, _, supplied = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(supplied.strip().encode(), self.token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # Members' messages go through `on_new_message` (the agent and its
        # tracker store); previews deliberately do not: see `preview_processor`.
        preview = Blueprint(f"agent_preview_{type(self).__name__}", __name__)

        @preview.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):
                # The page names its files relative to the folder URL.
                return response.redirect(request.path + "/")
            return await page_file("")

        @preview.route("/agent.js", methods=["GET"])
        async def script(request: Request) -> HTTPResponse:
            return await page_file("agent.js")

        @preview.route("/agent.css", methods=["GET"])
        async def style(request: Request) -> HTTPResponse:
            return await page_file("agent.css")

        @preview.route("/review.js", methods=["GET"])
        async def review_script(request: Request) -> HTTPResponse:
            return await page_file("review.js")

        @preview.route("/render.js", methods=["GET"])
        async def widget_renderer(request: Request) -> HTTPResponse:
            return await page_file("render.js")

        @preview.route("/widget.css", methods=["GET"])
        async def widget_style(request: Request) -> HTTPResponse:
            return await page_file("widget.css")

        @preview.route("/flag", methods=["POST"])
        async def flag(request: Request) -> HTTPResponse:
            if not self.is_authorised(request):
                return response.empty(status=401, headers={"WWW-Authenticate": "Bearer"})
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"error": "the assistant is not ready"}, 503, NO_STORE)
            return await flag_response(request, agent.processor, self.name())

        @preview.route("/review", methods=["POST"])
        async def review(request: Request) -> HTTPResponse:
            if not self.is_authorised(request):
                return response.empty(status=401, headers={"WWW-Authenticate": "Bearer"})
            return await review_response(request)

        @preview.route("/plan-context", methods=["GET"])
        async def plan_context(request: Request) -> HTTPResponse:
            values = load_rules().context_values
            return response.json({"state": dict(values["state"]), "plan_type": dict(values["plan_type"])})

        @preview.route("/answer", methods=["POST"])
        async def answer(request: Request) -> HTTPResponse:
            if not self.is_authorised(request):
                return response.empty(status=401, headers={"WWW-Authenticate": "Bearer"})
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"error": "the assistant is not ready"}, 503, NO_STORE)
            rules = load_rules()
            try:
                question = parse_request(request, rules)
            except PreviewRequestError as error:
                return response.json({"error": str(error)}, 400, NO_STORE)
            try:
                result = await run_preview(agent.processor, question, self.name())
            except Exception as error:  # noqa: BLE001 - any failure becomes a 500
                # The error's message may quote the question: name its type only,
                # with the traceback when debugging.
                logger.error(
                    "agent preview failed: %s",
                    type(error).__name__,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                return response.json({"error": "the assistant could not answer"}, 500, NO_STORE)
            return response.json(result, headers=NO_STORE)

        return preview


async def review_response(request: Request) -> HTTPResponse:
    """The review report of this server's tracker store for the period asked, as JSON.

    The report reads the store in a worker thread (it streams every event of
    the period), so the server keeps answering members meanwhile.
    """
    from tools import review
    from tools.review_store import store_url

    try:
        body = request.json if request.body else {}
    except Exception:  # noqa: BLE001 - Sanic raises its own BadRequest on bad JSON
        return response.json({"error": "the body must be JSON"}, 400, NO_STORE)
    if not isinstance(body, dict):
        return response.json({"error": "the body must be a JSON object"}, 400, NO_STORE)
    try:
        since, until = review.period(
            _date_or_none(body.get("since"), "since"),
            _date_or_none(body.get("until"), "until"),
            names=("`since`", "`until`"),
        )
    except (TypeError, ValueError, OverflowError) as error:
        # The message names the date that is wrong and why; it quotes only that date.
        return response.json({"error": str(error)}, 400, NO_STORE)
    url = store_url()
    try:
        result = await asyncio.get_running_loop().run_in_executor(
            None, review.console_summary, url, since, until
        )
    except Exception as error:  # noqa: BLE001 - any failure becomes a 500
        logger.error("the review report failed: %s", type(error).__name__)
        return response.json({"error": "the review report could not be made"}, 500, NO_STORE)
    return response.json(result, headers=NO_STORE)


def _date_or_none(value: Any, name: Text) -> Optional[Text]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a date as YYYY-MM-DD (a string) or null")
    return value


async def page_file(name: Text) -> HTTPResponse:
    """One file of the agent page, with headers that keep it self-contained (404 when missing)."""
    path, content_type = PAGE_FILES[name]
    if not path.is_file():
        return response.empty(status=404)
    return await response.file(path, mime_type=content_type, headers=PAGE_HEADERS)


async def flag_response(request: Request, processor: MessageProcessor, input_channel: Text) -> HTTPResponse:
    """Record a flagged answer in the review queue; answer with what was stored.

    The answer, its rule ids and intent come from this server, not from the
    page: the question is previewed again, exactly as /answer does. The
    agent's note, the question and the earlier messages go through the member
    channels' redaction, so the queue holds no personal details whatever the
    agent typed or pasted.
    """
    rules = load_rules()
    try:
        flagged = parse_flag(request, rules)
    except PreviewRequestError as error:
        return response.json({"error": str(error)}, 400, NO_STORE)
    try:
        result = await run_preview(processor, flagged, input_channel)
    except Exception as error:  # noqa: BLE001 - any failure becomes a 500
        logger.error("agent preview for a flag failed: %s", type(error).__name__)
        return response.json({"error": "the assistant could not answer"}, 500, NO_STORE)
    record = new_flag(
        rules=[rule["id"] for rule in result["rules"]],
        question=flagged["text"],
        state=flagged["metadata"].get("state"),
        plan_type=flagged["metadata"].get("plan_type"),
        history=flagged["history"],
        answer=answer_as_text(result["messages"]),
        note=flagged["note"],
        intent=result["intent"]["name"],
    )
    try:
        await asyncio.get_running_loop().run_in_executor(None, append_flag, record)
    except OSError as error:
        logger.error("the flag queue could not be written: %s", type(error).__name__)
        return response.json({"error": "the flag could not be stored"}, 500, NO_STORE)
    return response.json({"flagged": record}, headers=NO_STORE)


def parse_request(request: Request, rules: CoverageRules) -> Dict[Text, Any]:
    """The question, plan context and earlier messages of a preview request."""
    try:
        body = request.json
    except Exception as error:  # noqa: BLE001 - Sanic raises its own on bad JSON
        raise PreviewRequestError("the body must be JSON") from error
    if not isinstance(body, dict):
        raise PreviewRequestError("the body must be a JSON object")
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
        raise PreviewRequestError(f"`text` must be a question of 1 to {MAX_TEXT_CHARS} characters")
    history = body.get("history") or []
    if (
        not isinstance(history, list)
        or len(history) > MAX_HISTORY
        or not all(isinstance(m, str) and m.strip() and len(m) <= MAX_TEXT_CHARS for m in history)
    ):
        raise PreviewRequestError(f"`history` must be a list of at most {MAX_HISTORY} non-empty messages")
    context = {}
    for key in ("state", "plan_type"):
        value = body.get(key)
        if value in (None, ""):
            continue
        if value not in rules.context_values[key]:
            allowed = ", ".join(rules.context_values[key])
            raise PreviewRequestError(f"`{key}` must be null or one of {allowed}")
        context[key] = value
    language = requested_language_of(body)
    if language is not None:
        context[LANGUAGE_METADATA_KEY] = language
    return {"text": text, "history": history, "metadata": context}


def requested_language_of(body: Dict[Text, Any]) -> Optional[Text]:
    """The request's `language`: None when not given, else exactly one of LANGUAGES.

    Stricter than the member channels (which also take "es-MX"): an agent
    picks from the console's list, so anything else is a mistake to report.
    """
    value = body.get("language")
    if value in (None, ""):
        return None
    if value not in LANGUAGES:
        raise PreviewRequestError(f"`language` must be null or one of {', '.join(LANGUAGES)}")
    return str(value)


def parse_flag(request: Request, rules: CoverageRules) -> Dict[Text, Any]:
    """The question, plan context and earlier messages of a flag request (as for
    /answer) and the agent's note: 1 to MAX_NOTE_CHARS characters."""
    question = parse_request(request, rules)
    note = request.json.get("note")
    if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE_CHARS:
        raise PreviewRequestError(f"`note` must say what is wrong, in 1 to {MAX_NOTE_CHARS} characters")
    return {**question, "note": note}


def preview_processor(processor: MessageProcessor) -> MessageProcessor:
    """The server's processor (same model, policies, responses and action
    server) with a tracker store and lock store of its own for one preview.

    The in-memory tracker store has no event broker, so preview turns are
    never published as member traffic, and it is dropped with the request.
    """
    isolated = copy.copy(processor)
    isolated.tracker_store = InMemoryTrackerStore(processor.domain)
    isolated.lock_store = InMemoryLockStore()
    return isolated


async def run_preview(
    processor: MessageProcessor, question: Dict[Text, Any], input_channel: Text
) -> Dict[Text, Any]:
    """Send the earlier messages and the question as one member would; explain the answer.

    Each text is prepared as the member channels prepare a member's
    (channels/member_input.py: commands, personal details), so NLU sees what
    it would see from a member.
    """
    isolated = preview_processor(processor)
    sender_id = f"{PREVIEW_SENDER_PREFIX}{uuid.uuid4().hex}"
    commands = offered_commands(processor.domain)
    read_as = []
    metadata = plan_context_metadata(question["metadata"])
    # The member channels tell a member once that personal details were not kept.
    noticed_at: Optional[int] = None
    for index, text in enumerate([*question["history"], question["text"]]):
        # Only the last message's replies are the answer being previewed.
        collector = CollectingOutputChannel()
        prepared = prepare_member_text(text, commands)
        read_as.append(prepared.text)
        if prepared.removed and noticed_at is None:
            noticed_at = index
        # As the member channels do: a command ("/ask_coverage_overview", a
        # button) never reaches NLU, so it carries the asked language itself.
        await isolated.handle_message(
            UserMessage(
                command_with_language(read_as[-1], requested_language(metadata)),
                collector,
                sender_id,
                input_channel=input_channel,
                metadata=metadata,
            )
        )
    tracker = await isolated.tracker_store.retrieve(sender_id)
    if tracker is None:
        raise RuntimeError("the preview conversation was not stored")
    messages = list(collector.messages)
    if noticed_at == len(read_as) - 1:
        # As the member gets it (channels/member_channel.py): the notice first,
        # in the language the message sets.
        language = tracker.get_slot(LANGUAGE_SLOT) or DEFAULT_LANGUAGE
        messages.insert(0, {"text": response_text(PERSONAL_DETAILS_NOTICE, processor.domain, language)})
    explained = explain(tracker, messages, load_rules())
    # What the assistant read, personal details replaced: the console's share
    # links carry these texts, never what the agent pasted.
    explained["read_as"] = {"text": read_as[-1], "history": read_as[:-1]}
    return explained


def explain(
    tracker: DialogueStateTracker, messages: List[Dict[Text, Any]], rules: CoverageRules
) -> Dict[Text, Any]:
    """The member-facing messages of the last turn, and the reasons behind them."""
    events = list(tracker.events)
    last_user = max(i for i, event in enumerate(events) if isinstance(event, UserUttered))
    parse_data = events[last_user].parse_data
    turn = events[last_user + 1 :]
    actions = [
        {"name": e.action_name, "policy": e.policy, "confidence": e.confidence}
        for e in turn
        if isinstance(e, ActionExecuted) and e.action_name != ACTION_LISTEN_NAME
    ]
    intent = parse_data.get("intent") or {}
    member_messages = [
        {key: value for key, value in message.items() if key != "recipient_id"} for message in messages
    ]
    # Two questions in one message get two coverage answers: `coverage` is the
    # first, `rules` describes the rules of all of them.
    coverages = [
        m["custom"]["coverage"]
        for m in member_messages
        if isinstance(m.get("custom"), dict) and isinstance(m["custom"].get("coverage"), dict)
    ]
    coverage = coverages[0] if coverages else None
    responses_sent = [e.metadata.get("utter_action") for e in turn if isinstance(e, BotUttered)]
    fell_back = (
        intent.get("name") == DEFAULT_NLU_FALLBACK_INTENT_NAME
        or any(a["name"] == ACTION_DEFAULT_FALLBACK_NAME for a in actions)
        or NOT_UNDERSTOOD_RESPONSE in responses_sent
    )
    return {
        "messages": member_messages,
        "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
        "intent_ranking": [
            {"name": i.get("name"), "confidence": i.get("confidence")}
            for i in (parse_data.get("intent_ranking") or [])[:TOP_INTENTS]
        ],
        "entities": [
            {k: v for k, v in entity.items() if k in ("entity", "value", "start", "end", "extractor")}
            for entity in parse_data.get("entities") or []
        ],
        "slots": {
            name: value
            for name, value in tracker.current_slot_values().items()
            if name not in DEFAULT_SLOT_NAMES
        },
        "actions": actions,
        "coverage": coverage,
        "outcome": describe_outcome(coverage, rules),
        "rules": describe_rules(coverages, rules),
        "fallback": fell_back,
        "language": describe_language(parse_data, coverage, tracker),
    }


def describe_language(
    parse_data: Dict[Text, Any], coverage: Optional[Dict[Text, Any]], tracker: DialogueStateTracker
) -> Dict[Text, Any]:
    """The language of the answer and how it was chosen.

    `answer`: the coverage answer's language, else the conversation's (the slot
    the responses' Spanish variations go by; unset is English); `requested`:
    what the site (here the agent) asked for; `detected`: what the language
    detector found in the question ({language, confidence, clear}), None for a
    command, which never reaches NLU.
    """
    conversation = tracker.get_slot(LANGUAGE_ENTITY)
    answer = (coverage or {}).get("language") or (conversation if conversation in LANGUAGES else None)
    detection = parse_data.get(DETECTION_KEY)
    detected = (
        {key: detection.get(key) for key in ("language", "confidence", "clear")}
        if isinstance(detection, dict)
        else None
    )
    requested = requested_language(
        (tracker.latest_message.metadata if tracker.latest_message else None) or {}
    )
    return {
        "answer": answer or DEFAULT_LANGUAGE,
        "conversation": conversation,
        "requested": requested,
        "detected": detected,
    }


def describe_outcome(coverage: Optional[Dict[Text, Any]], rules: CoverageRules) -> Optional[Dict[Text, Text]]:
    """The coverage outcome with its meaning from the rules data, or None."""
    if not coverage:
        return None
    name = str(coverage.get("outcome"))
    return {"name": name, "meaning": rules.outcomes.get(name, "")}


def describe_rules(coverages: List[Dict[Text, Any]], rules: CoverageRules) -> List[Dict[Text, Any]]:
    """Each rule the answers used (once, in order), with its text, the source
    article's words it rests on and its references, as stored in the rules data."""
    described = []
    rule_ids = dict.fromkeys(rule_id for coverage in coverages for rule_id in coverage.get("rules") or [])
    for rule_id in rule_ids:
        try:
            rule = rules.rule(rule_id)
        except KeyError:
            described.append({"id": rule_id, "kind": "unknown", "text": "", "source": [], "references": []})
            continue
        described.append(
            {
                "id": rule.id,
                "kind": rule.kind,
                "outcome": rule.outcome,
                "text": rule.text,
                "redirect_to": rule.redirect_to,
                # The source article's own words the rule rests on (rules.yml `source`).
                "source": list(rule.source),
                "references": [
                    {"id": ref, "title": rules.references.get(ref, "")} for ref in rule.references
                ],
            }
        )
    return described
