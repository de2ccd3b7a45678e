"""Rasa's own checks on the project: data validation, conversation tests, held-out NLU accuracy."""

import json
import subprocess
from pathlib import Path
from typing import List

import pytest

from launch.paths import PROJECT_DIR
from launch.servers import VENV_BIN, quiet_env
from tests.support.held_out import near_duplicates, nlu_examples, training_examples

pytestmark = pytest.mark.slow

# Issue 11: not below the held-out accuracy measured before it (0.971).
MIN_INTENT_ACCURACY = 0.971


def rasa(*args: str) -> "subprocess.CompletedProcess[str]":
    """Run a rasa command in the project directory."""
    return subprocess.run(
        [str(VENV_BIN / "rasa"), *args],
        cwd=PROJECT_DIR,
        env=quiet_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def rasa_warnings(output: str) -> List[str]:
    """Rasa's own warnings about the project (not library deprecation noise)."""
    return [line for line in output.splitlines() if "UserWarning" in line or " WARNING " in line]


# Responses the Rasa server sends itself (see domain.yml), never from a rule,
# and utter_default and utter_out_of_scope, which the coverage action sends
# (on nlu_fallback without another insurer named, and on plan context without
# any; issue 11; on out_of_scope but for a story about massage with a question
# NLU ranked next): Rasa's validator warns that no rule uses them, and that is
# the only warning allowed.
SERVER_SENT_RESPONSES = {
    "utter_answer_unavailable",
    "utter_personal_details_notice",
    "utter_default",
    "utter_out_of_scope",
}


def test_data_validates_cleanly() -> None:
    result = rasa("data", "validate")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    expected = {f"The utterance '{name}' is not used in any story or rule." for name in SERVER_SENT_RESPONSES}
    warnings = rasa_warnings(result.stdout + result.stderr)
    unexpected = [line for line in warnings if not any(text in line for text in expected)]
    assert unexpected == []
    assert len(warnings) == len(expected), warnings


def test_conversation_stories_pass(trained_model: Path, tmp_path: Path) -> None:
    result = rasa(
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        "tests/test_stories.yml",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    failed = tmp_path / "failed_test_stories.yml"
    report = failed.read_text() if failed.exists() else result.stderr[-3000:]
    assert result.returncode == 0, report
    story_report = json.loads((tmp_path / "story_report.json").read_text())
    assert story_report["conversation_accuracy"]["accuracy"] == 1.0
    assert story_report["conversation_accuracy"]["total"] >= 15


def test_held_out_intent_accuracy(trained_model: Path, tmp_path: Path) -> None:
    result = rasa(
        "test",
        "nlu",
        "--model",
        str(trained_model),
        "--nlu",
        "tests/nlu_test.yml",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    print(
        f"held-out intent accuracy: {report['accuracy']:.4f} "
        f"(macro F1 {report['macro avg']['f1-score']:.4f}, n={report['macro avg']['support']})"
    )
    assert report["accuracy"] >= MIN_INTENT_ACCURACY


def test_held_out_set_is_not_in_the_training_data() -> None:
    held_out = nlu_examples(PROJECT_DIR / "tests" / "nlu_test.yml")
    assert len(held_out) >= 300
    assert near_duplicates(held_out, training_examples()) == []


def test_near_duplicates_are_found_however_spelled() -> None:
    training = ["cuanto me falta del deducible?", "is massage fsa eligible", "are you a bot"]
    held_out = ["Cuánto me falta del deducible", "is a massage FSA-eligible", "are you a robot", "goodbye"]
    assert near_duplicates(held_out, training) == [
        ("Cuánto me falta del deducible", "cuanto me falta del deducible?"),
        ("is a massage FSA-eligible", "is massage fsa eligible"),
    ]
