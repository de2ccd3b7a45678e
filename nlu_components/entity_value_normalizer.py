"""Give each entity the spaCy entity_ruler found its normalised value and its negation.

`SpacyEntityExtractor` reports the matched text ("bcbstx", "Blue Advantage
HMO"); the ruler's patterns carry the normalised value as their id ("TX",
"hmo"). This component maps one to the other so that slots and the coverage
rules only ever see normalised values.

It also carries negspacy's verdict: a qualifier (care setting, purpose, stage)
the member denies ("not at a spa", "isn't maintenance") gets `"negated": true`,
and the coverage action does not use it.
"""

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

_SPACY_EXTRACTOR = SpacyEntityExtractor.__name__
# The entity key the coverage action reads: the member denied this qualifier.
NEGATED = "negated"
# negspacy's Span extension (en_hcsc_entities sets it on qualifiers only).
NEGEX_EXTENSION = "negex"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=False,
    model_from=SpacyNLP.__name__,
)
class EntityValueNormalizer(GraphComponent):
    """Sets each spaCy entity's value to its ruler pattern id, and marks denied qualifiers."""

    @classmethod
    def required_components(cls) -> List[type]:
        """The entities to normalise come from `SpacyEntityExtractor`."""
        return [SpacyNLP, SpacyEntityExtractor]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "EntityValueNormalizer":
        """Creates the component; it has nothing to train or persist."""
        return cls()

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        """Normalise the value of every entity the spaCy extractor found."""
        for message in messages:
            entities = [e for e in message.get(ENTITIES, []) if e.get(EXTRACTOR) == _SPACY_EXTRACTOR]
            if not entities:
                continue
            # The extractor ran the same pipeline on the same text: its spans
            # are the spaCy entities, found again by their offsets and label.
            found = spacy_entities(model, str(message.get(TEXT) or ""))
            for entity in entities:
                key = (
                    entity[ENTITY_ATTRIBUTE_START],
                    entity[ENTITY_ATTRIBUTE_END],
                    entity[ENTITY_ATTRIBUTE_TYPE],
                )
                if key not in found:
                    continue
                value, negated = found[key]
                if value:
                    entity[ENTITY_ATTRIBUTE_VALUE] = value
                if negated:
                    entity[NEGATED] = True
        return messages


def spacy_entities(model: SpacyModel, text: Text) -> Dict[Tuple[int, int, Text], Tuple[Optional[Text], bool]]:
    """(start, end, label) -> (ruler pattern id or None, negated) for each entity in `text`."""
    found: Dict[Tuple[int, int, Text], Tuple[Optional[Text], bool]] = {}
    for ent in model.model(text).ents:
        negated = bool(ent._.get(NEGEX_EXTENSION)) if ent.has_extension(NEGEX_EXTENSION) else False
        found[(ent.start_char, ent.end_char, ent.label_)] = (ent.ent_id_ or None, negated)
    return found
