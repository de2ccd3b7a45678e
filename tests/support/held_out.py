"""Held-out messages must not be training examples, however they are spelled.

A held-out message that differs from a training example only in case,
punctuation, accents or a letter or two ("cuanto me falta del deducible" and
"... deducible?", "is a massage FSA-eligible" and "is massage fsa eligible")
was trained on, and would inflate the held-out figures.
"""

import difflib
import re
import unicodedata
from pathlib import Path
from typing import Iterable, List, Set, Tuple

import yaml

from launch.paths import PROJECT_DIR

# difflib's ratio at or above which two normalised messages are the same message.
NEAR_DUPLICATE_RATIO = 0.95


def normalised(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces.

    Underscores stay: "session_start" is one token to the tokenizer, "session
    start" two.
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


def nlu_examples(path: Path) -> Set[str]:
    """Every example line of a Rasa NLU YAML file, as typed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        line.strip()[2:].strip()
        for block in data.get("nlu", [])
        for line in str(block.get("examples") or "").splitlines()
        if line.strip().startswith("- ")
    }


def training_examples() -> Set[str]:
    """Every NLU example under data/."""
    return set().union(*(nlu_examples(path) for path in sorted((PROJECT_DIR / "data").rglob("*.yml"))))


def near_duplicates(held_out: Iterable[str], training: Iterable[str]) -> List[Tuple[str, str]]:
    """(held-out message, training example) pairs that are the same message, normalised."""
    trained = {normalised(t): t for t in training}
    found = []
    for message in held_out:
        key = normalised(message)
        for other, original in trained.items():
            matcher = difflib.SequenceMatcher(None, key, other, autojunk=False)
            if (
                matcher.real_quick_ratio() >= NEAR_DUPLICATE_RATIO
                and matcher.quick_ratio() >= NEAR_DUPLICATE_RATIO
                and matcher.ratio() >= NEAR_DUPLICATE_RATIO
            ):
                found.append((message, original))
                break
    return found
