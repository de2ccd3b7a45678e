"""Custom action calls over connections kept open between calls.

Rasa's `EndpointConfig.request` makes a new aiohttp session for every custom
action call, so every member turn opens a TCP connection to the action
server and closes it again. `KeepAliveEndpointConfig` keeps one session per
event loop (one per Sanic worker) and reuses its connections, with three
guards:

- an idle connection is let go after `CLIENT_KEEP_ALIVE_S`, before the action
  server would (Sanic's 5 s), so a call never goes out on a connection the
  server is closing;
- a session is retired after `SESSION_MAX_AGE_S` (closed once its calls in
  flight are done) and calls go to a new one: behind a Kubernetes Service,
  which balances connections, not requests, new action server pods get calls
  within that time;
- a call whose kept-open connection the server closed (a restart, a drain)
  is sent once more on a new connection. Custom actions here only return
  events (no side effects), so a second call is safe; nginx's cluster
  configuration retries them the same way (deploy/nginx).

Like Rasa's, the sessions have no cap on connections. A call that still
fails gets the ID-card answer (rasa_server/always_a_reply.py).
"""

import asyncio
import time
import weakref
from types import TracebackType
from typing import Any, Dict, Optional, Set, Type

import aiohttp
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import EndpointConfig

# Seconds an idle connection stays open: below Sanic's KEEP_ALIVE_TIMEOUT (5 s),
# which rasa-sdk's action server keeps.
CLIENT_KEEP_ALIVE_S = 2.0
# Seconds a session takes new calls before a fresh one (new connections) replaces it.
SESSION_MAX_AGE_S = 30.0
# What aiohttp raises when the server closed a connection under a request.
CLOSED_BY_SERVER = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)


class _KeptSession:
    """One event loop's session, its age and its calls in flight."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.created = time.monotonic()
        self.in_flight = 0
        self.retired = False

    def is_too_old(self) -> bool:
        return time.monotonic() - self.created > SESSION_MAX_AGE_S

    async def close_when_idle(self) -> None:
        if self.retired and self.in_flight == 0 and not self.session.closed:
            await self.session.close()


class _BorrowedSession:
    """`async with` over a kept session: counts the call, leaves the session open."""

    def __init__(self, kept: _KeptSession) -> None:
        self._kept = kept

    async def __aenter__(self) -> aiohttp.ClientSession:
        self._kept.in_flight += 1
        return self._kept.session

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self._kept.in_flight -= 1
        await self._kept.close_when_idle()


# Every KeepAliveEndpointConfig alive, by id, for closing their sessions when a
# server stops (EndpointConfig compares by value, so it has no hash for a WeakSet).
_ENDPOINTS: "weakref.WeakValueDictionary[int, KeepAliveEndpointConfig]" = weakref.WeakValueDictionary()


class KeepAliveEndpointConfig(EndpointConfig):
    """An EndpointConfig whose requests share one aiohttp session per event loop.

    Same settings and requests as Rasa's; `session()` lends the event loop's
    session (module docstring), and `request` sends a call once more when the
    server closed its kept-open connection. Close the sessions with `close()`
    (or `close_kept_alive_sessions`) when the server stops.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: Dict[asyncio.AbstractEventLoop, _KeptSession] = {}
        # Closing retired sessions: asyncio keeps only weak references to tasks.
        self._closing: Set["asyncio.Task[None]"] = set()
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

    def _new_session(self) -> aiohttp.ClientSession:
        auth = (
            aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            if self.basic_auth
            else None
        )
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(keepalive_timeout=CLIENT_KEEP_ALIVE_S, limit=0),
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        )

    def session(self) -> _BorrowedSession:
        """This event loop's session (a new one when there is none or it is too old), for `async with`."""
        loop = asyncio.get_running_loop()
        # Sessions of event loops that have ended (tests, tools) are dropped.
        for ended in [other for other in self._sessions if other.is_closed()]:
            del self._sessions[ended]
        kept = self._sessions.get(loop)
        if kept is None or kept.session.closed or kept.is_too_old():
            if kept is not None:
                kept.retired = True
                closing = loop.create_task(kept.close_when_idle())
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
            kept = self._sessions[loop] = _KeptSession(self._new_session())
        return _BorrowedSession(kept)

    async def request(self, *args: Any, **kwargs: Any) -> Optional[Any]:
        """Rasa's request; sent once more when the server closed the kept-open connection under it."""
        try:
            return await super().request(*args, **kwargs)
        except CLOSED_BY_SERVER:
            return await super().request(*args, **kwargs)

    async def close(self) -> None:
        """Close this event loop's session and its connections, if it has one."""
        kept = self._sessions.pop(asyncio.get_running_loop(), None)
        if kept is not None:
            await kept.session.close()


async def close_kept_alive_sessions(*_listener_args: object) -> None:
    """Close this event loop's kept-alive sessions (a Sanic `after_server_stop` listener)."""
    for endpoint in list(_ENDPOINTS.values()):
        await endpoint.close()
