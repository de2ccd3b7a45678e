"""rasa_server/model_load.py: the trained model loaded without a training step
answers exactly as Rasa's own load does, and falls back to it when unsure."""

import logging
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import tensorflow as tf
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel

from rasa_server import model_load
from rasa_server.model_load import load_for_inference, rasa_load
from tools import threshold_curve


@pytest.fixture()
def rasa_model_load() -> Iterator[None]:
    """Restore RasaModel.load after each test, whichever load it installed."""
    installed = RasaModel.__dict__["load"]
    yield
    RasaModel.load = installed


def install(load: Any) -> None:
    RasaModel.load = classmethod(load)


def count_fallbacks(monkeypatch: pytest.MonkeyPatch) -> List[Tuple[Any, ...]]:
    """Make model_load's fallback (Rasa's own load) record each call; return the record."""
    fallbacks: List[Tuple[Any, ...]] = []

    def counted_rasa_load(*args: Any, **kwargs: Any) -> Any:
        fallbacks.append(args)
        return rasa_load(*args, **kwargs)

    monkeypatch.setattr(model_load, "rasa_load", counted_rasa_load)
    return fallbacks


@pytest.mark.usefixtures("rasa_model_load")
def test_every_held_out_ranking_is_the_same_as_with_rasa_s_own_load(
    trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = threshold_curve.held_out_texts()
    assert len(texts) > 100
    install(rasa_load)
    expected = threshold_curve.rankings(trained_model, texts)
    fallbacks = count_fallbacks(monkeypatch)
    install(load_for_inference)
    actual = threshold_curve.rankings(trained_model, texts)
    assert fallbacks == []  # the fast load ran, not Rasa's under its name
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

    install(recording_load)
    Agent.load(str(trained_model))
    assert len(calls) == 1
    assert calls[0]["finetune_mode"] is False and calls[0]["predict_data_example"] is not None
    return calls[0]


def checkpoint_of(model: Any, path: Path, leave_out: str = "") -> str:
    """The model's checkpoint as RasaModel.save writes it (the model under "model"),
    optionally without the layer `leave_out`; returns its prefix."""
    # What RasaModel.save writes: the layers, the metrics and the optimizer
    # (not the traced functions, which hold the same weights under other names).
    children = {
        name: child
        for name, child in model._trackable_children().items()
        if name == "optimizer" or isinstance(child, tf.keras.metrics.Metric)
    }
    layers = dict(model._tf_layers)
    if leave_out:
        del layers[leave_out]
    return tf.train.Checkpoint(model=tf.train.Checkpoint(**children, _tf_layers=layers)).write(str(path))


def load_from(call: Dict[str, Any], checkpoint: str, finetune_mode: bool = False) -> Any:
    return load_for_inference(
        call["cls"],
        checkpoint,
        call["model_data_example"],
        call["predict_data_example"],
        finetune_mode,
        **call["kwargs"],
    )


@pytest.mark.usefixtures("rasa_model_load")
def test_a_checkpoint_that_misses_a_layer_s_weights_is_left_to_rasa_s_own_load(
    trained_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = record_the_load_arguments(trained_model)
    model = call["model"]
    fallbacks = count_fallbacks(monkeypatch)
    # The control: the whole checkpoint, written the same way, loads the fast way.
    load_from(call, checkpoint_of(model, tmp_path / "whole"))
    assert fallbacks == []
    # Each layer with weights, left out in turn, is noticed.
    layers_with_weights = [name for name, layer in model._tf_layers.items() if layer.variables]
    assert len(layers_with_weights) >= 3
    for name in layers_with_weights:
        caplog.clear()
        partial = checkpoint_of(model, tmp_path / name.replace(".", "_"), leave_out=name)
        with caplog.at_level(logging.WARNING, logger=model_load.__name__):
            load_from(call, partial)
        assert fallbacks and fallbacks[-1][1] == partial, (name, layers_with_weights)
        warnings = [r.getMessage() for r in caplog.records if r.name == model_load.__name__]
        assert len(warnings) == 1 and "did not restore every weight" in warnings[0]
        # Short: TensorFlow's message lists the variables' values.
        assert len(warnings[0]) < 400
    assert len(fallbacks) == len(layers_with_weights)


@pytest.mark.usefixtures("rasa_model_load")
def test_fine_tuning_eager_mode_and_no_prediction_example_are_left_to_rasa_s_own_load(
    trained_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = record_the_load_arguments(trained_model)
    # Agent.load removed the unpacked model; the loaded model saves the same weights.
    checkpoint = str(tmp_path / "model.tf_model")
    call["model"].save(checkpoint)
    fallbacks = count_fallbacks(monkeypatch)
    load_from(call, checkpoint, finetune_mode=True)
    assert len(fallbacks) == 1
    eager = dict(call, kwargs=dict(call["kwargs"], config=dict(call["kwargs"]["config"], run_eagerly=True)))
    load_from(eager, checkpoint)
    assert len(fallbacks) == 2
    load_from(dict(call, predict_data_example=None), checkpoint)
    assert len(fallbacks) == 3
    load_from(call, checkpoint)
    assert len(fallbacks) == 3  # and with none of those, the fast way


def test_model_classes_other_than_diet_s_are_left_to_rasa_s_own_load(monkeypatch: pytest.MonkeyPatch) -> None:
    # TEDPolicy's and ResponseSelector's models load the same way, but no test
    # here compares their answers, so Rasa's own load keeps them.
    from rasa.core.policies.ted_policy import TED
    from rasa.nlu.selectors.response_selector import DIET2BOW, DIET2DIET

    monkeypatch.setattr(model_load, "rasa_load", lambda cls, *args, **kwargs: ("Rasa's load", cls))
    for model_class in (TED, DIET2BOW, DIET2DIET):
        assert load_for_inference(model_class, "checkpoint", object(), object()) == (
            "Rasa's load",
            model_class,
        )
