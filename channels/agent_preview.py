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
  POST /answer   {"text", "state", "plan_type", "history"} -> the answer and why;
                 needs `Authorization: Bearer <AGENT_TOKEN>`

AGENT_TOKEN must be set in the environment. Without it the channel refuses to
start, unless AGENT_PREVIEW_DEMO=1 asks for an open local demo.
"""

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
from rasa.shared.core.constants import DEFAULT_SLOT_NAMES
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from plan_coverage.engine import CoverageRules, load_rules

logger = logging.getLogger(__name__)

TOKEN_ENV = "AGENT_TOKEN"
DEMO_ENV = "AGENT_PREVIEW_DEMO"
WEB_DIR = Path(__file__).resolve().parents[1] / "web" / "agent"
# Files of the agent page, by the name the page asks for.
PAGE_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "agent.js": ("agent.js", "text/javascript; charset=utf-8"),
    "agent.css": ("agent.css", "text/css; charset=utf-8"),
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
MAX_TEXT_CHARS = 1000
MAX_HISTORY = 20
TOP_INTENTS = 5
# The response Rasa's fallbacks (and our action, for an unclear message) send.
FALLBACK_RESPONSE = "utter_default"
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"
LISTEN_ACTION = "action_listen"


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


async def page_file(name: Text) -> HTTPResponse:
    """One file of the agent page, with headers that keep it self-contained."""
    file_name, content_type = PAGE_FILES[name]
    return await response.file(WEB_DIR / file_name, mime_type=content_type, headers=PAGE_HEADERS)


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
    return {"text": text, "history": history, "metadata": context}


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
    """Send the earlier messages and the question as one member would; explain the answer."""
    isolated = preview_processor(processor)
    sender_id = f"{PREVIEW_SENDER_PREFIX}{uuid.uuid4().hex}"
    for text in [*question["history"], question["text"]]:
        # Only the last message's replies are the answer being previewed.
        collector = CollectingOutputChannel()
        await isolated.handle_message(
            UserMessage(
                text,
                collector,
                sender_id,
                input_channel=input_channel,
                metadata=dict(question["metadata"]),
            )
        )
    tracker = await isolated.tracker_store.retrieve(sender_id)
    if tracker is None:
        raise RuntimeError("the preview conversation was not stored")
    return explain(tracker, collector.messages, load_rules())


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
        if isinstance(e, ActionExecuted) and e.action_name != LISTEN_ACTION
    ]
    intent = parse_data.get("intent") or {}
    member_messages = [
        {key: value for key, value in message.items() if key != "recipient_id"} for message in messages
    ]
    coverage = next(
        (
            (m.get("custom") or {}).get("coverage")
            for m in member_messages
            if isinstance(m.get("custom"), dict) and "coverage" in m["custom"]
        ),
        None,
    )
    responses_sent = [e.metadata.get("utter_action") for e in turn if isinstance(e, BotUttered)]
    fell_back = (
        intent.get("name") == FALLBACK_INTENT
        or any(a["name"] == FALLBACK_ACTION for a in actions)
        or FALLBACK_RESPONSE in responses_sent
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
        "rules": describe_rules(coverage, rules),
        "fallback": fell_back,
    }


def describe_outcome(coverage: Optional[Dict[Text, Any]], rules: CoverageRules) -> Optional[Dict[Text, Text]]:
    """The coverage outcome with its meaning from the rules data, or None."""
    if not coverage:
        return None
    name = str(coverage.get("outcome"))
    return {"name": name, "meaning": rules.outcomes.get(name, "")}


def describe_rules(coverage: Optional[Dict[Text, Any]], rules: CoverageRules) -> List[Dict[Text, Any]]:
    """Each rule the answer used, with its text and references as stored in the rules data."""
    described = []
    for rule_id in (coverage or {}).get("rules") or []:
        try:
            rule = rules.rule(rule_id)
        except KeyError:
            described.append({"id": rule_id, "kind": "unknown", "text": "", "references": []})
            continue
        described.append(
            {
                "id": rule.id,
                "kind": rule.kind,
                "outcome": rule.outcome,
                "text": rule.text,
                "redirect_to": rule.redirect_to,
                "references": [
                    {"id": ref, "title": rules.references.get(ref, "")} for ref in rule.references
                ],
            }
        )
    return described
