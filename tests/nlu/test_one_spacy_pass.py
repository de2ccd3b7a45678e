"""spaCy's pipeline runs once per message (issue 16), and the classifier sees the same tokens.

The trained model's parse is counted on the real spaCy `Language` (its
`__call__` and `pipe` wrapped, every call passed on); the tokens are compared
with Rasa's own SpacyNLP on every message the project has.
"""

import asyncio
from pathlib import Path
from typing import Any, Iterator, List, Set

import pytest
import yaml
from rasa.core.agent import Agent
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.model import InvalidModelError
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.language import Language

from launch.paths import PROJECT_DIR
from nlu_components.language_detector import LANGUAGE_ENTITY
from nlu_components.one_pass_spacy import OnePassSpacyNLP, _load_model_once, entity_doc, pipeline_files_stamp

CONFIG = {"model": "en_hcsc_entities"}


def project_texts() -> List[str]:
    """Every member message in the training data, the held-out sets and the test stories."""
    texts: Set[str] = set()
    for path in [
        *sorted((PROJECT_DIR / "data" / "nlu").glob("*.yml")),
        PROJECT_DIR / "tests" / "nlu_test.yml",
    ]:
        texts.update(str(m.get(TEXT)) for m in load_data(str(path)).training_examples if m.get(TEXT))

    def said(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("say", "user") and isinstance(value, str):
                    yield value.strip()
                else:
                    yield from said(value)
        elif isinstance(node, list):
            for value in node:
                yield from said(value)

    for path in [
        *sorted((PROJECT_DIR / "tests" / "heldout").glob("*.yml")),
        PROJECT_DIR / "tests" / "test_stories.yml",
    ]:
        texts.update(said(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return sorted(texts)


def tokens(message: Message) -> List[Any]:
    """What SpacyTokenizer reads from the message's Doc."""
    return [(t.text, t.idx, t.lemma_, t.tag_) for t in message.get(SPACY_DOCS[TEXT])]


@pytest.fixture(scope="module")
def texts() -> List[str]:
    found = project_texts()
    # Includes the messages whose tokens differ with case ("H.M.O." vs "h.m.o."),
    # which is why the tokens come from the lower-cased text.
    assert len(found) > 1000 and "H.M.O." in found
    return found


def test_tokens_at_inference_are_rasa_spacynlp_s(texts: List[str]) -> None:
    rasa_nlp = SpacyNLP.create(CONFIG, None, None, None)  # type: ignore[arg-type]
    one_pass = OnePassSpacyNLP.create(CONFIG, None, None, None)  # type: ignore[arg-type]
    model = one_pass.provide()
    expected = rasa_nlp.process([Message(data={TEXT: t}) for t in texts], rasa_nlp.provide())
    got = one_pass.process([Message(data={TEXT: t}) for t in texts], model)
    assert [tokens(m) for m in got] == [tokens(m) for m in expected]
    # The entity Doc is the whole pipeline on the text as typed.
    for message in got[:200]:
        doc = entity_doc(message)
        assert doc is not None and doc.text == message.get(TEXT)
        again = model.model(message.get(TEXT))
        assert [(e.start_char, e.end_char, e.label_, e.ent_id_) for e in doc.ents] == [
            (e.start_char, e.end_char, e.label_, e.ent_id_) for e in again.ents
        ]


def test_tokens_in_training_are_rasa_spacynlp_s(texts: List[str]) -> None:
    rasa_nlp = SpacyNLP.create(CONFIG, None, None, None)  # type: ignore[arg-type]
    one_pass = OnePassSpacyNLP.create(CONFIG, None, None, None)  # type: ignore[arg-type]
    expected = rasa_nlp.process_training_data(
        TrainingData([Message(data={TEXT: t}) for t in texts]), rasa_nlp.provide()
    )
    got = one_pass.process_training_data(
        TrainingData([Message(data={TEXT: t}) for t in texts]), one_pass.provide()
    )
    assert [tokens(m) for m in got.training_examples] == [tokens(m) for m in expected.training_examples]


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    """The trained model, loaded in this process."""
    return Agent.load(str(trained_model))


@pytest.fixture
def pipeline_runs(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The text of every spaCy pipeline run from now on, by any component."""
    runs: List[str] = []
    call, pipe = Language.__call__, Language.pipe

    def counted_call(nlp: Language, text: Any, **kwargs: Any) -> Any:
        runs.append(text if isinstance(text, str) else text.text)
        return call(nlp, text, **kwargs)

    def counted_pipe(nlp: Language, many: Any, **kwargs: Any) -> Any:
        many = list(many)
        runs.extend(t if isinstance(t, str) else t.text for t in many)
        return pipe(nlp, many, **kwargs)

    monkeypatch.setattr(Language, "__call__", counted_call)
    monkeypatch.setattr(Language, "pipe", counted_pipe)
    return runs


@pytest.mark.slow
@pytest.mark.parametrize(
    "text, entities",
    [
        (
            "does my OK ppo cover massage, not at a spa",
            [("state", "OK", False), ("plan_type", "ppo", False), ("care_setting", "spa", True)],
        ),
        ("is massage therapy covered?", []),
    ],
)
def test_a_parse_runs_the_pipeline_once_on_the_text_as_typed(
    agent: Agent, pipeline_runs: List[str], text: str, entities: List[Any]
) -> None:
    parsed = asyncio.run(agent.parse_message(text))
    assert pipeline_runs == [text]
    # The conversation's `language` comes from LanguageDetector, not from spaCy.
    found = [e for e in parsed["entities"] if e["entity"] != LANGUAGE_ENTITY]
    assert [(e["entity"], e["value"], bool(e.get("negated"))) for e in found] == entities


def test_the_pipeline_is_loaded_from_disk_once_for_both_graph_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rasa makes the component for the node that provides the model and for
    # the node that processes messages; both get the same loaded pipeline.
    loads: List[str] = []
    rasa_load_model = SpacyNLP.load_model

    def counted_load_model(name: str) -> Any:
        loads.append(name)
        return rasa_load_model(name)

    monkeypatch.setattr(SpacyNLP, "load_model", staticmethod(counted_load_model))
    _load_model_once.cache_clear()
    provider = OnePassSpacyNLP.create(CONFIG, None, None, None)  # type: ignore[arg-type]
    runner = OnePassSpacyNLP.load(CONFIG, None, None, None)  # type: ignore[arg-type]
    assert provider.provide() is runner.provide()
    assert provider.provide().model is runner.provide().model
    assert loads == ["en_hcsc_entities"]
    assert SpacyNLP.create(CONFIG, None, None, None).provide().model is not provider.provide().model  # type: ignore[arg-type]
    assert loads == ["en_hcsc_entities", "en_hcsc_entities"]  # Rasa's own SpacyNLP is unchanged


def test_a_missing_pipeline_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(InvalidModelError, match="no_such_spacy_pipeline"):
            OnePassSpacyNLP.create({"model": "no_such_spacy_pipeline"}, None, None, None)  # type: ignore[arg-type]


def test_a_pipeline_whose_files_changed_is_loaded_afresh(tmp_path: Path) -> None:
    # A reinstalled pipeline (new entity patterns) must reach the next model
    # load in a running server, as it did before the pipeline was shared.
    import os

    import spacy

    pipeline_dir = tmp_path / "pipeline"
    spacy.blank("en").to_disk(pipeline_dir)
    config = {"model": str(pipeline_dir)}
    first = OnePassSpacyNLP.create(config, None, None, None).provide()  # type: ignore[arg-type]
    assert OnePassSpacyNLP.create(config, None, None, None).provide() is first  # type: ignore[arg-type]
    stamp = pipeline_files_stamp(str(pipeline_dir))
    meta = pipeline_dir / "meta.json"
    os.utime(meta, ns=(stamp[0] + 10**9, stamp[0] + 10**9))
    assert pipeline_files_stamp(str(pipeline_dir)) == (stamp[0] + 10**9, stamp[1])
    again = OnePassSpacyNLP.create(config, None, None, None).provide()  # type: ignore[arg-type]
    assert again is not first and again.model is not first.model
    assert pipeline_files_stamp("no_such_spacy_pipeline") == pipeline_files_stamp("") == (0, 0)
