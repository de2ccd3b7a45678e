"""A python-socketio client that talks to the member socketio channel like the
chat widget does. It uses HTTP long-polling: the locked aiohttp is too old for
python-engineio's WebSocket client (the browser tests cover WebSocket)."""

import asyncio
from typing import Any, Callable, Dict, List, Optional

import socketio

from tests.support.replies import ID_CARD

WAIT_S = 45.0
Message = Dict[str, Any]


def ends_with_id_card_line(reply: List[Message]) -> bool:
    """True once a reply ends with the ID-card line that closes every answer."""
    return bool(reply) and ID_CARD in reply[-1].get("text", "")


class ChatClient:
    """One browser-like connection: asks for a session, then sends messages."""

    def __init__(self, server_url: str, origin: Optional[str] = None) -> None:
        self.server_url = server_url
        self.headers = {"Origin": origin} if origin else {}
        # python-engineio gives each HTTP request 5 s by default (the browser
        # client waits 20 s to connect): too short on a busy 2-core machine.
        self.sio = socketio.AsyncClient(reconnection=False, request_timeout=WAIT_S)
        self.sessions: "asyncio.Queue[str]" = asyncio.Queue()
        self.messages: "asyncio.Queue[Message]" = asyncio.Queue()
        # The conversation tokens the server issued, by conversation id.
        self.tokens: Dict[str, str] = {}
        self.sio.on("session_confirm", self.sessions.put_nowait)
        self.sio.on("session_token", self._keep_token)
        # The member's messages as the server kept them (personal details
        # replaced): sent to the widget apart from the assistant's replies.
        self.member_texts: List[str] = []
        self.sio.on("bot_uttered", self._on_bot_uttered)

    def _on_bot_uttered(self, message: Message) -> None:
        custom = message.get("custom") if isinstance(message, dict) else None
        if isinstance(custom, dict) and "member_text" in custom:
            self.member_texts.append(custom["member_text"])
        else:
            self.messages.put_nowait(message)

    def _keep_token(self, data: Dict[str, str]) -> None:
        self.tokens[data["session_id"]] = data["token"]

    async def connect(self, session_id: Optional[str] = None, token: Optional[str] = None) -> str:
        """Connect and ask for a conversation: a new one, or session_id with its token."""
        # python-socketio waits 1 s for the namespace by default: too short as well.
        await self.sio.connect(
            self.server_url, headers=self.headers, transports=["polling"], wait_timeout=int(WAIT_S)
        )
        await self.sio.emit("session_request", {"session_id": session_id, "session_token": token})
        return await asyncio.wait_for(self.sessions.get(), WAIT_S)

    async def ask(
        self,
        session_id: str,
        text: str,
        plan: Optional[Dict[str, str]] = None,
        until: Callable[[List[Message]], bool] = ends_with_id_card_line,
    ) -> List[Message]:
        """Send one message; collect the reply until `until` says it is complete."""
        await self.sio.emit(
            "user_uttered", {"message": text, "session_id": session_id, "customData": plan or {}}
        )
        reply: List[Message] = []
        while not until(reply):
            reply.append(await asyncio.wait_for(self.messages.get(), WAIT_S))
        return reply

    async def close(self) -> None:
        await self.sio.disconnect()
