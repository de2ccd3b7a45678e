"""Custom action calls over connections kept open between calls.

Rasa's `EndpointConfig.request` makes a new aiohttp session for every custom
action call, so every member turn opens a TCP connection to the action
server and closes it again. `KeepAliveEndpointConfig` keeps one session per
event loop (one per Sanic worker) and reuses its connections. The client
lets an idle connection go after `CLIENT_KEEP_ALIVE_S`, before the action
server would (Sanic's 5 s), so a call never goes out on a connection the
server is closing. A connection the server has closed (a restart) is
noticed and replaced by aiohttp; a call that fails still gets the ID-card
answer (rasa_server/always_a_reply.py).
"""

import asyncio
import weakref
from types import TracebackType
from typing import Optional, Type

import aiohttp
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import EndpointConfig

# Seconds an idle connection stays open: below Sanic's KEEP_ALIVE_TIMEOUT (5 s),
# which rasa-sdk's action server keeps.
CLIENT_KEEP_ALIVE_S = 2.0


class _BorrowedSession:
    """`async with` over a shared session that leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        return None


# Every KeepAliveEndpointConfig alive, by id, for closing their sessions when a
# server stops (EndpointConfig compares by value, so it has no hash for a WeakSet).
_ENDPOINTS: "weakref.WeakValueDictionary[int, KeepAliveEndpointConfig]" = weakref.WeakValueDictionary()


class KeepAliveEndpointConfig(EndpointConfig):
    """An EndpointConfig whose requests share one aiohttp session per event loop.

    Same settings and requests as Rasa's (`EndpointConfig.request` is
    unchanged); only `session()` differs. Close the sessions with `close()`
    when the server stops.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]" = (
            weakref.WeakKeyDictionary()
        )
        _ENDPOINTS[id(self)] = self

    @classmethod
    def from_endpoint(cls, endpoint: EndpointConfig) -> "KeepAliveEndpointConfig":
        """The same endpoint (url, params, headers, auth, token, type, cafile, other keys), kept alive."""
        return cls(
            endpoint.url,
            endpoint.params,
            endpoint.headers,
            endpoint.basic_auth,
            endpoint.token,
            endpoint.token_name,
            endpoint.cafile,
            store_type=endpoint.type,
            **endpoint.kwargs,
        )

    def session(self) -> _BorrowedSession:
        """This event loop's session (made on first use), to use with `async with`."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth
                else None
            )
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(keepalive_timeout=CLIENT_KEEP_ALIVE_S),
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            )
            self._sessions[loop] = session
        return _BorrowedSession(session)

    async def close(self) -> None:
        """Close this event loop's session and its connections, if it has one."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()


async def close_kept_alive_sessions(*_listener_args: object) -> None:
    """Close this event loop's kept-alive sessions (a Sanic `after_server_stop` listener)."""
    for endpoint in list(_ENDPOINTS.values()):
        await endpoint.close()
