"""Tell Rasa the language of each member message, as the entity `language`.

The slot `language` (domain.yml) is filled from this entity, so the
conversation keeps its language until a message sets another: the entity is
added only when

- the site asked for a language in the message metadata (`{"lang": "es"}`:
  a portal that knows the member's language, or the widget's language
  button), which wins; or
- the message is clearly in one language (`nlu_components/language.py`):
  short or ambiguous messages ("ok", "PPO?", "97124", "hola") add nothing.

Every message also gets `language_detection` in its parse data (the likelier
language, lingua's confidence, the words judged, whether it was clear, the
language requested), for the agent preview and the review report.
Commands ("/greet", buttons) never reach NLU components; the member channels
put the requested language into the command's entities instead
(channels/member_input.py, `command_with_language`).
"""

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    METADATA,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.language import detect_language, requested_language

# The entity and slot that hold the conversation's language (domain.yml).
LANGUAGE_ENTITY = "language"
# Parse-data key with what the detector saw in one message.
DETECTION_KEY = "language_detection"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent):
    """Adds the entity `language` ("en" or "es") to messages that set the conversation's language."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LanguageDetector":
        """Creates the component; it has nothing to train or persist. lingua's models
        load here (about 2 s), when the server loads the model, not on a member's first message."""
        detect_language("hola")
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data is left as it is: the language is not learned."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Add the `language` entity where the message sets the language; note the detection."""
        for message in messages:
            text = str(message.get(TEXT) or "")
            requested = requested_language(message.get(METADATA))
            detection = detect_language(text)
            message.set(
                DETECTION_KEY,
                {
                    "language": detection.language,
                    "confidence": round(detection.confidence, 3),
                    "words": detection.words,
                    "clear": detection.clear,
                    "requested": requested,
                },
                add_to_output=True,
            )
            language = requested or (detection.language if detection.clear else None)
            if language is None:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: language,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                ENTITY_ATTRIBUTE_CONFIDENCE: 1.0 if requested else round(detection.confidence, 3),
                EXTRACTOR: self.__class__.__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
