"""Tests that the coverage rules data rests on the source article and fits the NLU contract."""

from pathlib import Path
from typing import List, Set

import pytest
import yaml

from plan_coverage.engine import RULES_PATH, load_rules

PROJECT = Path(__file__).resolve().parents[2]
INTENTS_DOC = PROJECT / "docs" / "intents.md"
DOMAIN = PROJECT / "domain.yml"

RULES = load_rules()


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


# --- references ------------------------------------------------------------------------


# --- source quotes -----------------------------------------------------------------
# (that each quote is in the article: tests/test_source_article.py)


def test_every_rule_has_source_quotes() -> None:
    """Every rule and redirect quotes at least one real sentence fragment, not single letters."""
    raw = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    for entry in raw.get("redirects", []) + raw["rules"]:
        assert isinstance(entry["source"], list) and entry["source"], entry["id"]
        assert all(isinstance(q, str) and len(q.split()) >= 3 for q in entry["source"]), entry["id"]


# --- topics and intents --------------------------------------------------------------------


def test_contract_lists_every_rules_topic() -> None:
    """docs/intents.md lists every coverage topic of the rules (non_hcsc_plan comes from an insurer)."""
    assert len(contract_topics()) == len(RULES.topics)


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
    # One question intent per topic; non_hcsc_plan is reached by naming an insurer.
    assert len(asks) == len(RULES.topics) - 1
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
