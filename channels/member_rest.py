"""Rasa's REST channel for members, hardened.

Same URL and contract as the stock channel (POST /webhooks/rest/webhook with
{"sender": ..., "message": ..., "metadata": {...}}, a JSON list of bot
messages back), with the member rules every member channel takes
(channels/member_channel.py): personal details removed, only offered button
payloads read as commands, always at least one reply. And:

- a malformed request gets a 400 with a short JSON error, never a 500, and
  never lands in a shared "default" conversation as the stock channel does
  with a missing sender;
- only `Content-Type: application/json` bodies (415 otherwise): a web page
  can make any visitor's browser POST `text/plain` to another site without
  asking it first (no CORS preflight), never `application/json`;
- a body nested deeper than MAX_JSON_DEPTH gets a 400, never a 500;
  `metadata` deeper than MAX_METADATA_DEPTH or longer than MAX_METADATA_BYTES
  is dropped (rasa_server/limits.py);
- no streaming replies (`?stream=true`), which no member site here uses.
"""

import logging
from typing import Dict, Optional, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import bounded_json
from channels.member_channel import ConversationOfAnotherChannel, MemberChannel, OnNewMessage
from channels.member_input import is_valid_sender_id

logger = logging.getLogger(__name__)


class MemberRestInput(MemberChannel, RestInput):
    """The REST channel members' sites call (see the module docstring)."""

    def member_blueprint(self, on_member_message: OnNewMessage) -> Blueprint:
        member_webhook = Blueprint(f"member_webhook_{type(self).__name__}", __name__)

        @member_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @member_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not is_json_content_type(request.headers.get("content-type")):
                return response.json({"error": "Content-Type must be application/json."}, status=415)
            try:
                sender_id, text, metadata = parse_rest_request(request.body or b"")
            except InvalidMemberRequest as error:
                return response.json({"error": str(error)}, status=400)
            output = CollectingOutputChannel()
            try:
                await on_member_message(
                    UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
                )
            except ConversationOfAnotherChannel:
                return response.json({"error": "This conversation belongs to another client."}, status=403)
            return response.json(output.messages)

        return member_webhook

    @classmethod
    def name(cls) -> Text:
        """Keeps the stock channel's name, so its URL stays /webhooks/rest/webhook."""
        return "rest"


class InvalidMemberRequest(ValueError):
    """A REST request that is not a member message; its text is the short reason."""


def parse_rest_request(body: bytes) -> Tuple[str, str, Dict[str, object]]:
    """The sender id, text and metadata of a REST request body, or InvalidMemberRequest.

    Stricter than Rasa's REST channel, which puts every request without a
    sender into one shared conversation called "default".
    """
    try:
        payload = bounded_json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidMemberRequest("The request body must be UTF-8 encoded JSON.") from None
    except bounded_json.JSONTooDeep:
        raise InvalidMemberRequest("The request body is nested too deeply.") from None
    except ValueError:
        raise InvalidMemberRequest("The request body must be JSON.") from None
    if not isinstance(payload, dict):
        raise InvalidMemberRequest("The request body must be a JSON object.")
    sender_id, text, metadata = payload.get("sender"), payload.get("message"), payload.get("metadata")
    if not is_valid_sender_id(sender_id):
        raise InvalidMemberRequest(
            "`sender` must be 1 to 128 letters, digits or the characters . _ : -, and not a personal detail."
        )
    if not isinstance(text, str):
        raise InvalidMemberRequest("`message` must be a string.")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidMemberRequest("`metadata` must be a JSON object.")
    if metadata is not None and not bounded_json.small_metadata(metadata):
        # Only `state` and `plan_type` would be kept anyway: the message is
        # answered without metadata, as on socket.io.
        logger.warning("Dropped REST metadata that is too large or nested too deeply.")
        metadata = None
    return str(sender_id), text, dict(metadata or {})


def is_json_content_type(content_type: Optional[str]) -> bool:
    """True for `application/json`, with or without parameters such as a charset."""
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"
