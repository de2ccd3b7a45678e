"""Each reach into a library's private API (rasa_server/upstream.py) still
holds for the installed version: an upgrade that changes one fails here, by name."""

import asyncio
import copy
import inspect
from typing import Any, List, Tuple

import pytest
import rasa.core.run
import socketio
from rasa.core.channels.socketio import SocketIOOutput
from rasa.core.processor import MessageProcessor

import en_hcsc_entities
from rasa_server import fixes, upstream


def test_the_installed_libraries_are_the_versions_the_reaches_were_written_for() -> None:
    upstream.check_upstream_versions()


def test_the_server_refuses_other_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upstream, "version", lambda package: "99.0" if package == "rasa" else "x")
    with pytest.raises(RuntimeError, match=r"rasa 99\.0 \(written for 3\.6\.21\)"):
        fixes.apply_fixes()


class RecordingServer(socketio.AsyncServer):
    """A real socket.io server that also records what it emits."""

    def __init__(self) -> None:
        super().__init__(async_mode="asgi")
        self.emitted: List[Tuple[Any, ...]] = []

    async def emit(self, event: str, data: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        self.emitted.append((event, data, kwargs.get("room")))


def test_socketio_output_sends_one_bot_message_through_its_private_send() -> None:
    # channels/site_socketio.py sends custom payloads through _send_message.
    assert inspect.iscoroutinefunction(SocketIOOutput._send_message)
    assert list(inspect.signature(SocketIOOutput._send_message).parameters) == [
        "self",
        "socket_id",
        "response",
    ]
    server = RecordingServer()
    asyncio.run(SocketIOOutput(server, "bot_uttered")._send_message("room-1", {"custom": {"a": 1}}))
    assert server.emitted == [("bot_uttered", {"custom": {"a": 1}}, "room-1")]


def test_engineio_reads_the_allowed_origins_from_the_attribute_on_each_request() -> None:
    # channels/site_socketio.py sets sio.eio.cors_allowed_origins after the server exists.
    server = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[])
    server.eio.cors_allowed_origins = ["https://members.example"]
    environ = {"HTTP_ORIGIN": "https://members.example", "wsgi.url_scheme": "http", "HTTP_HOST": "x"}
    assert "https://members.example" in server.eio._cors_allowed_origins(environ)
    server.eio.cors_allowed_origins = None  # None: only the server's own origin
    assert "https://members.example" not in server.eio._cors_allowed_origins(environ)


def test_rasa_keeps_the_agent_on_the_sanic_app_context() -> None:
    # channels/member_channel.py and channels/agent_preview.py read app.ctx.agent.
    assert "app.ctx.agent = " in inspect.getsource(rasa.core.run.load_agent_on_start)


def test_the_message_processor_reads_its_stores_from_its_own_attributes() -> None:
    # channels/agent_preview.py copies the processor and gives the copy stores of its own.
    for method in (MessageProcessor.get_tracker, MessageProcessor.save_tracker):
        assert "self.tracker_store" in inspect.getsource(method)
    assert "tracker_store" not in inspect.getsource(MessageProcessor.handle_message).replace(
        "self.tracker_store", ""
    )
    # A shallow copy shares the model and the action endpoint, not the store attribute.
    original = MessageProcessor.__new__(MessageProcessor)
    original.tracker_store = "members"
    isolated = copy.copy(original)
    isolated.tracker_store = "preview"
    assert original.tracker_store == "members"


def test_the_spacy_pipeline_package_counts_as_loaded_from_disk() -> None:
    # en_hcsc_entities sets Language._path; Rasa's SpacyNLP refuses a pipeline whose `path` is None.
    nlp = en_hcsc_entities.load()
    assert nlp.path is not None and nlp.path.is_dir()
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    SpacyNLP.ensure_proper_language_model(nlp)


def test_the_sql_tracker_store_has_the_columns_the_member_rules_read() -> None:
    # channels/member_channel.py finds a conversation's owner, and whether an
    # action ran in it, with one query each.
    from rasa.core.tracker_store import AwaitableTrackerStore, SQLTrackerStore

    columns = set(SQLTrackerStore.SQLEvent.__table__.columns.keys())
    assert {"sender_id", "type_name", "action_name", "data"} <= columns
    assert "self._tracker_store = " in inspect.getsource(AwaitableTrackerStore.__init__)


def test_the_sql_tracker_store_saves_what_the_bounded_store_says_is_new() -> None:
    # rasa_server/tracker_store.py: what SQLTrackerStore.save writes, how new
    # trackers are made, and where a slot event's name is stored.
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.shared.core.events import SlotSet
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_server.tracker_store import LoadedTracker

    assert "self._additional_events(session, tracker)" in inspect.getsource(SQLTrackerStore.save)
    assert "self.init_tracker(sender_id)" in inspect.getsource(TrackerStore.create_tracker)
    assert type(LoadedTracker.from_dict("x", [])) is LoadedTracker
    assert 'action = data.get("name")' in inspect.getsource(SQLTrackerStore.save)
    assert SlotSet("state", "TX").as_dict()["name"] == "state"
    assert DialogueStateTracker.__init__ is LoadedTracker.__init__


