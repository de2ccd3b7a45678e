"""Try a DIET setting on an 80/20 split of the training data, never on the held-out sets.

For each seed: Rasa's stratified split of data/nlu (TrainingData.train_test_split),
config.yml with the DIET settings changed and the seed as DIET's random_seed, an
NLU-only training through `launch.train`'s environment and launcher, then every
validation message parsed by the trained model. Prints one JSON line per run:
wall and CPU seconds of the training, validation intent accuracy, and how many
validation messages got a wrong intent other than nlu_fallback (a wrong answer
rather than the fallback). How the README's split figures were measured; the
held-out gates (`make test`) still decide whether a setting is used.

Usage: `python -m tools.split_eval --set drop_rate=0.0 --seeds 42 1 7`
(values are YAML: `--set 'dense_dimension={text: 64, label: 20}'`).
"""

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from launch.paths import PROJECT_DIR
from launch.train import training_env

NLU_DATA = PROJECT_DIR / "data" / "nlu"
CONFIG = PROJECT_DIR / "config.yml"
DIET = "LengthBucketedDIETClassifier"
FALLBACK = "nlu_fallback"
TRAIN_FRACTION = 0.8


def parse_settings(pairs: Sequence[str]) -> Dict[str, Any]:
    """`name=yaml value` pairs as a dict; ValueError for a pair without `=`."""
    settings: Dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"expected name=value, got {pair!r}")
        settings[name.strip()] = yaml.safe_load(value)
    return settings


def variant_config(config: Dict[str, Any], settings: Dict[str, Any], seed: int) -> Dict[str, Any]:
    """A copy of `config` whose DIET component has `settings` and `seed`; KeyError if it has no DIET."""
    pipeline = [dict(component) for component in config["pipeline"]]
    diets = [component for component in pipeline if component["name"].endswith(DIET)]
    if not diets:
        raise KeyError(f"no {DIET} in the pipeline")
    for component in diets:
        component.update(settings, random_seed=seed)
    return {**config, "pipeline": pipeline}


def split(seed: int) -> Tuple[Any, Any]:
    """(train, validation) TrainingData of data/nlu, stratified by intent, the same for the same seed."""
    from rasa.shared.nlu.training_data.loading import load_data

    return load_data(str(NLU_DATA)).train_test_split(train_frac=TRAIN_FRACTION, random_seed=seed)


def train(config: Dict[str, Any], train_data: Any, folder: Path) -> Tuple[Path, float, float]:
    """Train an NLU model in `folder`: (model path, wall s, CPU s of the training process).

    Raises subprocess.CalledProcessError when the training fails (its log is folder/train.log).
    """
    (folder / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (folder / "train.yml").write_text(train_data.nlu_as_yaml(), encoding="utf-8")
    command = [
        sys.executable, "-m", "launch.rasa_train", "train", "nlu", "--config", str(folder / "config.yml"),
        "--nlu", str(folder / "train.yml"), "--out", str(folder), "--fixed-model-name", "model", "--quiet",
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(folder / "train.log", "w", encoding="utf-8") as log:
        subprocess.run(
            command, cwd=PROJECT_DIR, env=training_env(), check=True, stdout=subprocess.DEVNULL, stderr=log
        )
    wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return folder / "model.tar.gz", wall_s, cpu_s


def score(model: Path, validation: Any) -> Dict[str, Any]:
    """Intent accuracy of `model` on the validation messages; wrong intents other than the fallback."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def predicted() -> List[str]:
        return [
            (await agent.parse_message(example.get("text")))["intent"]["name"]
            for example in validation.intent_examples
        ]

    expected = [example.get("intent") for example in validation.intent_examples]
    got = asyncio.run(predicted())
    right = sum(g == e for g, e in zip(got, expected, strict=True))
    wrong_not_fallback = sum(g not in (e, FALLBACK) for g, e in zip(got, expected, strict=True))
    return {
        "validation_messages": len(expected),
        "accuracy": round(right / max(len(expected), 1), 4),
        "wrong_not_fallback": wrong_not_fallback,
    }


def run(settings: Dict[str, Any], seed: int, work_dir: Path) -> Dict[str, Any]:
    """One seed: split, train with `settings`, score; the result as a JSON-ready dict."""
    folder = work_dir / f"seed-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    train_data, validation = split(seed)
    config = variant_config(yaml.safe_load(CONFIG.read_text(encoding="utf-8")), settings, seed)
    model, wall_s, cpu_s = train(config, train_data, folder)
    return {
        "settings": settings,
        "seed": seed,
        "train_wall_s": round(wall_s, 1),
        "train_cpu_s": round(cpu_s, 1),
        **score(model, validation),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a DIET setting")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 7])
    parser.add_argument("--work-dir", type=Path, help="where models go (default: a temporary folder)")
    args = parser.parse_args(argv)
    settings = parse_settings(args.set)
    with tempfile.TemporaryDirectory(prefix="split-eval-") as temporary:
        work_dir = args.work_dir or Path(temporary)
        for seed in args.seeds:
            print(json.dumps(run(settings, seed, work_dir)), flush=True)


if __name__ == "__main__":
    main()
