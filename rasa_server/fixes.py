"""Fixes to Rasa 3.6.21 internals, applied before the server starts.

Each fix keeps Rasa's behaviour and is checked by tests/rasa_server; the one
exception is a failed custom action call, where the member gets an answer
instead of silence (rasa_server/always_a_reply.py). The version guard makes
an upgrade stop here, so whoever upgrades reviews them.
"""

import functools
import logging
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Optional, Text, Type

import rasa
import rasa.core.nlg.generator
import rasa.core.processor
import rasa.core.run
import rasa.core.tracker_store
import rasa.shared.utils.common
from rasa.core.actions.action import RemoteAction
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.models import RasaModel
from sanic import Sanic
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

from rasa_server.always_a_reply import action_timeout_s, run_remote_action_or_answer_unavailable
from rasa_server.graph_runner import SequentialGraphRunner
from rasa_server.keep_alive import KeepAliveEndpointConfig, close_kept_alive_sessions
from rasa_server.limits import MAX_REQUEST_BODY_BYTES
from rasa_server.model_load import load_for_inference
from rasa_server.nlg import PhrasesNaturalLanguageGenerator
from rasa_server.predict_step import rasa_predict_with_flat_step
from rasa_server.upstream import check_upstream_versions

logger = logging.getLogger(__name__)


def apply_fixes() -> None:
    """Apply every fix; refuse to run against library versions they were not written for."""
    check_upstream_versions()
    RemoteAction._validate_action_result = _validate_action_result_with_cached_validator
    RasaModel.load = classmethod(load_for_inference)
    RasaModel._rasa_predict = rasa_predict_with_flat_step
    # The runner the message processor loads models with (training keeps dask's).
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
    Event.resolve_by_type = staticmethod(_resolve_event_type_from_cache)
    if not event.contains(Engine, "connect", _sqlite_write_ahead_log):
        event.listen(Engine, "connect", _sqlite_write_ahead_log)
    rasa.core.tracker_store.create_engine_kwargs = _engine_kwargs_with_sqlite_pool
    tables = rasa.core.tracker_store.SQLTrackerStore.Base.metadata
    if getattr(tables.create_all, "func", None) is not _create_tables_one_server_at_a_time:
        tables.create_all = functools.partial(_create_tables_one_server_at_a_time, tables.create_all)
    rasa.core.run.configure_app = _configure_app_with_request_limits_and_cleanup
    RemoteAction.run = run_remote_action_or_answer_unavailable
    rasa.core.nlg.generator._create_from_endpoint_config = _create_nlg_with_phrases
    AvailableEndpoints.read_endpoints = classmethod(_read_endpoints_with_kept_alive_action_calls)
    for wrapper in (
        rasa.core.tracker_store.FailSafeTrackerStore,
        rasa.core.tracker_store.AwaitableTrackerStore,
    ):
        wrapper.init_tracker = _init_tracker_of_wrapped_store


@lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    """Rasa's schema for action server responses, checked once, as a ready validator."""
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@dataclass(frozen=True)
class EventDispatchValidator:
    """Rasa's action response schema, with each event checked against its own type only.

    Rasa's event schema is `oneOf` 23 event types that differ by a constant
    `event` name (which the schema requires, as a string). An event is valid
    exactly when the one type whose name it carries accepts it, so checking
    that type alone gives the same verdict; jsonschema, asked for `oneOf`,
    tries all 23 and builds an error for each one that fails: 1.9 ms for a
    typical response on this 2-core machine, against 0.2 ms here. Built only
    when the schema has that shape (`from_schema` returns None otherwise).
    """

    response: Any
    by_event_name: Dict[Text, Any]

    @classmethod
    def from_schema(cls, schema: Dict[Text, Any]) -> Optional["EventDispatchValidator"]:
        """The validator for Rasa's response schema, or None if the schema is not of the shape above."""
        from jsonschema.validators import validator_for

        validator_class = validator_for(schema)
        try:
            properties = schema["properties"]
            event_schema = properties["events"]["items"]
            event_types = event_schema["oneOf"]
            names = [event_type["properties"]["event"]["const"] for event_type in event_types]
        except (KeyError, TypeError):
            return None
        if len(set(names)) != len(names) or "event" not in event_schema.get("required", ()):
            return None
        # The event schema's own checks (object, `event` a string, required) with one type.
        shared = {key: value for key, value in event_schema.items() if key != "oneOf"}
        response = dict(schema, properties=dict(properties, events={"type": "array"}))
        return cls(
            response=validator_class(response),
            by_event_name={
                name: validator_class(dict(shared, allOf=[event_type]))
                for name, event_type in zip(names, event_types, strict=True)
            },
        )

    def is_valid(self, result: Any) -> bool:
        """True when Rasa's schema accepts `result` (an action server's response)."""
        if not self.response.is_valid(result):
            return False
        for event_data in result.get("events") or ():
            name = event_data.get("event") if isinstance(event_data, dict) else None
            validator = self.by_event_name.get(name) if isinstance(name, str) else None
            if validator is None or not validator.is_valid(event_data):
                return False
        return True


