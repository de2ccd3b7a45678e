"""Domain responses with the shared phrases of the coverage rules filled in.

Sentences every reply shares, such as the ID-card line, are defined once, in
`plan_coverage/rules.yml` (`phrases`). domain.yml's responses name them as
placeholders ("... {id_card}."); this generator, set as `nlg` in
endpoints.yml, fills them in as Rasa fills slot values, in the language of the
conversation (the slot `language`; Rasa itself picks the response variation
whose `condition` names that language).
"""

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from plan_coverage.engine import DEFAULT_LANGUAGE, LANGUAGES, fill_phrases, load_rules

DOMAIN_PATH = Path(__file__).resolve().parents[1] / "domain.yml"
# The slot with the conversation's language (domain.yml).
LANGUAGE_SLOT = "language"


class PhrasesNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's response generator, with the rules' phrases as response variables."""

    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None
    ) -> None:
        super().__init__((domain or Domain.empty()).responses)

    def _fill_response(
        self,
        response: Dict[Text, Any],
        filled_slots: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> Dict[Text, Any]:
        # Slot values and explicit arguments win over a phrase of the same name.
        language = conversation_language(filled_slots)
        return super()._fill_response(
            response, filled_slots, **{**load_rules(language=language).phrases, **kwargs}
        )


def conversation_language(filled_slots: Optional[Dict[Text, Any]]) -> Text:
    """The conversation's language from its slots: one of LANGUAGES, English when unset or unknown."""
    language = (filled_slots or {}).get(LANGUAGE_SLOT)
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def response_text(name: Text, domain: Optional[Domain] = None, language: Text = DEFAULT_LANGUAGE) -> Text:
    """The text of a domain response in `language`, phrases filled in: its variation
    for that language (condition on the slot `language`), else its first one.

    Without a domain (a server with no model) it is read from domain.yml.
    Raises KeyError for a response the domain does not have.
    """
    variations = (domain or _domain_on_disk()).responses[name]
    chosen = next((v for v in variations if _is_for_language(v, language)), variations[0])
    return fill_phrases(str(chosen["text"]), load_rules(language=language).phrases)


def _is_for_language(variation: Dict[Text, Any], language: Text) -> bool:
    conditions = variation.get("condition") or []
    return any(
        c.get("type") == "slot" and c.get("name") == LANGUAGE_SLOT and c.get("value") == language
        for c in conditions
    )


@lru_cache(maxsize=1)
def _domain_on_disk() -> Domain:
    return Domain.load(DOMAIN_PATH)
