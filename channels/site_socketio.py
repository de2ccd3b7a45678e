"""Rasa's socketio channel, fixed for the website chat widget.

Rasa 3.6's stock channel (rasa/core/channels/socketio.py) has three problems
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
  dropped rather than raising.

Member messages then take the same steps as on the REST channel
(channels/member_turn.py): personal details removed, only offered button
payloads read as commands, always at least one reply.
"""

import inspect
import json
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic

from channels.member_turn import handle_member_message
from channels.origins import parse_origins

logger = logging.getLogger(__name__)

# A session id the widget sends back must look like the ones this channel makes.
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class SiteSocketIOOutput(SocketIOOutput):
    """Sends custom payloads as one `{"custom": {...}}` message; counts what it sends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent_count = 0

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        self.sent_count += 1
        await super()._send_message(socket_id, response)

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class SiteSocketIOInput(SocketIOInput):
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
        self.app: Optional[Sanic] = None

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        return None if self.sio is None else SiteSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None

        @socketio_blueprint.listener("before_server_start")
        async def remember_app(app: Sanic, _loop: Any) -> None:
            self.app = app  # the agent lives on the app; socket events get no request

        # None makes python-engineio accept only same-origin pages; the stock
        # channel's [] turns the origin check off.
        sio.eio.cors_allowed_origins = self.cors_allowed_origins or None

        # Replaces the stock handler of the same event.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not isinstance(session_id, str) or not SESSION_ID_PATTERN.match(session_id):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        # Replaces the stock handler of the same event.
        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                logger.warning("Ignored a malformed socket.io message.")
                return
            sender_id = sid
            if self.session_persistence:
                session_id = data.get("session_id")
                if not isinstance(session_id, str) or session_id not in sio.rooms(
                    sid, namespace=self.namespace
                ):
                    logger.warning("Ignored a message for a conversation this socket has not joined.")
                    return
                sender_id = session_id
            agent = self.app.ctx.agent if self.app is not None else None
            await handle_member_message(
                agent,
                on_new_message,
                SiteSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                data["message"],
                metadata_from(data.get(self.metadata_key)),
                input_channel=self.name(),
            )

        return socketio_blueprint


def metadata_from(value: Any) -> Dict[Text, Any]:
    """A message's metadata: an object, or an object sent as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
