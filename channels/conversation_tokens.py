"""Conversation tokens: who may rejoin a socket.io conversation.

A socket.io conversation id is all it takes to receive a member's replies
(every socket in the conversation's room gets them) and to post into it. So
the channel issues, with each new conversation id, a token:
HMAC-SHA256(secret, "socketio-conversation:" + id). The widget keeps both in
sessionStorage and presents the token when it reconnects; a socket that names
a conversation id without its token gets a new conversation instead.

The secret comes from CONVERSATION_TOKEN_SECRET, which the launchers set once
per assistant or cluster (so a restarted Rasa server, or another server of the
cluster, accepts the tokens it issued); without it, each Rasa process makes
its own (tokens then last as long as that process).
"""

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Mapping, Optional

logger = logging.getLogger(__name__)

SECRET_ENV = "CONVERSATION_TOKEN_SECRET"
_PURPOSE = b"socketio-conversation:"
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class ConversationTokens:
    """Issues and checks conversation tokens with one secret."""

    secret: bytes

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "ConversationTokens":
        value = (os.environ if env is None else env).get(SECRET_ENV, "").strip()
        if not value:
            logger.warning(
                "%s is not set: conversation tokens last only as long as this server process.", SECRET_ENV
            )
            return cls(secrets.token_bytes(32))
        return cls(value.encode("utf-8"))

    def issue(self, conversation_id: str) -> str:
        """The token for a conversation id."""
        return hmac.new(self.secret, _PURPOSE + conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def valid(self, conversation_id: object, token: object) -> bool:
        """True when token is the one issued for conversation_id (constant-time comparison)."""
        if not isinstance(conversation_id, str) or not isinstance(token, str):
            return False
        if not conversation_id or len(conversation_id) > MAX_ID_CHARS or len(token) > 128:
            return False
        return hmac.compare_digest(self.issue(conversation_id), token)