def test_the_sql_tracker_store_creates_its_tables_through_its_metadata() -> None:
    # rasa_server/fixes.py: the tables are created by the shared MetaData's
    # create_all, called with the engine, which the fix wraps in a lock.
    from rasa.core.tracker_store import SQLTrackerStore

    assert "self.Base.metadata.create_all(self.engine)" in inspect.getsource(SQLTrackerStore.__init__)


def test_rasa_model_load_takes_the_arguments_the_inference_load_passes_on() -> None:
    # rasa_server/model_load.py replaces RasaModel.load and hands its arguments
    # back to Rasa's own load for fine-tuning; it restores weights as they are
    # made, which needs the checkpoint in TensorFlow's format.
    from rasa.utils.tensorflow.models import RasaModel

    from rasa_server.model_load import rasa_load

    parameters = list(inspect.signature(rasa_load).parameters)
    assert parameters == [
        "cls",
        "model_file_name",
        "model_data_example",
        "predict_data_example",
        "finetune_mode",
        "args",
        "kwargs",
    ]
    assert 'save_format="tf"' in inspect.getsource(RasaModel.save)


def test_rasa_s_prediction_graph_is_traced_once_with_a_fixed_signature() -> None:
    # rasa_server/model_load.py checks the restored weights after the first
    # prediction: no later prediction may create weights, so the graph must
    # not be traced again for other input shapes (and eager mode falls back).
    # Rasa's own method (rasa_server/fixes.py may have installed the project's in its place).
    from rasa_server.predict_step import rasa_predict

    source = inspect.getsource(rasa_predict)
    assert "input_signature=self._dynamic_signature(batch_in)" in source
    assert "if self._run_eagerly:" in source


def test_rasa_s_prediction_step_is_called_with_one_batch_and_tensorflow_s_graph_call_is_unchanged() -> None:
    # rasa_server/predict_step.py replaces the traced step Rasa calls with one
    # that runs TensorFlow's traced graph with the batch's arrays as tensors.
    from tensorflow.python.eager.polymorphic_function.monomorphic_function import ConcreteFunction
    from tensorflow.python.framework import constant_op

    from rasa_server.predict_step import rasa_predict

    assert rasa_predict.__qualname__ == "RasaModel._rasa_predict"
    assert "self._tf_predict_step(batch_in)" in inspect.getsource(rasa_predict)
    assert list(inspect.signature(ConcreteFunction._call_flat).parameters) == [
        "self",
        "args",
        "captured_inputs",
        "cancellation_manager",
    ]
    convert = constant_op.convert_to_eager_tensor
    assert list(inspect.signature(convert).parameters) == ["value", "ctx", "dtype"]


def test_the_message_processor_loads_models_with_the_runner_named_in_its_module() -> None:
    # rasa_server/graph_runner.py is installed as rasa.core.processor.DaskGraphRunner
    # and passes a node's inputs as dask does: a name that is no key, as itself.
    import dask
    from rasa.engine.runner.dask import DaskGraphRunner

    assert "DaskGraphRunner,\n" in inspect.getsource(MessageProcessor._load_model)
    source = inspect.getsource(DaskGraphRunner.run)
    assert "self._graph_schema.minimal_graph_schema(run_targets)" in source
    assert "dask.get(run_graph, run_targets)" in source
    assert dask.get({"a": (lambda *args: args, "b", "missing"), "b": ("b", 1)}, "a") == (("b", 1), "missing")


def test_rasa_s_training_hook_fingerprints_only_for_its_cache() -> None:
    # launch/rasa_train.py skips TrainingHook while the cache is off: its
    # fingerprints go nowhere but into the cache, whose cache_output returns
    # at once when _is_disabled(), and the before-hook's data only to the after-hook.
    from rasa.engine.caching import LocalTrainingCache
    from rasa.engine.graph import GraphNode
    from rasa.engine.training.graph_trainer import GraphTrainer
    from rasa.engine.training.hooks import TrainingHook

    after = inspect.getsource(TrainingHook.on_after_node)
    assert 'input_hook_data["fingerprint_key"]' in after
    assert "output_fingerprint = rasa.shared.utils.io.deep_container_fingerprint(output)" in after
    assert "self._cache.cache_output(" in after
    assert 'return {"fingerprint_key": fingerprint_key}' in inspect.getsource(TrainingHook.on_before_node)
    cache_output = inspect.getsource(LocalTrainingCache.cache_output)
    assert "if self._is_disabled():\n            return\n" in cache_output
    assert "return self._max_cache_size == 0.0" in inspect.getsource(LocalTrainingCache._is_disabled)
    # GraphNode hands each before-hook's data to the same hook's after-hook, nowhere else.
    node_call = inspect.getsource(GraphNode.__call__)
    assert "input_hook_outputs = self._run_before_hooks(kwargs)" in node_call
    assert node_call.count("input_hook_outputs") == 2
    assert "TrainingHook(\n                cache=self._cache," in inspect.getsource(GraphTrainer.train)
