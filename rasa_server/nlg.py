"""Domain responses with the shared phrases of the coverage rules filled in.

Sentences every reply shares, such as the ID-card line, are defined once, in
`plan_coverage/rules.yml` (`phrases`). domain.yml's responses name them as
placeholders ("... {id_card}."); this generator, set as `nlg` in
endpoints.yml, fills them in as Rasa fills slot values.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional, Text

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from plan_coverage.engine import fill_phrases, load_rules

DOMAIN_PATH = Path(__file__).resolve().parents[1] / "domain.yml"


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
        return super()._fill_response(response, filled_slots, **{**load_rules().phrases, **kwargs})


def response_text(name: Text, domain: Optional[Domain] = None) -> Text:
    """The first text variation of a domain response, phrases filled in.

    Without a domain (a server with no model) it is read from domain.yml.
    Raises KeyError for a response the domain does not have.
    """
    responses = (domain or _domain_on_disk()).responses
    return fill_phrases(str(responses[name][0]["text"]), load_rules().phrases)


@lru_cache(maxsize=1)
def _domain_on_disk() -> Domain:
    return Domain.load(DOMAIN_PATH)
