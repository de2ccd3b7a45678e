"""DIET's training batches keep the longest messages apart (issue 16: training time).

The batch order is checked on Rasa's own batch generator and model data; the
padding it saves is counted on the project's training messages, tokenised by
the project's spaCy pipeline; a small model is trained with it by Rasa's own
training and loaded. config.yml trains the model with it (README, Speed and scale).
"""

import asyncio
from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
import spacy
import yaml
from rasa.core.agent import Agent
from rasa.model_training import train_nlu
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils import train_utils
from rasa.utils.tensorflow.constants import BALANCED, SEQUENCE
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.feature_array import FeatureArray
from rasa.utils.tensorflow.model_data import RasaModelData

from launch.paths import PROJECT_DIR
from nlu_components.length_bucketed_diet import (
    LengthBucketedBatchGenerator,
    LengthBucketedDIETClassifier,
    bucketed_batch_order,
    sequence_lengths,
)


def batches_of(order: np.ndarray, batch_size: int) -> List[np.ndarray]:
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def padded_positions(lengths: np.ndarray, batch_size: int) -> int:
    """Positions DIET computes: each batch padded to its longest message."""
    return sum(len(b) * int(lengths[b].max()) for b in batches_of(np.arange(len(lengths)), batch_size))


def training_message_lengths() -> np.ndarray:
    """Token count of every training message, as the project's tokenizer splits it."""
    nlp = spacy.load("en_hcsc_entities")
    messages = load_data(str(PROJECT_DIR / "data" / "nlu")).training_examples
    return np.array([len(nlp.make_doc(str(m.get(TEXT)).lower())) for m in messages])


def assert_bucketed(lengths: np.ndarray, order: np.ndarray, batch_size: int, quantile: float) -> None:
    """Every batch is padded to the quantile at most, but for the few holding the long messages."""
    limit = np.quantile(lengths, quantile)
    long_count = int((lengths > limit).sum())
    batches = batches_of(order, batch_size)
    padded_past_limit = [b for b in batches if lengths[b].max() > limit]
    # the long messages fill their batches; one more may be shared with the
    # longest short ones, as every batch but the last must be full
    assert len(padded_past_limit) <= -(-long_count // batch_size) + 1
    assert all(len(b) == batch_size for b in batches[:-1])


@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.95])
@pytest.mark.parametrize("batch_size", [7, 32, 64])
def test_short_batches_are_padded_to_the_quantile_at_most(quantile: float, batch_size: int) -> None:
    np.random.seed(3)
    lengths = np.random.choice([3, 5, 7, 8, 12, 45, 60], size=500, p=[0.2, 0.2, 0.2, 0.2, 0.15, 0.03, 0.02])
    order = bucketed_batch_order(lengths, batch_size, quantile)

    assert sorted(order.tolist()) == list(range(500))
    assert_bucketed(lengths, order, batch_size, quantile)


def test_each_batch_keeps_the_epoch_order() -> None:
    # Rasa's shuffle and class balancing decide which examples are near each
    # other; only the long ones are taken out of the stream.
    lengths = np.array([2, 50, 3, 4, 60, 5, 6, 7, 8, 9, 3, 2])
    order = bucketed_batch_order(lengths, 3, 0.8)
    for batch in batches_of(order, 3):
        assert batch.tolist() == sorted(batch.tolist())


def test_batch_order_changes_between_epochs() -> None:
    np.random.seed(0)
    lengths = np.arange(200) % 20
    orders = {tuple(bucketed_batch_order(lengths, 8, 0.9)) for _ in range(5)}
    assert len(orders) > 1


def test_quantile_one_keeps_rasas_batches() -> None:
    lengths = np.array([9, 1, 40, 2, 3])
    assert bucketed_batch_order(lengths, 2, 1.0).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("batch_size, quantile", [(0, 0.9), (8, 0.0), (8, 1.5), (8, -0.1)])
def test_bad_settings_are_refused(batch_size: int, quantile: float) -> None:
    with pytest.raises(ValueError):
        bucketed_batch_order(np.array([1, 2, 3]), batch_size, quantile)


def test_the_project_data_pads_far_less() -> None:
    # The saving is in padded positions, which is what DIET computes; the
    # time it gives is measured by `make bench` (training from scratch).
    lengths = training_message_lengths()
    np.random.seed(42)
    for batch_size in (64, 160, 256):  # DIET's batch size grows from 64 to 256
        random_order = np.random.permutation(len(lengths))
        bucketed = random_order[bucketed_batch_order(lengths[random_order], batch_size, 0.9)]
        before = padded_positions(lengths[random_order], batch_size)
        after = padded_positions(lengths[bucketed], batch_size)
        assert after < 0.6 * before, (batch_size, before, after)


