"""The project's fixes to Rasa internals keep Rasa's behaviour."""
from pathlib import Path

import jsonschema
import pytest
import rasa
import rasa.core.tracker_store
import rasa.shared.utils.common
import sqlalchemy as sa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet

from rasa_server import fixes

fixes.apply_fixes()

VALID = {
    "events": [{"event": "slot", "timestamp": None, "name": "state", "value": "TX"}],
    "responses": [{"text": "Hello", "buttons": []}, {"custom": {"coverage": {"topic": "referral"}}}],
}
INVALID = [
    {"events": "not a list", "responses": []},
    {"events": [{"no_event_key": 1}], "responses": []},
    {"events": [], "responses": "nope"},
]


def test_valid_action_results_pass() -> None:
    assert RemoteAction("action_x", None)._validate_action_result(VALID) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_action_results_fail_as_in_rasa(result: dict) -> None:
    with pytest.raises(jsonschema.ValidationError) as upstream:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    with pytest.raises(jsonschema.ValidationError) as fixed:
        RemoteAction("action_x", None)._validate_action_result(result)
    assert fixed.value.message.startswith(upstream.value.message)
    assert "Failed to validate Action server response" in fixed.value.message


def test_event_types_resolve_as_in_rasa() -> None:
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        upstream = next(c for c in rasa.shared.utils.common.all_subclasses(Event) if c.type_name == name)
        assert Event.resolve_by_type(name) is upstream
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_sqlite_databases_use_the_write_ahead_log(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_fixes_refuse_another_rasa_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RuntimeError, match="written for rasa 3.6.21"):
        fixes.apply_fixes()


def test_the_sqlite_tracker_store_reuses_pooled_connections(tmp_path: Path) -> None:
    from sqlalchemy.pool import QueuePool

    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    assert rasa.core.tracker_store.create_engine_kwargs(url)["poolclass"] is QueuePool
    store = rasa.core.tracker_store.SQLTrackerStore(host=url)
    assert isinstance(store.engine.pool, QueuePool)
    postgres = "postgresql://postgres@127.0.0.1:5432/test"
    assert "poolclass" not in rasa.core.tracker_store.create_engine_kwargs(postgres)
