"""rasa_server/predict_step.py: DIET's traced prediction step, called directly,
answers exactly as the tf.function does, and leaves anything else to it."""

from pathlib import Path
from typing import Any, Iterator, List

import numpy as np
import pytest
import tensorflow as tf
from rasa.utils.tensorflow.models import RasaModel

from rasa_server import predict_step
from rasa_server.predict_step import FlatSignatureStep, rasa_predict, rasa_predict_with_flat_step
from tools import threshold_curve


@pytest.fixture()
def installed_predict() -> Iterator[None]:
    """Restore RasaModel._rasa_predict after each test, whichever one it installed."""
    installed = RasaModel.__dict__["_rasa_predict"]
    yield
    RasaModel._rasa_predict = installed


def record_steps(monkeypatch: pytest.MonkeyPatch) -> List[FlatSignatureStep]:
    """Make FlatSignatureStep.of record every step it makes; return the record."""
    steps: List[FlatSignatureStep] = []
    make = FlatSignatureStep.of.__func__  # type: ignore[attr-defined]

    def recording_of(cls: Any, function: Any) -> Any:
        step = make(cls, function)
        steps.append(step)
        return step

    monkeypatch.setattr(FlatSignatureStep, "of", classmethod(recording_of))
    return steps


@pytest.mark.usefixtures("installed_predict")
def test_every_held_out_ranking_is_the_same_as_through_the_tf_function(
    trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = threshold_curve.held_out_texts()
    assert len(texts) > 100
    RasaModel._rasa_predict = rasa_predict
    expected = threshold_curve.rankings(trained_model, texts)
    steps = record_steps(monkeypatch)
    RasaModel._rasa_predict = rasa_predict_with_flat_step
    actual = threshold_curve.rankings(trained_model, texts)
    # Loading traced the graph (one prediction); every message took the direct call.
    assert len(steps) == 1 and steps[0] is not None
    assert steps[0].flat_calls == len(texts)
    # The same graph with the same input tensors: equal to the last bit.
    assert actual == expected


def traced_step() -> Any:
    """A tf.function with a fixed signature of two tensors in one argument, as Rasa traces."""
    signature = [[tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([None], tf.int64)]]

    def predict(batch_in: Any) -> Any:
        features, lengths = batch_in
        return {"scores": tf.reduce_sum(features, axis=-1) * tf.cast(lengths, tf.float32)}

    return tf.function(predict, input_signature=signature)


def test_inputs_that_do_not_fit_the_signature_go_through_the_tf_function() -> None:
    step = FlatSignatureStep.of(traced_step())
    assert step is not None
    fitting = (np.ones((2, 3), np.float32), np.array([1, 2], np.int64))
    np.testing.assert_array_equal(step(fitting)["scores"].numpy(), [3.0, 6.0])
    assert step.flat_calls == 1
    # A list of the same arrays is still one array per entry: the direct way.
    step(list(fitting))
    assert step.flat_calls == 2
    # Python lists are not arrays: the tf.function converts them (and answers the same).
    np.testing.assert_array_equal(step(([[1.0, 1.0, 1.0]], [2]))["scores"].numpy(), [6.0])
    assert step.flat_calls == 2
    # An array of another dtype, which TensorFlow may convert: the tf.function converts it.
    doubles = (np.ones((2, 3), np.float64), np.array([1, 2], np.int64))
    np.testing.assert_array_equal(step(doubles)["scores"].numpy(), [3.0, 6.0])
    assert step.flat_calls == 2
    # A wrong shape or a wrong number of inputs: the tf.function's own error.
    for unfit in (
        (np.ones((2, 4), np.float32), np.array([1, 2], np.int64)),
        (np.ones((2, 3), np.float32), np.array([[1], [2]], np.int64)),
        (np.ones((2, 3), np.float32),),
    ):
        with pytest.raises(ValueError, match="input_signature"):
            step(unfit)
    assert step.flat_calls == 2


def test_functions_without_one_fixed_signature_are_left_as_they_are() -> None:
    assert FlatSignatureStep.of(tf.function(lambda batch_in: batch_in)) is None
    two_arguments = tf.function(lambda a, b: a + b, input_signature=[tf.TensorSpec([None], tf.float32)] * 2)
    assert FlatSignatureStep.of(two_arguments) is None
    assert FlatSignatureStep.of(lambda batch_in: batch_in) is None


def test_only_diet_s_model_gets_the_direct_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # TEDPolicy's and ResponseSelector's models (DIET2BOW and DIET2DIET subclass
    # DIET) predict the same way, but no test here compares their answers.
    from rasa.core.policies.ted_policy import TED
    from rasa.nlu.selectors.response_selector import DIET2BOW, DIET2DIET

    calls: List[Any] = []
    monkeypatch.setattr(predict_step, "rasa_predict", lambda model, batch_in: calls.append(model))
    for model_class in (TED, DIET2BOW, DIET2DIET):
        model = model_class.__new__(model_class)
        model._tf_predict_step = function = traced_step()
        rasa_predict_with_flat_step(model, ())
        assert model._tf_predict_step is function and calls[-1] is model
