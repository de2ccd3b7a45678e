"""`make train`'s launcher (launch/train.py): rasa train with glibc's allocator keeping freed memory."""

import subprocess
import sys
from pathlib import Path

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
    assert Path(command[0]).name == "rasa" and Path(command[0]).parent == Path(sys.executable).parent
    assert command[1:] == ["train", "--force", "--out", "models", "--quiet"]


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
