"""tools/split_eval.py: the 80/20 split of the training data and the DIET settings it tries."""

import json
from pathlib import Path

import pytest
import yaml

from tools import split_eval


def test_settings_are_yaml_values() -> None:
    settings = split_eval.parse_settings(["drop_rate=0.0", "dense_dimension={text: 64, label: 20}"])

    assert settings == {"drop_rate": 0.0, "dense_dimension": {"text": 64, "label": 20}}


@pytest.mark.parametrize("pair", ["drop_rate", "=0.1"])
def test_a_setting_without_a_name_or_value_is_refused(pair: str) -> None:
    with pytest.raises(ValueError):
        split_eval.parse_settings([pair])


def test_only_diet_gets_the_settings_and_the_seed() -> None:
    config = yaml.safe_load(split_eval.CONFIG.read_text(encoding="utf-8"))

    variant = split_eval.variant_config(config, {"drop_rate": 0.0}, seed=7)

    changed = [
        (old["name"], new)
        for old, new in zip(config["pipeline"], variant["pipeline"], strict=True)
        if old != new
    ]
    assert len(changed) == 1 and changed[0][0].endswith(split_eval.DIET)
    assert changed[0][1]["drop_rate"] == 0.0 and changed[0][1]["random_seed"] == 7
    assert "drop_rate" not in next(c for c in config["pipeline"] if c["name"].endswith(split_eval.DIET))
    assert variant["policies"] == config["policies"]


def test_a_config_without_diet_is_refused() -> None:
    with pytest.raises(KeyError):
        split_eval.variant_config({"pipeline": [{"name": "WhitespaceTokenizer"}]}, {}, seed=1)


def test_the_split_is_disjoint_complete_stratified_and_repeatable() -> None:
    train, validation = split_eval.split(seed=42)
    again_train, _ = split_eval.split(seed=42)
    other_train, _ = split_eval.split(seed=1)

    def keys(data: object) -> list:
        return [(e.get("text"), e.get("intent")) for e in data.intent_examples]  # type: ignore[attr-defined]

    train_keys, validation_keys = keys(train), keys(validation)
    assert not set(train_keys) & set(validation_keys)
    assert len(validation_keys) == pytest.approx(0.2 * (len(train_keys) + len(validation_keys)), abs=40)
    assert keys(again_train) == train_keys and keys(other_train) != train_keys
    # Every intent is learned: each has training messages, whatever went to validation.
    assert {intent for _, intent in validation_keys} <= {intent for _, intent in train_keys}


@pytest.mark.slow
def test_one_short_run_trains_and_scores_on_the_validation_part(tmp_path: Path, capsys) -> None:
    split_eval.main(["--set", "epochs=2", "--seeds", "3", "--work-dir", str(tmp_path)])

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    _, validation = split_eval.split(seed=3)
    assert result["settings"] == {"epochs": 2} and result["seed"] == 3
    assert result["validation_messages"] == len(validation.intent_examples)
    assert 0.0 <= result["accuracy"] <= 1.0
    wrong = result["validation_messages"] * (1 - result["accuracy"])
    assert 0 <= result["wrong_not_fallback"] <= round(wrong)
    assert result["train_cpu_s"] > 0 and (tmp_path / "seed-3" / "model.tar.gz").exists()
    trained_with = yaml.safe_load((tmp_path / "seed-3" / "config.yml").read_text(encoding="utf-8"))
    assert next(c for c in trained_with["pipeline"] if c["name"].endswith(split_eval.DIET))["epochs"] == 2