@lru_cache(maxsize=1)
def _event_dispatch_validator() -> Optional[EventDispatchValidator]:
    return EventDispatchValidator.from_schema(RemoteAction.action_response_format_spec())


def _validate_action_result_with_cached_validator(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """Same checks and errors as RemoteAction._validate_action_result, without its cost.

    Rasa calls `jsonschema.validate`, which validates the (large) response
    schema itself against the meta-schema on every custom action call: about
    33 ms per call on this project's 2-core machine, more than everything else
    in a member's turn. The schema never changes, so it is checked once. A
    valid response is recognised by `EventDispatchValidator` (1.7 ms less per
    call); an invalid one gets the full schema's error, word for word Rasa's.

    Raises:
        jsonschema.ValidationError: the response does not match Rasa's schema.
    """
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    fast = _event_dispatch_validator()
    if fast is not None and fast.is_valid(result):
        return True
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


# The key of the Postgres advisory lock held while the tracker store's tables
# are created: any number, the same in every Rasa server of a deployment.
TABLE_CREATION_LOCK_KEY = 0x48435343  # "HCSC"


def _create_tables_one_server_at_a_time(rasa_create_all: Any, bind: Any, **kwargs: Any) -> None:
    """Rasa's creation of the tracker store's tables, one server at a time on Postgres.

    Rasa servers started together (`make run-cluster`) each create the tables
    on start; on a fresh Postgres database they race. A server that loses on
    a duplicate key in `pg_type` (an IntegrityError) logs a warning, sleeps
    5 s and connects again; one that loses on the table itself logs "Could
    not create tables". A transaction-scoped advisory lock makes the others
    wait until the first has committed, and then find the tables there.
    Other databases are left to Rasa.
    """
    if bind.dialect.name != "postgresql":
        rasa_create_all(bind, **kwargs)
        return
    with bind.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TABLE_CREATION_LOCK_KEY})
        rasa_create_all(connection, **kwargs)


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


def _init_tracker_of_wrapped_store(self: TrackerStore, sender_id: Text) -> DialogueStateTracker:
    """A new conversation's tracker, made by the store that Rasa's wrapper stores wrap.

    Rasa wraps the configured store (FailSafeTrackerStore inside
    AwaitableTrackerStore) and makes new conversations' trackers with the
    base class's `init_tracker`, so the configured store's own never ran: on
    RecentHistorySQLTrackerStore, every save of a new conversation's first
    turn counted the stored events again to find the new ones.
    """
    wrapped: TrackerStore = self._tracker_store
    wrapped.max_event_history = self.max_event_history
    return wrapped.init_tracker(sender_id)


_rasa_configure_app = rasa.core.run.configure_app


def _configure_app_with_request_limits_and_cleanup(*args: Any, **kwargs: Any) -> Sanic:
    """Rasa's Sanic app, refusing large bodies, answering errors in JSON, closing kept-alive connections.

    Sanic accepts 100 MB bodies by default and, for errors raised before a
    handler runs (413, 404, 405), picks HTML or text by guessing; member sites
    and agents' tools expect a short JSON error. The action server
    connections kept open (rasa_server/keep_alive.py) are closed when the
    server stops.
    """
    app = _rasa_configure_app(*args, **kwargs)
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BODY_BYTES
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.register_listener(close_kept_alive_sessions, "after_server_stop")
    return app


_rasa_read_endpoints = AvailableEndpoints.read_endpoints.__func__


def _read_endpoints_with_kept_alive_action_calls(
    cls: Type[AvailableEndpoints], endpoint_file: Text
) -> AvailableEndpoints:
    """Rasa's endpoint reading, with the action timeout checked and action connections kept alive.

    A bad `timeout` would otherwise only show when a member asks, as a
    failed action; stopping at start-up says what to fix. The action
    endpoint becomes a KeepAliveEndpointConfig (rasa_server/keep_alive.py).
    """
    endpoints = _rasa_read_endpoints(cls, endpoint_file)
    action_timeout_s(endpoints.action)
    if endpoints.action is not None:
        endpoints.action = KeepAliveEndpointConfig.from_endpoint(endpoints.action)
    return endpoints


_rasa_create_nlg = rasa.core.nlg.generator._create_from_endpoint_config


def _create_nlg_with_phrases(
    endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None
) -> NaturalLanguageGenerator:
    """Rasa's response generator choice, with the phrases filled in by default.

    domain.yml's responses name shared phrases ("{id_card}"); endpoints.yml
    sets rasa_server/nlg.py as `nlg`, and this makes the same generator the
    default for an endpoints file without `nlg` (another deployment's), so a
    placeholder never reaches a member. A callback NLG server stays as it is.
    """
    if endpoint_config is None or (endpoint_config.type or "").lower() == "response":
        return PhrasesNaturalLanguageGenerator(endpoint_config, domain)
    return _rasa_create_nlg(endpoint_config, domain)
