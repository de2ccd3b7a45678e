"""The project's spaCy pipeline package (spacy_pipeline/), as spaCy loads it."""

import json
import os
import re
from pathlib import Path
from typing import List, Tuple

import pytest
import spacy
from spacy.language import Language

import en_hcsc_entities

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "spacy_pipeline"


@pytest.fixture(scope="module")
def nlp() -> Language:
    """The installed pipeline, loaded by name as Rasa's SpacyNLP loads it."""
    return spacy.load("en_hcsc_entities", disable=["parser"])


def ents(nlp: Language, text: str) -> List[Tuple[str, str, str]]:
    """(text, label, normalised value) for each entity."""
    return [(e.text, e.label_, e.ent_id_) for e in nlp(text).ents]


def test_loads_by_name_from_any_directory(tmp_path: Path) -> None:
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        loaded = spacy.load("en_hcsc_entities")
    finally:
        os.chdir(cwd)
    assert loaded.pipe_names == ["entity_ruler"]
    assert loaded.path is not None  # Rasa's SpacyNLP rejects pipelines without one


def test_installed_package_matches_the_source_patterns(nlp: Language) -> None:
    source = PACKAGE_DIR / "en_hcsc_entities" / "entity_patterns.yml"
    installed = Path(en_hcsc_entities.__file__).with_name("entity_patterns.yml")
    assert installed.read_text() == source.read_text(), "run `make setup` to reinstall the pipeline"


def test_version_is_the_same_in_pyproject_and_meta() -> None:
    pyproject = (PACKAGE_DIR / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    meta = json.loads((PACKAGE_DIR / "en_hcsc_entities" / "meta.json").read_text())
    assert version is not None and meta["version"] == version.group(1)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("BCBSTX", [("BCBSTX", "state", "TX")]),
        ("blue cross of illinois", [("blue cross of illinois", "state", "IL")]),
        ("Blue Cross and Blue Shield of Montana", [("Blue Cross and Blue Shield of Montana", "state", "MT")]),
        ("I live in OK", [("OK", "state", "OK")]),
        ("ok sure", []),
        ("NM", [("NM", "state", "NM")]),
        ("nm", []),
        ("blue advantage hmo", [("blue advantage hmo", "plan_type", "hmo")]),
        ("Blue Choice PPO", [("Blue Choice PPO", "plan_type", "ppo")]),
        ("star kids", [("star kids", "plan_type", "medicaid")]),
        ("Florida Blue", [("Florida Blue", "insurer", "florida_blue")]),
        ("bcbs of michigan", [("bcbs of michigan", "insurer", "other_blue_plan")]),
        ("CPT 97124", [("CPT 97124", "cpt_code", "97124")]),
        ("97530", [("97530", "cpt_code", "")]),
        ("massage envy", [("massage envy", "care_setting", "massage_clinic")]),
        ("my physio", [("physio", "care_setting", "physical_therapy")]),
    ],
)
def test_patterns_find_and_normalise(nlp: Language, text: str, expected: List[Tuple[str, str, str]]) -> None:
    assert ents(nlp, text) == expected


def test_a_bad_pattern_entry_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "patterns.yml"
    bad.write_text("state:\n  TX:\n    - {shout: TEXAS}\n")
    with pytest.raises(ValueError, match="unknown entry"):
        en_hcsc_entities.build(bad)
