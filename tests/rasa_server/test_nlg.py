"""Shared phrases (plan_coverage/rules.yml) fill domain.yml's placeholders in
every response, whatever endpoints file the server runs with, in the
conversation's language; every response has its Spanish variation."""

import asyncio
import re

import pytest
import textstat
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from launch.paths import PROJECT_DIR
from plan_coverage.engine import load_rules
from rasa_server import fixes
from rasa_server.nlg import PhrasesNaturalLanguageGenerator, response_text

fixes.apply_fixes()
DOMAIN = Domain.load(PROJECT_DIR / "domain.yml")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.mark.parametrize("nlg_settings", [None, EndpointConfig(type="response")], ids=["none", "response"])
def test_a_server_without_nlg_settings_still_fills_the_phrases(nlg_settings: EndpointConfig) -> None:
    assert isinstance(NaturalLanguageGenerator.create(nlg_settings, DOMAIN), PhrasesNaturalLanguageGenerator)


@pytest.mark.parametrize("response", sorted(DOMAIN.responses))
def test_no_response_leaves_a_placeholder_for_members(response: str) -> None:
    nlg = NaturalLanguageGenerator.create(None, DOMAIN)
    tracker = DialogueStateTracker.from_events("member-1", [], slots=DOMAIN.slots)
    message = asyncio.run(nlg.generate(response, tracker, CollectingOutputChannel.name()))
    assert message is not None and message["text"]
    assert not PLACEHOLDER.search(message["text"]), message["text"]
    assert message["text"] == response_text(response, DOMAIN)


def test_the_id_card_line_reaches_every_response_that_names_it() -> None:
    id_card = load_rules().phrases["id_card"]
    named = [name for name, variations in DOMAIN.responses.items() if "{id_card}" in variations[0]["text"]]
    assert len(named) >= 5
    assert all(id_card in response_text(name, DOMAIN) for name in named)


def generated(response: str, language: "str | None") -> dict:
    """What the server's generator sends for a response in a conversation with that language slot."""
    nlg = NaturalLanguageGenerator.create(None, DOMAIN)
    events = [] if language is None else [SlotSet("language", language)]
    tracker = DialogueStateTracker.from_events("member-1", events, slots=DOMAIN.slots)
    message = asyncio.run(nlg.generate(response, tracker, CollectingOutputChannel.name()))
    assert message is not None
    return message


@pytest.mark.parametrize("response", sorted(DOMAIN.responses))
def test_every_response_is_in_spanish_for_a_spanish_conversation(response: str) -> None:
    """A Spanish conversation gets the Spanish variation, with the Spanish ID-card line and
    the same button payloads; English, and an unset or unknown language, get the English."""
    spanish, english = generated(response, "es"), generated(response, None)
    assert spanish["text"] == response_text(response, DOMAIN, language="es") != english["text"]
    assert not PLACEHOLDER.search(spanish["text"]), spanish["text"]
    assert [b["payload"] for b in spanish.get("buttons") or []] == [
        b["payload"] for b in english.get("buttons") or []
    ]
    assert generated(response, "en")["text"] == generated(response, "fr")["text"] == english["text"]
    if "{id_card}" in DOMAIN.responses[response][0]["text"]:
        assert load_rules(language="es").phrases["id_card"] in spanish["text"]
        assert load_rules().phrases["id_card"] not in spanish["text"]


def test_spanish_responses_are_easy_to_read() -> None:
    """Each Spanish response text is "fairly easy" or easier on the Fernández-Huerta scale (>= 70)."""
    textstat.set_lang("es")  # global in textstat: back to English after
    try:
        scores = {
            name: textstat.fernandez_huerta(response_text(name, DOMAIN, "es")) for name in DOMAIN.responses
        }
    finally:
        textstat.set_lang("en_US")
    assert {name: score for name, score in scores.items() if score < 70} == {}
