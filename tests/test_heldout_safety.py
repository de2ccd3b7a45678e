"""Held-out safety set (tests/heldout/): real member messages through the real
servers (the trained model and the action server, over the REST channel).

Gates (issue 11): 100% on the qualifier x topic slice and on the issue's own
table, at least 0.95 on every other slice. Per-slice figures are printed
(`pytest -s` or the -ra summary shows them).
"""

import itertools
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
import yaml

from tests.support.held_out import near_duplicates, training_examples

pytestmark = pytest.mark.slow

HELDOUT_DIR = Path(__file__).with_name("heldout")
FULL_MARKS = {"qualifier_topic", "issue_table", "es_qualifier_topic"}
MIN_SLICE_SCORE = 0.95
_senders = itertools.count()

Case = Dict[str, Any]
Reply = List[Dict[str, Any]]


def load_slices() -> Dict[str, List[Case]]:
    """Every slice of every held-out file, each case as a list of turns.

    A file with `language: es` (spanish.yml, issue 15) holds Spanish slices:
    their names get the prefix "es_", and every answer must be in Spanish.
    """
    slices: Dict[str, List[Case]] = {}
    for path in sorted(HELDOUT_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        language = data.get("language", "en")
        prefix = "" if language == "en" else f"{language}_"
        for name, cases in data["slices"].items():
            slices.setdefault(prefix + name, []).extend(
                {"turns": case["turns"] if "turns" in case else [case], "language": language}
                for case in cases
            )
    return slices


SLICES = load_slices()


def coverage_payloads(reply: Reply) -> List[Dict[str, Any]]:
    """The coverage payloads of a reply, in order."""
    return [
        m["custom"]["coverage"]
        for m in reply
        if isinstance(m.get("custom"), dict) and "coverage" in m["custom"]
    ]


def _accepts(expected: Any, actual: Any) -> bool:
    return actual in expected if isinstance(expected, list) else actual == expected


def turn_problem(turn: Dict[str, Any], reply: Reply, language: str = "en") -> Optional[str]:
    """Why a reply does not meet a turn's expectation, or None when it does."""
    payloads = coverage_payloads(reply)
    if any(p.get("language") != language for p in payloads):
        return f"expected answers in {language!r}, got {[p.get('language') for p in payloads]}"
    found = [(p["topic"], p["outcome"]) for p in payloads]
    if turn["expect"] == "none":
        if payloads:
            return f"expected no coverage answer, got {found}"
    else:
        expected = turn["expect"]
        if len(payloads) != len(expected):
            return f"expected {len(expected)} coverage answers, got {found}"
        for want, got in zip(expected, payloads, strict=True):
            if any(not _accepts(want[key], got[key]) for key in ("topic", "outcome") if key in want):
                return f"expected {expected}, got {found}"
    if not reply:
        return "no reply"
    text = " ".join(str(m.get("text") or "") for m in reply)
    if turn.get("text") and turn["text"] not in text:
        return f"reply lacks {turn['text']!r}: {text!r}"
    return None


def run_case(send: Callable[..., Reply], case: Case) -> Optional[str]:
    """Send a case's turns as one conversation; the first problem, or None."""
    sender = f"heldout-{next(_senders)}"
    for turn in case["turns"]:
        reply = send(sender, turn["say"], turn.get("metadata"))
        problem = turn_problem(turn, reply, case["language"])
        if problem:
            return f"{turn['say']!r}: {problem}"
    return None


def score(send: Callable[..., Reply], cases: List[Case]) -> Tuple[float, List[str]]:
    problems = [p for p in (run_case(send, case) for case in cases) if p]
    return 1 - len(problems) / len(cases), problems


@pytest.mark.parametrize("slice_name", sorted(SLICES))
def test_heldout_slice(slice_name: str, send: Callable[..., Reply]) -> None:
    cases = SLICES[slice_name]
    value, problems = score(send, cases)
    gate = 1.0 if slice_name in FULL_MARKS else MIN_SLICE_SCORE
    print(
        f"\nheld-out slice {slice_name}: {value:.3f} ({len(cases) - len(problems)}/{len(cases)}), gate {gate}"
    )
    for problem in problems:
        print("  FAIL", problem)
    assert value >= gate, "\n".join(problems)


def test_slices_are_all_there() -> None:
    english = {
        "qualifier_topic",
        "negation",
        "followups",
        "two_questions",
        "other_insurers",
        "near_scope",
        "noise",
        "long_stories",
    }
    assert set(SLICES) == english | {"issue_table"} | {f"es_{name}" for name in english}
    assert len(SLICES["qualifier_topic"]) >= 30
    assert len(SLICES["es_qualifier_topic"]) >= 30
    # A slice gated at 0.95 needs 21 cases or more for one miss to be allowed,
    # or any retrain that flips one case fails it.
    gated = [name for name in SLICES if name not in FULL_MARKS]
    assert {name: len(SLICES[name]) for name in gated if len(SLICES[name]) < 21} == {}


def test_heldout_messages_are_not_training_examples() -> None:
    said = {turn["say"] for cases in SLICES.values() for case in cases for turn in case["turns"]}
    assert near_duplicates(said, training_examples()) == []
