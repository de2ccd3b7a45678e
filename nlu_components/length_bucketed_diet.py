"""Rasa's DIETClassifier, trained on batches that keep the longest messages apart.

DIET pads every batch to its longest message, and a batch costs the same per
padded position as per real token. Most training messages are short (half
have 8 tokens or fewer), but about one in a hundred has 40 or more, so with
random batches nearly every batch was padded to 40 or more tokens: most of
training time went on padding.

`LengthBucketedDIETClassifier` keeps Rasa's shuffling and class balancing,
then puts the messages longer than the `length_quantile` of the epoch's
token counts into batches of their own. The short batches are padded to that
quantile at most. Batch order is shuffled again, so long batches come at
random points of the epoch. Prediction is DIET's, unchanged.

Measured on an 80/20 split of the training data (not the held-out sets):
60 epochs in about 55% of the time, validation intent accuracy within the
spread of seeds. Sorting groups of batches by length was faster still but
lost accuracy, so only the long tail is set apart (README, Speed and scale).
In config.yml since the held-out safety slices have at least 21 cases
each: `make train` from scratch 96 to 105 s instead of about 160 s.
"""

import contextlib
import functools
from typing import Any, Dict, Iterator, Text

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils import train_utils
from rasa.utils.tensorflow.constants import SEQUENCE
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import Data, RasaModelData

LENGTH_QUANTILE = "length_quantile"


def bucketed_batch_order(lengths: np.ndarray, batch_size: int, length_quantile: float) -> np.ndarray:
    """Example positions in batch order, the longest messages batched apart.

    Args:
        lengths: token count of each example, shape (n,), in the epoch's order.
        batch_size: examples per batch, > 0.
        length_quantile: in (0, 1]; examples longer than this quantile of
            `lengths` go into batches of their own. 1.0 keeps Rasa's batches.

    Returns:
        A permutation of range(n) in which every slice of `batch_size` is one
        batch: short batches, padded to the quantile at most, and long ones,
        each kept in the epoch's order; full batches in an order shuffled with
        NumPy's global generator (which Rasa seeds with `random_seed`), the
        one partial batch, if any, last.

    Raises:
        ValueError: for a batch size below 1 or a quantile outside (0, 1].
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not 0.0 < length_quantile <= 1.0:
        raise ValueError(f"length_quantile must be in (0, 1], got {length_quantile}")
    positions = np.arange(len(lengths))
    if len(lengths) == 0:
        return positions
    is_long = lengths > np.quantile(lengths, length_quantile)
    if not is_long.any():  # at 1.0 none is longer: Rasa's batches
        return positions
    # Rasa slices the epoch into batches at multiples of the batch size, so
    # every batch but the last must be full: the short part's remainder, its
    # longest messages, joins the long part, whose remainder goes last.
    short = positions[~is_long]
    spill = len(short) % batch_size
    if spill:
        longest_short = short[np.argsort(lengths[short], kind="stable")[-spill:]]
        is_long[longest_short] = True
        short = positions[~is_long]
    long = positions[is_long]
    batches = [part[i : i + batch_size] for part in (short, long) for i in range(0, len(part), batch_size)]
    last = [batches.pop()] if len(long) % batch_size else []
    np.random.shuffle(batches)
    return np.concatenate(batches + last)


def sequence_lengths(data: Data) -> np.ndarray:
    """Token count of each example: rows of its first text sequence feature, shape (n,)."""
    features = data[TEXT][SEQUENCE][0]
    return np.array([example.shape[0] for example in features])


class LengthBucketedBatchGenerator(RasaBatchDataGenerator):
    """Rasa's batch generator, with the epoch's longest messages in batches of their own."""

    def __init__(self, model_data: RasaModelData, *args: Any, length_quantile: float, **kwargs: Any) -> None:
        # Set before Rasa's __init__, which prepares the first epoch.
        self.length_quantile = length_quantile
        super().__init__(model_data, *args, **kwargs)

    def _shuffle_and_balance(self, batch_size: int) -> Data:
        data = super()._shuffle_and_balance(batch_size)
        if TEXT not in data or SEQUENCE not in data[TEXT]:
            return data
        order = bucketed_batch_order(sequence_lengths(data), batch_size, self.length_quantile)
        return RasaModelData._data_for_ids(data, order)


@contextlib.contextmanager
def _bucketed_batches(length_quantile: float) -> Iterator[None]:
    # DIETClassifier.train builds its generator through this module attribute;
    # swapping it for the call keeps the rest of Rasa's train() as it is.
    # Rasa trains graph nodes one at a time, so nothing else sees the swap.
    original = train_utils.RasaBatchDataGenerator
    train_utils.RasaBatchDataGenerator = functools.partial(
        LengthBucketedBatchGenerator, length_quantile=length_quantile
    )
    try:
        yield
    finally:
        train_utils.RasaBatchDataGenerator = original


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LengthBucketedDIETClassifier(DIETClassifier):
    """DIETClassifier whose training batches keep the longest messages apart.

    Config: DIET's, plus `length_quantile` (default 0.9, in (0, 1]; 1.0 is
    Rasa's batching).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """DIET's defaults and `length_quantile`."""
        return {**DIETClassifier.get_default_config(), LENGTH_QUANTILE: 0.9}

    def train(self, training_data: TrainingData) -> Resource:
        """Train as DIET does, on length-bucketed batches; return the resource."""
        with _bucketed_batches(float(self.component_config[LENGTH_QUANTILE])):
            return super().train(training_data)
