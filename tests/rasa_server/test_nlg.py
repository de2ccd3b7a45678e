"""Shared phrases (plan_coverage/rules.yml) fill domain.yml's placeholders in
every response, whatever endpoints file the server runs with."""

import asyncio
import re

import pytest
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.shared.core.domain import Domain
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
