"""Fixes to Rasa 3.6.21 internals, applied before the server starts.

Each fix keeps Rasa's behaviour and is checked by tests/rasa_server; the one
exception is a failed custom action call, where the member gets an answer
instead of silence (see _run_remote_action_or_answer_unavailable). The
version guard makes an upgrade stop here, so whoever upgrades reviews them.
"""

import asyncio
import json
import logging
import math
import sqlite3
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text, Type

import aiohttp
import rasa
import rasa.core.run
import rasa.core.tracker_store
import rasa.shared.utils.common
from rasa.core.actions.action import ActionBotResponse, ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import OutputChannel
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from sanic import Sanic
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

FIXED_RASA_VERSION = "3.6.21"
# Sanic's default is 100 MB. A member message is at most a few kilobytes; the
# largest legitimate body (10,000 characters, each escaped as a JSON surrogate
# pair) is about 120 KB.
MAX_REQUEST_BODY_BYTES = 256 * 1024
# What the member gets when the coverage action fails (a response in domain.yml).
ANSWER_UNAVAILABLE_RESPONSE = "utter_answer_unavailable"
# A custom action call's time limit when endpoints.yml gives none (Rasa: 300 s).
DEFAULT_ACTION_TIMEOUT_S = 10.0

logger = logging.getLogger(__name__)


def apply_fixes() -> None:
    """Apply every fix; refuse to run against a Rasa version they were not written for."""
    if rasa.__version__ != FIXED_RASA_VERSION:
        raise RuntimeError(
            f"rasa_server/fixes.py was written for rasa {FIXED_RASA_VERSION}, "
            f"not {rasa.__version__}: review each fix, then update FIXED_RASA_VERSION."
        )
    RemoteAction._validate_action_result = _validate_action_result_with_cached_validator
    Event.resolve_by_type = staticmethod(_resolve_event_type_from_cache)
    if not event.contains(Engine, "connect", _sqlite_write_ahead_log):
        event.listen(Engine, "connect", _sqlite_write_ahead_log)
    rasa.core.tracker_store.create_engine_kwargs = _engine_kwargs_with_sqlite_pool
    rasa.core.run.configure_app = _configure_app_with_request_limits
    RemoteAction.run = _run_remote_action_or_answer_unavailable
    AvailableEndpoints.read_endpoints = classmethod(_read_endpoints_checking_action_timeout)


@lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    """Rasa's schema for action server responses, checked once, as a ready validator."""
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result_with_cached_validator(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """Same checks and errors as RemoteAction._validate_action_result, without its cost.

    Rasa calls `jsonschema.validate`, which validates the (large) response
    schema itself against the meta-schema on every custom action call: about
    33 ms per call on this project's 2-core machine, more than everything else
    in a member's turn. The schema never changes, so it is checked once.
    """
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


_EVENT_TYPES: Dict[Text, Type[Event]] = {}


def _resolve_event_type_from_cache(
    type_name: Text, default: Optional[Type[Event]] = None
) -> Optional[Type[Event]]:
    """Same answer as Event.resolve_by_type, from a cache.

    Rasa walks every Event subclass (with inspect.isabstract on each) for every
    event it reads back from the tracker store: the largest single cost of
    loading a conversation. Unknown names refresh the cache first, so event
    classes imported later are still found; the first match wins, as in Rasa.
    """
    if type_name not in _EVENT_TYPES:
        for cls in rasa.shared.utils.common.all_subclasses(Event):
            _EVENT_TYPES.setdefault(cls.type_name, cls)
    if type_name in _EVENT_TYPES:
        return _EVENT_TYPES[type_name]
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def _sqlite_write_ahead_log(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite tracker store: write-ahead log, synced at checkpoints.

    Rasa commits after every message; SQLite's default (rollback journal,
    full sync) makes each commit wait for the disk twice. In WAL mode with
    synchronous=NORMAL a crash of the process loses nothing and the database
    stays consistent; only a power cut can lose the last few messages.
    Other databases (Postgres in the cluster) are left alone.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


_rasa_create_engine_kwargs = rasa.core.tracker_store.create_engine_kwargs


def _engine_kwargs_with_sqlite_pool(url: Any) -> Dict[Text, Any]:
    """Rasa's engine settings, plus a connection pool for the SQLite tracker store.

    SQLAlchemy 1.4 opens a new SQLite connection for every session of a file
    database (NullPool), and Rasa opens sessions several times per message:
    about 20 ms of a 34 ms member turn here. Pooled connections are reused;
    each is still used by one session at a time.
    """
    kwargs = _rasa_create_engine_kwargs(url)
    if make_url(str(url)).get_backend_name() == "sqlite":
        kwargs.setdefault("poolclass", QueuePool)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    return kwargs


_rasa_configure_app = rasa.core.run.configure_app


def _configure_app_with_request_limits(*args: Any, **kwargs: Any) -> Sanic:
    """Rasa's Sanic app, refusing large bodies and answering errors in JSON.

    Sanic accepts 100 MB bodies by default and, for errors raised before a
    handler runs (413, 404, 405), picks HTML or text by guessing; member sites
    and agents' tools expect a short JSON error.
    """
    app = _rasa_configure_app(*args, **kwargs)
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BODY_BYTES
    app.config.FALLBACK_ERROR_FORMAT = "json"
    return app


def action_timeout_s(action_endpoint: Optional[EndpointConfig]) -> float:
    """Seconds a custom action call may take: `timeout` of `action_endpoint`.

    Rasa keeps keys it does not know in EndpointConfig.kwargs; the value comes
    from endpoints.yml (a string when it is an environment variable).
    """
    value = action_endpoint.kwargs.get("timeout") if action_endpoint else None
    if value is None or str(value).strip() == "":
        return DEFAULT_ACTION_TIMEOUT_S
    try:
        timeout_s = float(value)
    except (TypeError, ValueError):
        timeout_s = math.nan
    if not (math.isfinite(timeout_s) and 0 < timeout_s <= DEFAULT_REQUEST_TIMEOUT):
        raise RasaException(
            f"action_endpoint timeout in endpoints.yml must be a number of seconds "
            f"above 0 and at most {DEFAULT_REQUEST_TIMEOUT}, not {value!r}."
        )
    return timeout_s


_rasa_read_endpoints = AvailableEndpoints.read_endpoints.__func__


def _read_endpoints_checking_action_timeout(
    cls: Type[AvailableEndpoints], endpoint_file: Text
) -> AvailableEndpoints:
    """Rasa's endpoint reading, plus a check of the action timeout.

    A bad `timeout` would otherwise only show when a member asks, as a
    failed action; stopping at start-up says what to fix.
    """
    endpoints = _rasa_read_endpoints(cls, endpoint_file)
    action_timeout_s(endpoints.action)
    return endpoints


_rasa_remote_action_run = RemoteAction.run


async def _run_remote_action_or_answer_unavailable(
    self: RemoteAction,
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    tracker: DialogueStateTracker,
    domain: Domain,
) -> List[Event]:
    """Rasa's custom action call, in a time limit, with an answer when it fails.

    Rasa waits up to 300 s for the action server, and when the call fails
    (no connection, an error status, an invalid response) it logs the
    exception and the member gets nothing. Worse, for an error status its
    log holds the action server's answer, which with rasa_sdk includes the
    whole conversation. Here the call may take `action_timeout_s`; on any
    failure the member gets `utter_answer_unavailable` as an ordinary bot
    utterance (every channel sends it, the tracker store records it), and
    the log names the action and the kind of failure, never conversation
    content. ActionExecutionRejection (a form rejecting its turn) still
    reaches Rasa, as before. Like Rasa, the failed action's events are lost.
    """
    timeout_s: Optional[float] = None
    try:
        timeout_s = action_timeout_s(self.action_endpoint)
        return await asyncio.wait_for(
            _rasa_remote_action_run(self, output_channel, nlg, tracker, domain), timeout_s
        )
    except ActionExecutionRejection:
        raise
    except Exception as error:  # noqa: BLE001 - every failure gets the same answer
        logger.error(
            "Custom action '%s' failed: %s. The member gets '%s'.",
            self.name(),
            describe_action_failure(error, timeout_s),
            ANSWER_UNAVAILABLE_RESPONSE,
        )
    return await ActionBotResponse(ANSWER_UNAVAILABLE_RESPONSE).run(output_channel, nlg, tracker, domain)


def describe_action_failure(error: BaseException, timeout_s: Optional[float]) -> str:
    """What went wrong with an action call, without anything from the conversation.

    Exception messages are not used: Rasa's carry the action server's
    answer, and jsonschema's the invalid events, slot values included.
    """
    from jsonschema.exceptions import ValidationError

    seen: List[BaseException] = []
    cause: Optional[BaseException] = error
    while cause is not None and not any(cause is earlier for earlier in seen):
        seen.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in seen:
        if isinstance(cause, ClientResponseError):
            return f"the action server answered HTTP {cause.status}"
        if isinstance(cause, aiohttp.ClientConnectionError):
            return "could not connect to the action server"
        if isinstance(cause, asyncio.TimeoutError):
            return f"no answer within {timeout_s:g} s" if timeout_s else "timed out"
        if isinstance(cause, (ValidationError, json.JSONDecodeError)):
            return "the action server's response is not valid"
    return f"{type(error).__name__} (details left out: they may hold conversation content)"
