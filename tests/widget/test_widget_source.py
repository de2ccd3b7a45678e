"""Checks on the widget's source: how it puts text on the page, and its words."""

import re
from typing import Dict

import pytest
import textstat

from launch.paths import PROJECT_DIR
from plan_coverage.engine import LANGUAGES, load_rules

WIDGET_SOURCE = (PROJECT_DIR / "web" / "widget" / "widget.js").read_text()
# How answers look: shared by the widget and the agent console.
RENDER_SOURCE = (PROJECT_DIR / "web" / "widget" / "render.js").read_text()
MAX_GRADE = 8


def widget_words(language: str = "en") -> Dict[str, str]:
    """The member-facing words in one language: the widget's TEXTS table for
    that language, name by name."""
    table = re.search(rf"\n    {language}: \{{(.*?)\n    \}},", WIDGET_SOURCE, re.S)
    assert table, f"widget.js has no TEXTS table for {language}"
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


def test_the_widget_speaks_each_language_of_the_assistant_with_the_same_words() -> None:
    # Every language has every text: a key missing in one would show "undefined".
    tables = {language: widget_words(language) for language in LANGUAGES}
    assert set(tables) == set(re.findall(r"\n    (\w+): \{", WIDGET_SOURCE.split("const TEXTS = {")[1]))
    english = tables["en"]
    assert len(english) > 40
    for language, words in tables.items():
        assert list(words) == list(english), language
        assert all(text.strip() for text in words.values()), language
    # Spanish is not English copied over, except the words both languages share.
    same = {key for key in english if tables["es"][key] == english[key]}
    assert same <= {"feedbackNo"}, same


@pytest.mark.parametrize("language", LANGUAGES)
def test_fallback_sentences_point_to_the_id_card(language: str) -> None:
    words = widget_words(language)
    assert {"launcher", "offline", "slow", "idCard"} <= words.keys()
    assert load_rules(language=language).phrases["id_card"] in words["idCard"]


def test_the_widget_carries_the_rules_id_card_line_and_the_servers_limits() -> None:
    # Defined in plan_coverage/rules.yml and rasa_server/limits.py; `make` copies them.
    from rasa_server.limits import DEFAULT_ACTION_TIMEOUT_S, WIDGET_REPLY_TIMEOUT_S
    from tools.widget_facts import rules_phrases, widget_source_with_facts

    assert widget_source_with_facts(WIDGET_SOURCE, rules_phrases()) == WIDGET_SOURCE
    assert f"const REPLY_TIMEOUT_MS = {round(WIDGET_REPLY_TIMEOUT_S * 1000)};" in WIDGET_SOURCE
    assert WIDGET_REPLY_TIMEOUT_S > DEFAULT_ACTION_TIMEOUT_S
    assert widget_words()["idCard"] == f"For help now, {load_rules().phrases['id_card']}."
    spanish = load_rules(language="es").phrases["id_card"]
    assert spanish == (
        "llame al número de servicio al cliente que aparece en su tarjeta de "
        "identificación de Blue Cross and Blue Shield"
    )
    assert widget_words("es")["idCard"] == f"Para recibir ayuda ahora, {spanish}."


def test_the_facts_tool_writes_each_language_from_the_rules() -> None:
    # A stale line in either language is rewritten from the rules, not kept.
    from tools.widget_facts import rules_phrases, widget_source_with_facts

    stale = WIDGET_SOURCE.replace(widget_words("es")["idCard"], "Llame a alguien.")
    assert stale != WIDGET_SOURCE
    assert widget_source_with_facts(stale, rules_phrases()) == WIDGET_SOURCE


def test_the_widget_sends_exactly_the_offered_feedback_commands() -> None:
    # The widget's FEEDBACK table and plan_coverage/feedback.py must agree, or
    # a member's rating would be read as ordinary words.
    from plan_coverage.feedback import REASONS, feedback_payloads

    table = re.search(r"const FEEDBACK = \{(.*?)\n  \};", WIDGET_SOURCE, re.S)
    assert table, "widget.js has no FEEDBACK table"
    payloads = set(re.findall(r"'(/inform\{[^']*\})'", table.group(1)))
    assert payloads == set(feedback_payloads())
    # Each reason's title is a key of TEXTS: in English, the feedback module's words.
    keys = re.findall(r'text: "(\w+)"', table.group(1))
    assert [widget_words()[key] for key in keys] == list(REASONS.values())
    assert all(widget_words("es")[key] for key in keys)
