"""spaCy pipeline for the member FAQ assistant: blank English + entity_ruler.

No pretrained spaCy model can be downloaded where this project runs, and the
entities it needs (HCSC plans, plan types, other insurers, CPT codes, care
settings) are a closed vocabulary, so the pipeline is built from
`entity_patterns.yml` when spaCy loads this package. Installed as a package,
`spacy.load("en_hcsc_entities")` finds it whatever the working directory is.
"""

from pathlib import Path
from typing import Any, Dict, Iterator, List, Union

import spacy
import yaml
from spacy.language import Language

PATTERNS_PATH = Path(__file__).with_name("entity_patterns.yml")

Phrase = Union[str, Dict[str, Any]]


def _token_pattern(phrase: str, attr: str, nlp: Language) -> List[Dict[str, str]]:
    """One token-level pattern matching `phrase` token by token on `attr`."""
    text = phrase.lower() if attr == "LOWER" else phrase
    return [{attr: token.text} for token in nlp.make_doc(text)]


def _expand(entry: Phrase) -> Iterator[Phrase]:
    """Expand a `{templates, fill}` entry into plain phrases; pass others on."""
    if isinstance(entry, dict) and "templates" in entry:
        for template in entry["templates"]:
            for word in entry["fill"]:
                yield template.format(word)
    else:
        yield entry


def ruler_patterns(nlp: Language, path: Path = PATTERNS_PATH) -> List[Dict[str, Any]]:
    """Translate the reviewed YAML vocabulary into entity_ruler patterns."""
    vocabulary = yaml.safe_load(path.read_text(encoding="utf-8"))
    patterns: List[Dict[str, Any]] = []
    for label, values in vocabulary.items():
        for value, phrases in values.items():
            for entry in (p for phrase in phrases for p in _expand(phrase)):
                if isinstance(entry, str):
                    pattern = _token_pattern(entry, "LOWER", nlp)
                elif "exact" in entry:
                    pattern = _token_pattern(entry["exact"], "ORTH", nlp)
                elif "regex" in entry:
                    # Open-ended matches keep their own text as the value.
                    patterns.append({"label": label, "pattern": [{"TEXT": {"REGEX": entry["regex"]}}]})
                    continue
                else:
                    raise ValueError(f"{path}: unknown entry {entry!r} under {label}/{value}")
                patterns.append({"label": label, "pattern": pattern, "id": str(value)})
    return patterns


def build(path: Path = PATTERNS_PATH) -> Language:
    """Build the pipeline: blank English tokenizer plus the entity_ruler."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    ruler.add_patterns(ruler_patterns(nlp, path))
    return nlp


def load(**overrides: Any) -> Language:
    """Entry point `spacy.load` calls for an installed pipeline package."""
    nlp = build()
    # spaCy records where a pipeline came from, and Rasa's SpacyNLP rejects a
    # pipeline without that record as an unloaded stub: this one comes from
    # this package's own files.
    nlp._path = PATTERNS_PATH.parent
    return nlp
