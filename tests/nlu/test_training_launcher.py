"""`make train`'s launcher (launch/train.py): rasa train with glibc's allocator keeping freed memory,
through launch/rasa_train.py, which skips the training cache's fingerprints while the cache is off."""

import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
import rasa.shared.utils.io
import scipy.sparse
from rasa.engine.caching import LocalTrainingCache
from rasa.engine.graph import ExecutionContext, GraphSchema, SchemaNode
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.training.hooks import TrainingHook
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from launch.rasa_train import cache_is_off, skip_fingerprints_when_the_cache_is_off
from launch.train import CACHE_ENV, MALLOC_ENV, train_command, training_env


def test_training_env_adds_the_malloc_settings_to_the_given_environment() -> None:
    env = training_env({"PATH": "/usr/bin"})
    assert env["PATH"] == "/usr/bin"
    for name, value in MALLOC_ENV.items():
        assert env[name] == value
    # glibc reads these as byte counts: whole numbers, the mmap threshold
    # within glibc's maximum (32 MiB on 64-bit), the trim threshold above it.
    assert int(env["MALLOC_MMAP_THRESHOLD_"]) <= 32 * 2**20
    assert int(env["MALLOC_TRIM_THRESHOLD_"]) > int(env["MALLOC_MMAP_THRESHOLD_"])


def test_training_env_turns_rasa_s_training_cache_off() -> None:
    # rasa/engine/caching.py: a maximum size of 0 MB disables the cache.
    assert training_env({})["RASA_MAX_CACHE_SIZE"] == CACHE_ENV["RASA_MAX_CACHE_SIZE"] == "0"
    assert training_env({"RASA_MAX_CACHE_SIZE": "500"})["RASA_MAX_CACHE_SIZE"] == "500"


