"""Rasa's SpacyNLP, with the spaCy pipeline run once per message.

Rasa's `SpacyNLP` runs the whole pipeline (entity ruler, unlisted insurers,
negex) on the lower-cased text, for `SpacyTokenizer`; nobody uses the
entities of that Doc, because the ruler needs the text as the member typed it
("OK" is Oklahoma, "ok" is not). The entity extractor then had to run the
pipeline again on the typed text. `OnePassSpacyNLP` makes, once per message:

- `SPACY_DOCS[TEXT]` ("text_spacy_doc"), what `SpacyTokenizer` reads: the
  tokens of the text as SpacyNLP prepares it (lower-cased unless
  `case_sensitive`), from spaCy's tokenizer alone. These are exactly
  the tokens SpacyNLP gave the tokenizer (the pipeline's components set
  entities, norms and sentence starts, never tokens), so the features and the
  trained classifier are unchanged;
- `SPACY_ENTITY_DOC` ("text_spacy_entity_doc"): the whole pipeline, once, on
  the text as typed, which `RulerEntityExtractor`
  (nlu_components/entity_value_normalizer.py) reads.

In training only the tokens are made: no component learns from the spaCy
entities.

The pipeline is loaded once per process while its files stay the same:
Rasa's graph makes this component twice, for the node that provides the
spaCy model and for the node that processes messages (which is handed the
provided model and never uses its own), and each loaded the pipeline from
disk, about 1.1 s each on this 2-core machine, in training and at every
server start. A pipeline reinstalled since (new entity patterns) is loaded
afresh, as before, by the next model load.
"""

import functools
from pathlib import Path
from typing import List, Optional, Text, Tuple

import spacy.util
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, SPACY_DOCS
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.tokens import Doc

# The message key of the Doc the whole pipeline made from the text as typed.
SPACY_ENTITY_DOC = "text_spacy_entity_doc"


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="OnePassSpacyNLP",
)
class OnePassSpacyNLP(SpacyNLP):
    """SpacyNLP, loading the pipeline once per process and running it once per message (module docstring)."""

    @staticmethod
    def load_model(spacy_model_name: Text) -> SpacyModel:
        """SpacyNLP.load_model's SpacyModel, the same one for every call with this name in a process.

        Raises Rasa's InvalidModelError for a missing or incompatible pipeline
        (not remembered: a later call tries again).
        """
        return _load_model_once(spacy_model_name, pipeline_files_stamp(spacy_model_name))

    def _doc_for_text(self, model: Language, text: Text) -> Doc:
        """The tokens of the prepared text: spaCy's tokenizer only."""
        return model.make_doc(self._preprocess_text(text))

    @staticmethod
    def _process_content_bearing_samples(
        model: Language, samples_to_pipe: List[Tuple[int, Text]]
    ) -> List[Tuple[int, Doc]]:
        """Training examples: their tokens only, like `_doc_for_text`."""
        return [(index, model.make_doc(text)) for index, text in samples_to_pipe]

    def process(self, messages: List[Message], model: SpacyModel) -> List[Message]:
        """Set the tokens Doc of each text attribute and the entity Doc of the text."""
        for message in messages:
            for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
                if message.get(attribute):
                    message.set(
                        SPACY_DOCS[attribute], self._doc_for_text(model.model, message.get(attribute))
                    )
            text = message.get(TEXT)
            if text:
                message.set(SPACY_ENTITY_DOC, model.model(text))
        return messages


def pipeline_files_stamp(spacy_model_name: Text) -> Tuple[int, int]:
    """(newest modification time in ns, number of files) of the pipeline's files on disk.

    The pipeline is an installed package's directory or a path; (0, 0) when
    neither exists (SpacyNLP.load_model then reports the missing pipeline).
    """
    if not spacy_model_name:
        return 0, 0
    try:
        path = spacy.util.get_package_path(spacy_model_name)
    except (ImportError, ValueError):  # not an installed package
        path = Path(spacy_model_name)
    if not path.is_dir():
        return 0, 0
    times = [entry.stat().st_mtime_ns for entry in path.rglob("*") if entry.is_file()]
    return max(times, default=0), len(times)


@functools.lru_cache(maxsize=4)
def _load_model_once(spacy_model_name: Text, files_stamp: Tuple[int, int]) -> SpacyModel:
    # Sharing is safe: processing a text never changes the pipeline, and
    # both graph nodes already run the same (provided) model. files_stamp
    # is in the key so that changed files mean a fresh load.
    return SpacyNLP.load_model(spacy_model_name)


def entity_doc(message: Message) -> Optional[Doc]:
    """The Doc `OnePassSpacyNLP` made from the message's text as typed; None without text."""
    doc = message.get(SPACY_ENTITY_DOC)
    return doc if isinstance(doc, Doc) else None
