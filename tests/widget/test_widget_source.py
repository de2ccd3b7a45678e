"""Checks on the widget's source: how it puts text on the page, and its words."""

import re
from typing import Dict

import pytest
import textstat

from launch.paths import PROJECT_DIR
from plan_coverage.engine import load_rules

WIDGET_SOURCE = (PROJECT_DIR / "web" / "widget" / "widget.js").read_text()
# How answers look: shared by the widget and the agent console.
RENDER_SOURCE = (PROJECT_DIR / "web" / "widget" / "render.js").read_text()
MAX_GRADE = 8


def widget_words() -> Dict[str, str]:
    """The member-facing words: the widget's TEXT table, name by name."""
    table = re.search(r"const TEXT = \{(.*?)\n  \};", WIDGET_SOURCE, re.S)
    assert table, "widget.js has no TEXT table"
    return dict(re.findall(r'^\s*(\w+): "([^"]*)",?(?:\s*//.*)?$', table.group(1), re.M))


@pytest.mark.parametrize("source", [WIDGET_SOURCE, RENDER_SOURCE], ids=["widget.js", "render.js"])
def test_widget_never_parses_text_as_html(source: str) -> None:
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser"):
        assert sink not in source


@pytest.mark.parametrize(
    "name, text", [(name, text) for name, text in widget_words().items() if text.endswith(".")]
)
def test_widget_sentences_read_at_grade_8_or_below(name: str, text: str) -> None:
    assert textstat.flesch_kincaid_grade(text) <= MAX_GRADE, text


def test_fallback_sentences_point_to_the_id_card() -> None:
    words = widget_words()
    assert {"launcher", "offline", "slow", "idCard"} <= words.keys()
    assert load_rules().phrases["id_card"] in words["idCard"]


def test_the_widget_carries_the_rules_id_card_line_and_the_servers_limits() -> None:
    # Defined in plan_coverage/rules.yml and rasa_server/limits.py; `make` copies them.
    from rasa_server.limits import DEFAULT_ACTION_TIMEOUT_S, WIDGET_REPLY_TIMEOUT_S
    from tools.widget_facts import widget_source_with_facts

    assert widget_source_with_facts(WIDGET_SOURCE, load_rules().phrases) == WIDGET_SOURCE
    assert f"const REPLY_TIMEOUT_MS = {round(WIDGET_REPLY_TIMEOUT_S * 1000)};" in WIDGET_SOURCE
    assert WIDGET_REPLY_TIMEOUT_S > DEFAULT_ACTION_TIMEOUT_S
    assert widget_words()["idCard"] == f"For help now, {load_rules().phrases['id_card']}."


def test_the_widget_sends_exactly_the_offered_feedback_commands() -> None:
    # The widget's FEEDBACK table and plan_coverage/feedback.py must agree, or
    # a member's rating would be read as ordinary words.
    from plan_coverage.feedback import REASONS, feedback_payloads

    table = re.search(r"const FEEDBACK = \{(.*?)\n  \};", WIDGET_SOURCE, re.S)
    assert table, "widget.js has no FEEDBACK table"
    payloads = set(re.findall(r"'(/inform\{[^']*\})'", table.group(1)))
    assert payloads == set(feedback_payloads())
    titles = re.findall(r'title: "([^"]*)"', table.group(1))
    assert titles == list(REASONS.values())