def test_an_operator_s_own_malloc_setting_wins() -> None:
    env = training_env({"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert env["MALLOC_TRIM_THRESHOLD_"] == "131072"
    assert env["MALLOC_MMAP_THRESHOLD_"] == MALLOC_ENV["MALLOC_MMAP_THRESHOLD_"]


def test_the_command_is_rasa_train_from_scratch_with_the_given_options() -> None:
    command = train_command(["--out", "models", "--quiet"])
    assert command == [
        sys.executable,
        *("-m", "launch.rasa_train"),
        *("train", "--force", "--out", "models", "--quiet"),
    ]


def test_the_launcher_runs_rasa_train_from_any_directory(tmp_path: Path) -> None:
    # --help: rasa train's own argument parser answers, without training.
    done = subprocess.run(
        [sys.executable, "-m", "launch.train", "--help"],
        cwd=tmp_path,
        env={**training_env(), "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: rasa train" in done.stdout
    assert "--fixed-model-name" in done.stdout


# launch/rasa_train.py: Rasa's TrainingHook without fingerprints while the cache is off.

NODE = "run_CountVectorsFeaturizer"


def featurised_training_data() -> TrainingData:
    """Two training messages given sparse features, as a featuriser gives them.

    TrainingData hashes its messages when made; adding features clears that,
    so, as after a featuriser in training, no message has a fingerprint yet.
    """
    data = TrainingData(
        [
            Message(data={TEXT: "does my plan cover massage", INTENT: "ask_coverage"}),
            Message(data={TEXT: "do I need a referral", INTENT: "ask_referral"}),
        ]
    )
    for message in data.training_examples:
        features = scipy.sparse.coo_matrix(np.ones((1, 4)))
        message.add_features(Features(features, FEATURE_TYPE_SENTENCE, TEXT, "CountVectorsFeaturizer"))
    assert fingerprinted(data) == [False, False]
    return data


def run_hooks(hook: TrainingHook, schema: GraphSchema, inputs: TrainingData, output: TrainingData) -> Dict:
    """The hook around one node, as Rasa's GraphNode calls it; the before-hook's data."""
    context = ExecutionContext(graph_schema=schema)
    hook_data = hook.on_before_node(NODE, context, {}, {"training_data": inputs})
    hook.on_after_node(NODE, context, {}, output, hook_data)
    return hook_data


def training_hook(cache: LocalTrainingCache, tmp_path: Path) -> Tuple[TrainingHook, GraphSchema]:
    node = SchemaNode(
        needs={"training_data": "featurizer_before"},
        uses=CountVectorsFeaturizer,
        constructor_name="load",
        fn="process_training_data",
        config={},
    )
    schema = GraphSchema({NODE: node})
    storage = LocalModelStorage(tmp_path / "model_storage")
    return TrainingHook(cache=cache, model_storage=storage, pruned_schema=schema), schema


def fingerprinted(data: TrainingData) -> List[bool]:
    # Message.fingerprint() keeps what it computed; None means never hashed.
    return [message._cached_fingerprint is not None for message in data.training_examples]


@pytest.fixture
def own_training_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa's TrainingHook methods back in place after the test."""
    for name in ("on_before_node", "on_after_node"):
        monkeypatch.setattr(TrainingHook, name, getattr(TrainingHook, name))


def test_with_the_cache_off_the_hook_hashes_no_training_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_training_hook: None
) -> None:
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))
    monkeypatch.setenv("RASA_MAX_CACHE_SIZE", "0")
    cache = LocalTrainingCache()
    assert cache_is_off(cache)
    hook, schema = training_hook(cache, tmp_path)
    # Rasa's own hook hashes every message of the node's inputs and output...
    inputs, output = featurised_training_data(), featurised_training_data()
    hook_data = run_hooks(hook, schema, inputs, output)
    assert fingerprinted(inputs) == fingerprinted(output) == [True, True]
    # ...for a cache that stores nothing.
    assert cache.get_cached_output_fingerprint(hook_data["fingerprint_key"]) is None

    skip_fingerprints_when_the_cache_is_off()
    skip_fingerprints_when_the_cache_is_off()  # installing twice changes nothing more
    inputs, output = featurised_training_data(), featurised_training_data()
    assert run_hooks(hook, schema, inputs, output) == {}
    assert fingerprinted(inputs) == fingerprinted(output) == [False, False]


def test_with_a_cache_the_hook_is_rasa_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_training_hook: None
) -> None:
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))
    monkeypatch.setenv("RASA_MAX_CACHE_SIZE", "100")
    skip_fingerprints_when_the_cache_is_off()
    cache = LocalTrainingCache()
    assert not cache_is_off(cache)
    hook, schema = training_hook(cache, tmp_path)
    inputs, output = featurised_training_data(), featurised_training_data()
    hook_data = run_hooks(hook, schema, inputs, output)
    assert set(hook_data) == {"fingerprint_key"}
    # The cache holds the output's fingerprint under the node's key, as with Rasa's hook.
    stored = cache.get_cached_output_fingerprint(hook_data["fingerprint_key"])
    assert stored == rasa.shared.utils.io.deep_container_fingerprint(featurised_training_data())
    assert fingerprinted(output) == [True, True]


def test_cache_is_off_only_for_rasa_s_local_cache_at_size_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_CACHE_DIRECTORY", str(tmp_path / "cache"))
    for size, off in (("0", True), ("0.0", True), ("0.5", False), ("1000", False)):
        monkeypatch.setenv("RASA_MAX_CACHE_SIZE", size)
        assert cache_is_off(LocalTrainingCache()) is off, size
    assert not cache_is_off(object())


def test_the_training_entry_point_installs_the_skip_before_handing_over_to_rasa() -> None:
    # In a child process: launch.rasa_train.main() keeps JAX out of it.
    check = (
        "import rasa.__main__ as rasa_cli\n"
        "rasa_cli.main = lambda: None\n"
        "import launch.rasa_train\n"
        "launch.rasa_train.main()\n"
        "from rasa.engine.training.hooks import TrainingHook\n"
        "assert getattr(TrainingHook.on_before_node, 'skips_fingerprints', False)\n"
        "print('installed')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("installed")
