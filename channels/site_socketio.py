"""Rasa's socketio channel, fixed for the website chat widget.

Rasa 3.6's stock channel (rasa/core/channels/socketio.py) has four problems
this subclass fixes, and changes nothing else:

- a custom payload is passed to `sio.emit` as keyword arguments, so
  `{"coverage": {...}}` raises; here it is sent as `{"custom": {...}}`;
- `enter_room` is not awaited; from python-socketio 5.10 it is a coroutine, so
  with `session_persistence: true` no reply ever reaches the member
  (RasaHQ/rasa#13027); here it is awaited whenever it returns an awaitable;
- it accepts WebSocket connections from any web page; here only the member
  sites in `cors_allowed_origins` may connect (an empty list allows only pages
  served by the Rasa server itself);
- a socket may post into any conversation whose id it names; here only into
  the one it joined with `session_request`, and malformed messages are
  dropped rather than raising;
- any socket may join any conversation by naming its id in
  `session_request` (and then receives every reply in it); here a
  conversation id is joined again only with the conversation token the
  server issued with it (`session_token` event, HMAC-signed, see
  channels/conversation_tokens.py and SECURITY.md); without it the socket
  gets a new conversation;
- WebSocket messages up to python-engineio's 1 MB are read; here the limit
  is the REST channel's, MAX_REQUEST_BODY_BYTES (rasa_server/limits.py);
- a packet or `customData` nested thousands of levels deep raises
  RecursionError; here it is dropped (channels/bounded_json.py), and events
  without a payload or with the wrong types are answered (a new session) or
  dropped, never an exception;
- over HTTP long-polling, python-engineio and Rasa's `--cors` would both add
  `Access-Control-Allow-Origin` (browsers refuse two); here only `--cors`
  adds it, while python-engineio still refuses other origins.

Member messages take the member rules of every member channel
(channels/member_channel.py): personal details removed, only offered button
payloads read as commands, always at least one reply.
"""

import inspect
import logging
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from channels import bounded_json
from channels.conversation_tokens import ConversationTokens
from channels.member_channel import ConversationOfAnotherChannel, MemberChannel, OnNewMessage
from channels.origins import parse_origins
from rasa_server.limits import MAX_REQUEST_BODY_BYTES

logger = logging.getLogger(__name__)

# Sent to a socket with each conversation id it may rejoin: {"session_id", "token"}.
SESSION_TOKEN_EVENT = "session_token"
# In a custom payload: the member's last message as kept (personal details replaced).
MEMBER_TEXT_KEY = "member_text"


class SiteSocketIOOutput(SocketIOOutput):
    """Sends custom payloads as one `{"custom": {...}}` message."""

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})

    async def show_member_text(self, recipient_id: Text, text: Text) -> None:
        """Give the widget the member's message as the assistant kept it
        (personal details replaced), so that the member's bubble, the widget's
        saved history and its transcript hold no more than the server does.
        Not a bot message: the widget replaces the member's text with it."""
        await self._send_message(recipient_id, {"custom": {MEMBER_TEXT_KEY: text}})


class SiteSocketIOInput(MemberChannel, SocketIOInput):
    """The socketio channel for member websites (see the module docstring)."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SiteSocketIOInput":
        credentials = dict(credentials or {})
        origins = parse_origins(credentials.pop("cors_allowed_origins", None))
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SiteSocketIOInput)
        channel.cors_allowed_origins = origins
        return channel

    def __init__(self, *args: Any, cors_allowed_origins: Optional[List[Text]] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cors_allowed_origins = cors_allowed_origins or []

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        return None if self.sio is None else SiteSocketIOOutput(self.sio, self.bot_message_evt)

    def member_blueprint(self, on_member_message: OnNewMessage) -> Blueprint:
        socketio_blueprint = SocketIOInput.blueprint(self, on_member_message)
        sio = self.sio
        assert sio is not None

        # None makes python-engineio accept only same-origin pages; the stock
        # channel's [] turns the origin check off.
        sio.eio.cors_allowed_origins = self.cors_allowed_origins or None
        # The origin check stays, the header goes: Rasa's --cors (the same
        # SITE_ORIGINS) adds Access-Control-Allow-Origin to every response,
        # and a second one makes browsers refuse HTTP long-polling.
        sio.eio._cors_headers = lambda environ: []
        sio.eio.max_http_buffer_size = MAX_REQUEST_BODY_BYTES
        # python-socketio sets the JSON module on its Packet class (as its
        # own `json=` argument does): packets nested too deeply are dropped.
        sio.packet_class.json = bounded_json.SocketIOPacketJSON
        tokens = ConversationTokens.from_env()

        # Replaces the stock handler of the same event. Any payload, or none.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None, *_: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            token = data.get("session_token") if isinstance(data, dict) else None
            if not tokens.valid(session_id, token):
                # New, made up, or someone else's: a new conversation.
                session_id = uuid.uuid4().hex
            assert isinstance(session_id, str)
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit(
                SESSION_TOKEN_EVENT,
                {"session_id": session_id, "token": tokens.issue(session_id)},
                room=sid,
                namespace=self.namespace,
            )
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        # Replaces the stock handler of the same event. Any payload, or none.
        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any = None, *_: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                logger.warning("Ignored a malformed socket.io message.")
                return
            sender_id: Any = sid
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or sender_id not in sio.rooms(
                    sid, namespace=self.namespace
                ):
                    logger.warning("Ignored a message for a conversation this socket has not joined.")
                    return
            try:
                await on_member_message(
                    UserMessage(
                        data["message"],
                        SiteSocketIOOutput(sio, self.bot_message_evt),
                        sender_id,
                        input_channel=self.name(),
                        metadata=metadata_from(data.get(self.metadata_key)),
                    )
                )
            except ConversationOfAnotherChannel:
                return  # logged by the member rules; nothing of that conversation is sent

        return socketio_blueprint


def metadata_from(value: Any) -> Dict[Text, Any]:
    """A message's metadata: a small object, or one sent as a JSON string.

    Anything else (another type, invalid JSON, too deep or too large) is
    dropped: the message is still answered, without metadata.
    """
    if isinstance(value, str):
        if len(value) > MAX_REQUEST_BODY_BYTES:
            return {}
        try:
            value = bounded_json.loads(value)
        except ValueError:
            return {}
    return value if bounded_json.small_metadata(value) else {}
