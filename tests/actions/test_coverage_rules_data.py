"""Tests that the coverage rules data rests on the source article and fits the NLU contract."""

import re
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest
import yaml

from plan_coverage.engine import RULES_PATH, load_rules
from tests.support.prerequisites import skip_unless_required

PROJECT = Path(__file__).resolve().parents[2]
ARTICLE = Path(__file__).resolve().parents[3] / "shared" / "source" / "000_e4a14d2ed97fea39.txt"
INTENTS_DOC = PROJECT / "docs" / "intents.md"
DOMAIN = PROJECT / "domain.yml"

RULES = load_rules()

# Each reference id, with the words of its name that the article's References list must contain.
REFERENCE_KEY_WORDS: Dict[str, Tuple[str, ...]] = {
    "CPCP040": ("CPCP040", "Physical Medicine and Rehabilitation Services"),
    "BCBSIL-PA-LIST": ("Prior Authorization Procedure Code List",),
    "BCBSTX-BAHMO": ("Blue Advantage HMO", "Schedule of Copayments and Benefit Limits"),
    "THE803.010": ("THE803.010", "Physical Therapy (PT) and Occupational Therapy (OT) Services"),
    "THE803.008": ("THE803.008", "Non-Covered Physical Therapy Services"),
}

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00a0": " ",
    }
)


def normalise(text: str) -> str:
    """Text with curly quotes made straight, dashes made hyphens and whitespace collapsed."""
    text = re.sub("[\u2010-\u2015\u2212]", "-", text.translate(_QUOTES))
    return " ".join(text.split())


def article_text() -> str:
    """The source article, normalised; skips the test when the article is not there."""
    if not ARTICLE.is_file():
        skip_unless_required(
            f"source article not found at {ARTICLE} (expected next to the project in shared/source)"
        )
    return normalise(ARTICLE.read_text(encoding="utf-8"))


def references_section(article: str) -> str:
    """The article's numbered References list (normalised text)."""
    start = article.rfind(" References ")
    end = article.find("About Us", start)
    assert start != -1, "the article has no References section"
    return article[start : end if end != -1 else None]


def source_quotes() -> List[Tuple[str, str]]:
    """(rule id, quote) for every `source` quote of every rule and redirect."""
    return [(rule.id, quote) for rule in RULES.redirects + RULES.rules for quote in rule.source]


def markdown_table_rows(text: str, heading: str) -> List[List[str]]:
    """The body rows of the first table under a `## heading`, as lists of cell texts."""
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def contract_topics() -> Set[str]:
    """The topics of docs/intents.md's coverage intents, plus non_hcsc_plan."""
    rows = markdown_table_rows(INTENTS_DOC.read_text(encoding="utf-8"), "Coverage question intents")
    return {row[1] for row in rows} | {"non_hcsc_plan"}


def conversation_intents() -> Set[str]:
    """Intents docs/intents.md lists as conversation intents (no coverage topic)."""
    rows = markdown_table_rows(INTENTS_DOC.read_text(encoding="utf-8"), "Conversation intents")
    return {row[0] for row in rows}


# --- source quotes -------------------------------------------------------------------


def test_normalise_matches_curly_and_straight() -> None:
    """Normalising makes curly quotes, dashes and line breaks compare equal to plain ones."""
    assert normalise("the member\u2019s \u201cplan\u201d \u2013\n  PT") == 'the member\'s "plan" - PT'


def test_every_rule_has_source_quotes() -> None:
    """Every rule and redirect quotes at least one real sentence fragment, not single letters."""
    raw = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    for entry in raw.get("redirects", []) + raw["rules"]:
        assert isinstance(entry["source"], list) and entry["source"], entry["id"]
        assert all(isinstance(q, str) and len(q.split()) >= 3 for q in entry["source"]), entry["id"]


@pytest.mark.parametrize(
    "rule_id, quote", source_quotes(), ids=[f"{rid}-{i}" for i, (rid, _) in enumerate(source_quotes())]
)
def test_source_quote_is_in_article(rule_id: str, quote: str) -> None:
    """Each `source` quote appears word for word in the article."""
    assert normalise(quote) in article_text(), f"{rule_id}: quote not found in the article: {quote!r}"


# --- references ------------------------------------------------------------------------


def test_reference_ids() -> None:
    """The rules cite exactly the article's five policy references."""
    assert set(RULES.references) == set(REFERENCE_KEY_WORDS)


@pytest.mark.parametrize("ref_id", sorted(REFERENCE_KEY_WORDS))
def test_reference_names_match_article(ref_id: str) -> None:
    """Each reference name carries key words that the article's References list has."""
    section = references_section(article_text())
    name = normalise(RULES.references[ref_id])
    for words in REFERENCE_KEY_WORDS[ref_id]:
        assert words in name, f"{ref_id}: {words!r} not in the reference name {name!r}"
        assert words in section, f"{ref_id}: {words!r} not in the article's References"


# --- topics and intents --------------------------------------------------------------------


def test_contract_has_fourteen_topics() -> None:
    """docs/intents.md lists the 13 coverage topics; with non_hcsc_plan that makes 14."""
    assert len(contract_topics()) == 14


@pytest.mark.parametrize("topic", sorted(contract_topics()))
def test_contract_topic_has_answer_rule(topic: str) -> None:
    """Every contract topic is a rules topic with at least one answer rule."""
    assert topic in RULES.topics
    assert any(rule.kind == "answer" and topic in rule.topics for rule in RULES.rules)


def test_rules_have_no_topics_outside_contract() -> None:
    """The rules define no topic the NLU contract does not know."""
    assert set(RULES.topics) == contract_topics()


def test_ask_intents_map_to_topics() -> None:
    """Every ask_* question intent in domain.yml is ask_<topic> for a rules topic.

    Intents that docs/intents.md lists as conversation intents (ask_other_service)
    are not coverage questions and are left out.
    """
    intents = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["intents"]
    names = [i if isinstance(i, str) else next(iter(i)) for i in intents]
    asks = [n for n in names if n.startswith("ask_") and "+" not in n and n not in conversation_intents()]
    assert len(asks) == 13
    assert [n for n in asks if n[len("ask_") :] not in RULES.topics] == []


def test_multi_intents_are_two_coverage_questions() -> None:
    """Every multi-intent ("ask_referral+ask_visit_limits") joins two different ask_<topic> intents."""
    intents = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["intents"]
    names = [i if isinstance(i, str) else next(iter(i)) for i in intents]
    multi = [n.split("+") for n in names if "+" in n]
    assert multi, "no multi-intents in domain.yml"
    for parts in multi:
        assert len(parts) == 2 and parts[0] != parts[1], parts
        assert all(p.startswith("ask_") and p[len("ask_") :] in RULES.topics for p in parts), parts