def model_data(lengths: List[int], labels: List[int]) -> RasaModelData:
    sequences = np.empty(len(lengths), dtype=object)  # one (tokens, 4) array per example
    sequences[:] = [np.ones((n, 4), dtype=np.float32) for n in lengths]
    label_ids = np.array(labels).reshape(-1, 1)
    return RasaModelData(
        label_key="label",
        label_sub_key="ids",
        data={
            TEXT: {SEQUENCE: [FeatureArray(sequences, number_of_dimensions=3)]},
            "label": {"ids": [FeatureArray(label_ids, number_of_dimensions=2)]},
        },
    )


def test_rasas_generator_with_class_balancing_gives_bucketed_batches() -> None:
    np.random.seed(7)
    lengths = [
        int(n) for n in np.random.choice([2, 4, 6, 9, 30, 50], size=120, p=[0.3, 0.3, 0.2, 0.1, 0.05, 0.05])
    ]
    labels = [i % 5 for i in range(120)]
    generator = LengthBucketedBatchGenerator(
        model_data(lengths, labels),
        batch_size=[8, 16],
        epochs=3,
        batch_strategy=BALANCED,
        shuffle=True,
        length_quantile=0.9,
    )
    for _ in range(3):
        epoch_lengths = sequence_lengths(generator._data)
        size = generator._current_batch_size
        assert_bucketed(epoch_lengths, np.arange(len(epoch_lengths)), size, 0.9)
        for index in range(len(generator)):
            inputs, _ = generator[index]  # Rasa's own batch preparation still works
            assert inputs[0].shape[0] == len(epoch_lengths[index * size : (index + 1) * size])
        generator.on_epoch_end()


TINY_CONFIG = """
recipe: default.v1
language: en
assistant_id: length-bucketed-test
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: nlu_components.length_bucketed_diet.LengthBucketedDIETClassifier
    epochs: 3
    batch_size: 4
    length_quantile: 0.8
    random_seed: 1
policies: []
"""

TOPICS = {
    "ask_referral": ["do i need a referral", "is a referral needed for massage", "referral for pt massage"],
    "ask_spa": ["does it cover a spa massage", "is a day spa massage covered", "spa massage coverage"],
}
# one long message per intent, so the epoch has a long tail to batch apart
LONG = {
    "ask_referral": "my doctor said i should see a massage therapist for my back after the accident "
    "last winter and i want to know if i first need a referral from her for that",
    "ask_spa": "i booked a relaxing massage at the day spa near my office for next friday after a long "
    "month of work and i wonder whether my plan would pay for any of it",
}


def test_rasa_trains_and_loads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.yml").write_text(TINY_CONFIG)
    nlu = {"version": "3.1", "nlu": []}
    for intent, examples in TOPICS.items():
        lines = "".join(f"- {text}\n" for text in [*examples, LONG[intent]])
        nlu["nlu"].append({"intent": intent, "examples": lines})
    (tmp_path / "nlu.yml").write_text(yaml.safe_dump(nlu, sort_keys=False))
    epochs_bucketed = []
    original = LengthBucketedBatchGenerator._shuffle_and_balance

    def counted(self: LengthBucketedBatchGenerator, batch_size: int) -> Any:
        epochs_bucketed.append(self.length_quantile)
        return original(self, batch_size)

    monkeypatch.setattr(LengthBucketedBatchGenerator, "_shuffle_and_balance", counted)
    monkeypatch.setenv("RASA_MAX_CACHE_SIZE", "0")

    model = train_nlu(str(tmp_path / "config.yml"), str(tmp_path / "nlu.yml"), str(tmp_path / "models"))

    assert model is not None
    assert epochs_bucketed and set(epochs_bucketed) == {0.8}  # Rasa's training used the generator
    assert train_utils.RasaBatchDataGenerator is RasaBatchDataGenerator  # and gave Rasa's back
    parsed = asyncio.run(Agent.load(model).parse_message("is a spa massage covered"))
    assert parsed["intent"]["name"] in TOPICS
    assert {r["name"] for r in parsed["intent_ranking"]} == set(TOPICS)


def test_defaults_are_diets_plus_the_quantile() -> None:
    defaults = LengthBucketedDIETClassifier.get_default_config()
    assert defaults["length_quantile"] == 0.9
    assert {
        k: v for k, v in defaults.items() if k != "length_quantile"
    } == DIETClassifier.get_default_config()
