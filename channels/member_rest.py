"""Rasa's REST channel for members, hardened.

Same URL and contract as the stock channel (POST /webhooks/rest/webhook with
{"sender": ..., "message": ..., "metadata": {...}}, a JSON list of bot
messages back), with what a member-facing endpoint needs
(channels/member_turn.py): personal details removed, only offered button
payloads read as commands, always at least one reply. And:

- a malformed request gets a 400 with a short JSON error, never a 500, and
  never lands in a shared "default" conversation as the stock channel does
  with a missing sender;
- only the plan-context metadata is kept;
- no streaming replies (`?stream=true`), which no member site here uses.
"""

from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.member_input import InvalidMemberRequest, parse_rest_request
from channels.member_turn import MemberRestOutput, handle_member_message


class MemberRestInput(RestInput):
    """The REST channel members' sites call (see the module docstring)."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
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
            output = MemberRestOutput()
            await handle_member_message(
                request.app.ctx.agent,
                on_new_message,
                output,
                sender_id,
                text,
                metadata,
                input_channel=self.name(),
            )
            return response.json(output.messages)

        return member_webhook

    @classmethod
    def name(cls) -> Text:
        """Keeps the stock channel's name, so its URL stays /webhooks/rest/webhook."""
        return "rest"
