"""Rasa's REST channel for members, hardened.

Same URL and contract as the stock channel (POST /webhooks/rest/webhook with
{"sender": ..., "message": ..., "metadata": {...}}, a JSON list of bot
messages back), with the member rules every member channel takes
(channels/member_channel.py): personal details removed, only offered button
payloads read as commands, always at least one reply. And:

- a malformed request gets a 400 with a short JSON error, never a 500, and
  never lands in a shared "default" conversation as the stock channel does
  with a missing sender;
- no streaming replies (`?stream=true`), which no member site here uses.
"""

import json
from typing import Dict, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.member_channel import MemberChannel, OnNewMessage
from channels.member_input import is_valid_sender_id


class MemberRestInput(MemberChannel, RestInput):
    """The REST channel members' sites call (see the module docstring)."""

    def member_blueprint(self, on_member_message: OnNewMessage) -> Blueprint:
        member_webhook = Blueprint(f"member_webhook_{type(self).__name__}", __name__)

        @member_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @member_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender_id, text, metadata = parse_rest_request(request.body or b"")
            except InvalidMemberRequest as error:
                return response.json({"error": str(error)}, status=400)
            output = CollectingOutputChannel()
            await on_member_message(
                UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
            )
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
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidMemberRequest("The request body must be UTF-8 encoded JSON.") from None
    except ValueError:
        raise InvalidMemberRequest("The request body must be JSON.") from None
    if not isinstance(payload, dict):
        raise InvalidMemberRequest("The request body must be a JSON object.")
    sender_id, text, metadata = payload.get("sender"), payload.get("message"), payload.get("metadata")
    if not is_valid_sender_id(sender_id):
        raise InvalidMemberRequest("`sender` must be 1 to 128 letters, digits or the characters . _ : -")
    if not isinstance(text, str):
        raise InvalidMemberRequest("`message` must be a string.")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidMemberRequest("`metadata` must be a JSON object.")
    return str(sender_id), text, dict(metadata or {})
