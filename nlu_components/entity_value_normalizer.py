"""Entities from the spaCy entity_ruler, with their normalised values and negation.

The ruler's patterns carry the normalised value as their id ("bcbstx" and
"Blue Advantage HMO" match patterns with ids "TX" and "hmo"), so each entity's
`value` is its `ent_id_`; an open-ended match without an id (a CPT code from a
regex pattern) keeps its text. Slots and the coverage rules only ever see
normalised values.

It also carries negspacy's verdict: a qualifier (care setting, purpose, stage)
the member denies ("not at a spa", "isn't maintenance") or an insurer the member
no longer has ("I used to have Cigna") gets `"negated": true`, and the coverage
action does not use it. A state named as an HCSC plan ("BCBSTX", "Blue Cross
and Blue Shield of Texas") gets `"hcsc_plan": true`.

The entities come from the Doc `OnePassSpacyNLP` already made
(nlu_components/one_pass_spacy.py): spaCy runs once per message. Rasa's
`SpacyEntityExtractor` ran the pipeline again, and this module's former
normaliser a third time, to find the ids.
"""

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
)
from rasa.shared.nlu.training_data.message import Message
from spacy.tokens import Doc

from en_hcsc_entities import names_hcsc_plan
from nlu_components.one_pass_spacy import OnePassSpacyNLP, entity_doc

# The entity key the coverage action reads: the member denied this qualifier,
# or no longer has this insurer.
NEGATED = "negated"
# The entity key on a state named as an HCSC plan ("BCBSTX", not "Texas").
HCSC_PLAN = "hcsc_plan"
# negspacy's Span extension (en_hcsc_entities sets it on qualifiers only).
NEGEX_EXTENSION = "negex"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class RulerEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Reports the entity_ruler's entities of `dimensions` with normalised values (module docstring).

    Config: `dimensions`, the entity labels to report (all when None), as for
    Rasa's SpacyEntityExtractor.
    """

    @classmethod
    def required_components(cls) -> List[type]:
        """The Doc comes from `OnePassSpacyNLP`."""
        return [OnePassSpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """All entity labels unless `dimensions` lists some."""
        return {"dimensions": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RulerEntityExtractor":
        """Creates the component; it has nothing to train or persist."""
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        """Add the entities of each message's Doc to its entities."""
        for message in messages:
            doc = entity_doc(message)
            if doc is None:
                continue
            found = self.filter_irrelevant_entities(
                ruler_entities(doc, self.name), self._config["dimensions"]
            )
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


def ruler_entities(doc: Doc, extractor: Text) -> List[Dict[Text, Any]]:
    """Rasa entity dicts for the Doc's entities: the ruler's id as value, `negated` when denied."""
    entities = []
    for ent in doc.ents:
        entity: Dict[Text, Any] = {
            ENTITY_ATTRIBUTE_TYPE: ent.label_,
            ENTITY_ATTRIBUTE_VALUE: ent.ent_id_ or ent.text,
            ENTITY_ATTRIBUTE_START: ent.start_char,
            ENTITY_ATTRIBUTE_CONFIDENCE: None,
            ENTITY_ATTRIBUTE_END: ent.end_char,
            EXTRACTOR: extractor,
        }
        if _negated(ent):
            entity[NEGATED] = True
        if names_hcsc_plan(ent):
            entity[HCSC_PLAN] = True
        entities.append(entity)
    return entities


def _negated(ent: Any) -> bool:
    return bool(ent._.get(NEGEX_EXTENSION)) if ent.has_extension(NEGEX_EXTENSION) else False
