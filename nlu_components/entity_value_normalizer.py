"""Replace entity text found by the spaCy entity_ruler with its normalised value.

`SpacyEntityExtractor` reports the matched text ("bcbstx", "Blue Advantage
HMO"); the ruler's patterns carry the normalised value as their id ("TX",
"hmo"). This component maps one to the other so that slots and the coverage
rules only ever see normalised values.
"""

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_VALUE, EXTRACTOR
from rasa.shared.nlu.training_data.message import Message

_SPACY_EXTRACTOR = SpacyEntityExtractor.__name__


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=False,
    model_from=SpacyNLP.__name__,
)
class EntityValueNormalizer(GraphComponent):
    """Sets each spaCy entity's value to the id of the ruler pattern it matched."""

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
            for entity in message.get(ENTITIES, []):
                if entity.get(EXTRACTOR) != _SPACY_EXTRACTOR:
                    continue
                value = normalised_value(model, entity["entity"], str(entity[ENTITY_ATTRIBUTE_VALUE]))
                if value is not None:
                    entity[ENTITY_ATTRIBUTE_VALUE] = value
        return messages


def normalised_value(model: SpacyModel, label: Text, text: Text) -> Optional[Text]:
    """The ruler pattern id for `text` under `label`, or None for open matches."""
    for ent in model.model(text).ents:
        if ent.label_ == label and ent.ent_id_:
            return ent.ent_id_
    return None
