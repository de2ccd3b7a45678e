"""DIET's prediction graph called without TensorFlow's per-call argument handling.

Rasa traces DIET's prediction step once, as a `tf.function` with a fixed
input signature (`RasaModel._rasa_predict`), and then calls it for every
message. Each call through the `tf.function` binds the arguments to the
Python signature, converts each input array to a tensor, checks it against
the signature, looks up the traced graph and only then runs it: measured
here, 5.7 ms per call, of which running the graph is 2.9 ms.

`FlatSignatureStep` does what that call does for an input batch of one
array per signature entry, each already of its entry's dtype and of a shape
the entry admits (as Rasa's batches are): makes each array an eager tensor
(what `tf.convert_to_tensor` ends in for an array) and runs the one traced
graph (`ConcreteFunction._call_flat`, what the `tf.function` call ends in).
The graph and its input tensors are the same, so the outputs are the same to
the last bit
(tests/rasa_server/test_predict_step.py compares every held-out intent
ranking). Any other input goes through the `tf.function` itself, which
answers or raises as before. Installed for DIET's model only (the model the
tests compare; `rasa_server/fixes.py`).
"""

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
from rasa.nlu.classifiers.diet_classifier import DIET
from rasa.utils.tensorflow.models import RasaModel
from tensorflow.python.eager import context
from tensorflow.python.framework import constant_op
from tensorflow.python.util import nest

# Rasa's own `RasaModel._rasa_predict`, which `rasa_predict_with_flat_step` runs.
rasa_predict = RasaModel._rasa_predict


class FlatSignatureStep:
    """A `tf.function` with one fixed input signature, called through its traced graph.

    `step(batch_in)` returns what `function(batch_in)` returns: a dict of
    tensors (DIET's scores and diagnostic data). `flat_calls` counts the calls
    that took the direct way (for tests).
    """

    def __init__(self, function: Any, concrete: Any, specs: Sequence[tf.TensorSpec]) -> None:
        self.function = function
        self.concrete = concrete
        self.specs: Tuple[tf.TensorSpec, ...] = tuple(specs)
        self.dtypes = tuple(np.dtype(spec.dtype.as_numpy_dtype) for spec in self.specs)
        self.dims = tuple(tuple(spec.shape.as_list()) for spec in self.specs)
        self.flat_calls = 0

    @classmethod
    def of(cls, function: Any) -> Optional["FlatSignatureStep"]:
        """The step for `function`, or None unless it is a `tf.function` whose one
        argument has a fixed signature of tensors (as Rasa's prediction step is)."""
        signature = getattr(function, "input_signature", None)
        if not isinstance(signature, (list, tuple)) or len(signature) != 1:
            return None
        specs = nest.flatten(signature, expand_composites=True)
        if not specs or not all(type(s) is tf.TensorSpec and s.shape.rank is not None for s in specs):
            return None
        return cls(function, function.get_concrete_function(*signature), specs)

    def __call__(self, batch_in: Any) -> Any:
        tensors = self._tensors(batch_in)
        if tensors is None:
            return self.function(batch_in)
        self.flat_calls += 1
        return self.concrete._call_flat(tensors, self.concrete.captured_inputs)

    def _tensors(self, batch_in: Any) -> Optional[List[tf.Tensor]]:
        """The batch as the graph's input tensors, or None unless it is one array per
        entry, each of exactly the entry's dtype and of a shape the entry admits (the
        `tf.function`, which converts other values, then decides)."""
        if not isinstance(batch_in, (tuple, list)) or len(batch_in) != len(self.specs):
            return None
        for value, dtype, dims in zip(batch_in, self.dtypes, self.dims, strict=True):
            if not (isinstance(value, np.ndarray) and value.dtype == dtype and _fits(value.shape, dims)):
                return None
        # What tf.convert_to_tensor does for an array in eager mode, minus its dispatch.
        ctx = context.context()
        return [
            constant_op.convert_to_eager_tensor(value, ctx, spec.dtype)
            for value, spec in zip(batch_in, self.specs, strict=True)
        ]


def _fits(shape: Tuple[int, ...], dims: Tuple[Optional[int], ...]) -> bool:
    """True when an array of `shape` fits a TensorSpec of `dims` (None: any length)."""
    return len(shape) == len(dims) and all(
        dim is None or dim == size for size, dim in zip(shape, dims, strict=True)
    )


def rasa_predict_with_flat_step(self: RasaModel, batch_in: Tuple[np.ndarray, ...]) -> Any:
    """`RasaModel._rasa_predict` (same arguments, result and errors), with DIET's traced
    prediction step called through `FlatSignatureStep` from its second call on."""
    step = self._tf_predict_step
    # DIET's own model class, not its subclasses (ResponseSelector's DIET2BOW and DIET2DIET).
    if type(self) is DIET and step is not None and not isinstance(step, FlatSignatureStep):
        self._tf_predict_step = FlatSignatureStep.of(step) or step
    return rasa_predict(self, batch_in)
