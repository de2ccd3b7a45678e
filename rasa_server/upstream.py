"""Where the project reaches into private parts of the libraries it runs on.

Public APIs do not cover everything the project needs, so a few places use
private attributes or Rasa internals. Each reach is listed here with what it
assumes; tests/rasa_server/test_upstream.py checks each assumption against
the installed library, so an upgrade that changes one fails a named test.
`check_upstream_versions` refuses, at server start, library versions the
reaches were not written for: whoever upgrades reviews the list first.

- rasa_server/fixes.py and always_a_reply.py: RemoteAction, Event, the SQL
  tracker store (its tables made by `self.Base.metadata.create_all(self.engine)`
  in `__init__`), configure_app and AvailableEndpoints (see each fix);
- rasa_server/model_load.py: RasaModel.load's arguments, and RasaModel.save
  writing a checkpoint in TensorFlow's format (restored as weights are made);
- rasa_server/predict_step.py: RasaModel._rasa_predict calls
  `self._tf_predict_step(batch_in)`, a tf.function with one fixed signature;
  TensorFlow's ConcreteFunction._call_flat(tensors, captured_inputs) runs
  the traced graph;
- rasa_server/graph_runner.py: the message processor loads models with the
  runner class named `DaskGraphRunner` in rasa.core.processor; dask passes a
  task argument that is no key as the value itself (dask.core._execute_task);
- channels/site_socketio.py: SocketIOOutput._send_message(socket_id,
  response) emits one bot message; python-engineio reads
  AsyncServer.eio.cors_allowed_origins on each request;
- channels/member_channel.py and agent_preview.py: rasa.core.run keeps the
  agent on the Sanic app as app.ctx.agent;
- channels/agent_preview.py: a shallow copy of MessageProcessor with its own
  tracker_store reads and writes only that store;
- channels/member_channel.py: SQLTrackerStore's SQLEvent columns, for
  one-query reads of a conversation's owner and of whether an action ran;
  Rasa's wrappers keep the store they wrap as `_tracker_store`;
- rasa_server/tracker_store.py: SQLTrackerStore.save writes the events
  `_additional_events(session, tracker)` returns; TrackerStore.create_tracker
  makes new trackers with `init_tracker`; DialogueStateTracker.from_dict
  builds an instance of the class it is called on; the `events` table keeps
  a slot event's slot name in `action_name`, as `SlotSet.as_dict()["name"]`;
- spacy_pipeline (en_hcsc_entities): sets Language._path, since Rasa's
  SpacyNLP refuses a pipeline whose `path` is None;
- launch/rasa_train.py: Rasa's TrainingHook computes fingerprints only for
  its cache, whose `cache_output` returns at once when `_is_disabled()`.
"""

from importlib.metadata import version
from typing import Dict

# The versions every reach above was written for and tested with
# (requirements.lock pins them).
UPSTREAM_VERSIONS: Dict[str, str] = {
    "rasa": "3.6.21",
    "python-socketio": "5.18.1",
    "python-engineio": "4.15.1",
    "sanic": "21.12.2",
    "spacy": "3.4.4",
    "tensorflow": "2.12.0",
    "dask": "2022.10.2",
}


def check_upstream_versions() -> None:
    """Raise RuntimeError naming every installed version the reaches were not written for."""
    changed = [
        f"{package} {version(package)} (written for {expected})"
        for package, expected in UPSTREAM_VERSIONS.items()
        if version(package) != expected
    ]
    if changed:
        raise RuntimeError(
            "rasa_server/upstream.py lists private APIs this project uses; they were written for "
            f"other versions than installed: {', '.join(changed)}. Review each reach (and "
            "rasa_server/fixes.py), run tests/rasa_server/test_upstream.py, then update UPSTREAM_VERSIONS."
        )
