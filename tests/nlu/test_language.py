"""The language detector (nlu_components/language.py) and its NLU component.

Real lingua models, real Rasa messages; no mocks.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from nlu_components.language import detect_language, requested_language
from nlu_components.language_detector import DETECTION_KEY, LANGUAGE_ENTITY, LanguageDetector

HELDOUT = Path(__file__).with_name("language_heldout.yml")
# The gate on the held-out list of short and mixed messages.
MIN_ACCURACY = 0.95


def heldout_cases() -> List[Tuple[str, Optional[str]]]:
    """(message, the language it clearly sets, or None when it must keep the conversation's)."""
    data = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    expected = {"clear_en": "en", "clear_es": "es", "keep": None}
    return [(str(text), expected[key]) for key in expected for text in data[key]]


def sets_language(text: str) -> Optional[str]:
    detection = detect_language(text)
    return detection.language if detection.clear else None


def test_heldout_accuracy_is_at_least_the_gate() -> None:
    """Accuracy on held-out short, plain and mixed messages, by kind (printed with -s)."""
    cases = heldout_cases()
    wrong = [(text, want, sets_language(text)) for text, want in cases if sets_language(text) != want]
    accuracy = 1 - len(wrong) / len(cases)
    print(f"language detection: {accuracy:.3f} of {len(cases)} held-out messages; wrong: {wrong}")
    assert accuracy >= MIN_ACCURACY, wrong


@pytest.mark.parametrize("text", ["hola", "ok", "PPO?", "gracias", "sí", "97124", "thanks", "texas hmo", ""])
def test_short_or_ambiguous_messages_keep_the_conversations_language(text: str) -> None:
    assert sets_language(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "tengo un PPO de blue cross",
        "mi PT me da masaje",
        "necesito massage therapy",
        "quiero hablar con una persona",
    ],
)
def test_spanish_and_spanglish_are_spanish(text: str) -> None:
    assert sets_language(text) == "es"


@pytest.mark.parametrize(
    "text",
    [
        "does my plan cover massage at a spa?",
        "what about out of network?",
        "is it covered if my doctor orders it?",
    ],
)
def test_clear_english_is_english(text: str) -> None:
    assert sets_language(text) == "en"


def test_a_long_message_is_judged_on_its_first_words() -> None:
    """Bounded work: a 2,000-character message is judged like its start."""
    text = "mi hija necesita terapia fisica con masajes " * 50
    assert detect_language(text).words == 40 and sets_language(text) == "es"


@pytest.mark.parametrize(
    "metadata, language",
    [
        ({"lang": "es"}, "es"),
        ({"lang": "es-MX"}, "es"),
        ({"lang": "EN_us"}, "en"),
        ({"lang": " es "}, "es"),
        ({"lang": "fr"}, None),
        ({"lang": "español"}, None),
        ({"lang": ["es"]}, None),
        ({"lang": "es" * 30}, None),
        ({}, None),
        (None, None),
    ],
)
def test_requested_language(metadata: Optional[Dict[str, Any]], language: Optional[str]) -> None:
    assert requested_language(metadata) == language


def processed(text: str, metadata: Optional[Dict[str, Any]] = None) -> Message:
    message = Message(data={"text": text, "metadata": metadata or {}})
    return LanguageDetector().process([message])[0]


def language_entities(message: Message) -> List[Dict[str, Any]]:
    return [e for e in message.get("entities", []) if e["entity"] == LANGUAGE_ENTITY]


def test_component_adds_the_entity_for_a_clear_message_only() -> None:
    spanish = processed("mi hija necesita terapia fisica con masajes")
    assert [(e["value"], e["extractor"]) for e in language_entities(spanish)] == [("es", "LanguageDetector")]
    assert 0.8 <= language_entities(spanish)[0]["confidence"] <= 1.0
    short = processed("ok")
    assert language_entities(short) == []
    assert short.get(DETECTION_KEY) == {
        "language": None,
        "confidence": 0.0,
        "words": 0,
        "clear": False,
        "requested": None,
    }
    assert "language_detection" in spanish.as_dict(only_output_properties=True)


def test_component_follows_the_language_the_site_asks_for() -> None:
    """The site's language wins over the words: the member chose it (widget button, portal)."""
    message = processed("does my plan cover massage?", {"lang": "es"})
    assert [e["value"] for e in language_entities(message)] == ["es"]
    assert message.get(DETECTION_KEY)["language"] == "en"
    assert message.get(DETECTION_KEY)["requested"] == "es"


def test_component_keeps_other_entities() -> None:
    message = Message(data={"text": "tengo un PPO de blue cross", "entities": [{"entity": "plan_type"}]})
    entities = LanguageDetector().process([message])[0].get("entities")
    assert [e["entity"] for e in entities] == ["plan_type", LANGUAGE_ENTITY]
