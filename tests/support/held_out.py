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

from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.loading import load_data

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
    """Every example text of a Rasa NLU file or folder, read by Rasa (entity markup removed)."""
    return {str(m.get(TEXT)) for m in load_data(str(path)).training_examples if m.get(TEXT)}


def training_examples() -> Set[str]:
    """Every NLU example under data/nlu/ (the rest of data/ is rules and feedback)."""
    return nlu_examples(PROJECT_DIR / "data" / "nlu")


def near_duplicates(held_out: Iterable[str], training: Iterable[str]) -> List[Tuple[str, str]]:
    """(held-out message, training example) pairs that are the same message, normalised."""
    trained = {normalised(t): t for t in training}
    found = []
    for message in held_out:
        match = difflib.get_close_matches(normalised(message), trained, n=1, cutoff=NEAR_DUPLICATE_RATIO)
        if match:
            found.append((message, trained[match[0]]))
    return found
