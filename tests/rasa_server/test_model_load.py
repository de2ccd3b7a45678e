"""rasa_server/model_load.py: the trained model loaded without a training step
answers exactly as Rasa's own load does, and falls back to it when unsure."""

import asyncio
import logging
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import tensorflow as tf
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils.tensorflow.models import RasaModel

from launch.paths import PROJECT_DIR
from rasa_server import model_load
from rasa_server.model_load import load_for_inference, rasa_load

HELD_OUT_NLU = PROJECT_DIR / "tests" / "nlu_test.yml"


@pytest.fixture()
def rasa_model_load() -> Iterator[None]:
    """Restore RasaModel.load after each test, whichever load it installed."""
    installed = RasaModel.__dict__["load"]
    yield
    RasaModel.load = installed


def load_agent(trained_model: Path, load: Any) -> Agent:
    RasaModel.load = classmethod(load)
    return Agent.load(str(trained_model))


def rankings(agent: Agent, texts: List[str]) -> List[List[Tuple[str, float]]]:
    async def parse_all() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    parsed_texts = asyncio.run(parse_all())
    return [[(i["name"], i["confidence"]) for i in parsed["intent_ranking"]] for parsed in parsed_texts]


@pytest.mark.usefixtures("rasa_model_load")
def test_every_held_out_ranking_is_the_same_as_with_rasa_s_own_load(trained_model: Path) -> None:
    texts = [example.get("text") for example in load_data(str(HELD_OUT_NLU)).intent_examples]
    assert len(texts) > 100
    expected = rankings(load_agent(trained_model, rasa_load), texts)
    actual = rankings(load_agent(trained_model, load_for_inference), texts)
    # The same weights and the same prediction graph: equal to the last bit.
    assert actual == expected


def record_the_load_arguments(trained_model: Path) -> Dict[str, Any]:
    """Load the agent the Rasa way and return what DIET passed to RasaModel.load, and the model."""
    calls: List[Dict[str, Any]] = []

    def recording_load(
        cls: Any,
        model_file_name: str,
        model_data_example: Any,
        predict_data_example: Any = None,
        finetune_mode: bool = False,
        **kwargs: Any,
    ) -> Any:
        call = dict(locals())
        call["model"] = rasa_load(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, **kwargs
        )
        calls.append(call)
        return call["model"]

    load_agent(trained_model, recording_load)
    assert len(calls) == 1
    assert calls[0]["finetune_mode"] is False and calls[0]["predict_data_example"] is not None
    return calls[0]


@pytest.mark.usefixtures("rasa_model_load")
def test_a_checkpoint_that_misses_weights_is_left_to_rasa_s_own_load(
    trained_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = record_the_load_arguments(trained_model)
    # The model's checkpoint (RasaModel.save: the model under "model") with
    # one layer left out: the rest match, that layer's weights have nothing
    # to be restored from.
    layers = dict(call["model"]._tf_layers)
    left_out = sorted(layers)[0]
    del layers[left_out]
    partial_checkpoint = tf.train.Checkpoint(model=tf.train.Checkpoint(_tf_layers=layers))
    partial = partial_checkpoint.write(str(tmp_path / "partial"))
    fallbacks: List[str] = []

    def counted_rasa_load(cls: Any, model_file_name: str, *args: Any, **kwargs: Any) -> Any:
        fallbacks.append(model_file_name)
        return rasa_load(cls, model_file_name, *args, **kwargs)

    monkeypatch.setattr(model_load, "rasa_load", counted_rasa_load)
    with caplog.at_level(logging.WARNING, logger=model_load.__name__):
        load_for_inference(
            call["cls"],
            partial,
            call["model_data_example"],
            call["predict_data_example"],
            call["finetune_mode"],
            **call["kwargs"],
        )
    assert fallbacks == [partial]
    assert "did not restore every weight" in caplog.text


@pytest.mark.usefixtures("rasa_model_load")
def test_fine_tuning_is_left_to_rasa_s_own_load(
    trained_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = record_the_load_arguments(trained_model)
    fallbacks: List[bool] = []

    def counted_rasa_load(*args: Any, **kwargs: Any) -> Any:
        fallbacks.append(kwargs.get("finetune_mode", args[4] if len(args) > 4 else None))
        return rasa_load(*args, **kwargs)

    # Agent.load removed the unpacked model; the loaded model saves the same weights.
    checkpoint = str(tmp_path / "model.tf_model")
    call["model"].save(checkpoint)
    monkeypatch.setattr(model_load, "rasa_load", counted_rasa_load)
    load_for_inference(
        call["cls"],
        checkpoint,
        call["model_data_example"],
        call["predict_data_example"],
        True,
        **call["kwargs"],
    )
    assert fallbacks == [True]
