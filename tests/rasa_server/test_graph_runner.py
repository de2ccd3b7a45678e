"""rasa_server/graph_runner.py: the inference graph run in a fixed order gives what
Rasa's dask runner gives, for the trained model and for graphs made to probe the edges."""

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional, Type

import pytest
import rasa.core.processor
from rasa.core.agent import Agent
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.runner.interface import GraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_server.graph_runner import SequentialGraphRunner
from tools import threshold_curve


def load_agent(trained_model: Path, runner: Type[GraphRunner], monkeypatch: pytest.MonkeyPatch) -> Agent:
    monkeypatch.setattr(rasa.core.processor, "DaskGraphRunner", runner)
    agent = Agent.load(str(trained_model))
    assert type(agent.processor.graph_runner) is runner
    return agent


def test_every_held_out_parse_and_prediction_is_the_same_as_with_dask(
    trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = threshold_curve.held_out_texts()
    assert len(texts) > 100
    agents = [
        load_agent(trained_model, runner, monkeypatch) for runner in (DaskGraphRunner, SequentialGraphRunner)
    ]

    async def answers(agent: Agent) -> List[Any]:
        results = []
        for text in texts:
            parse = await agent.parse_message(text)
            # The policies' graph, on a tracker whose last event is this message.
            message = UserUttered(text, parse["intent"], parse["entities"], parse)
            events = [ActionExecuted(ACTION_LISTEN_NAME), message]
            tracker = DialogueStateTracker.from_events("graph-runner-test", events, slots=agent.domain.slots)
            prediction = agent.processor._predict_next_with_tracker(tracker)
            results.append((parse, prediction.policy_name, prediction.probabilities, prediction.events))
        return results

    with_dask, in_order = (asyncio.run(answers(agent)) for agent in agents)
    assert in_order == with_dask
    assert {answer[1] for answer in in_order} >= {"RulePolicy"}


class Describe(GraphComponent):
    """A node that returns its name and the inputs it got; records the order nodes ran in."""

    ran: List[str] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "Describe":
        return cls(config["name"])

    def run(self, **inputs: Any) -> str:
        Describe.ran.append(self.name)
        if "fail" in inputs:
            raise RuntimeError("the node failed")
        return f"{self.name}({', '.join(f'{key}={inputs[key]}' for key in sorted(inputs))})"


def node(name: str, needs: Optional[Dict[str, str]] = None, is_target: bool = False) -> SchemaNode:
    return SchemaNode(needs or {}, Describe, "create", "run", {"name": name}, eager=True, is_target=is_target)


# A diamond over a run input, a node no target needs, and a second target.
SCHEMA = GraphSchema(
    {
        "source": node("source", {"message": "__message__"}),
        "left": node("left", {"x": "source"}),
        "right": node("right", {"x": "source"}),
        "join": node("join", {"a": "left", "b": "right", "message": "__message__"}, is_target=True),
        "unused": node("unused", {"x": "source"}),
        "alone": node("alone", is_target=True),
    }
)


def runners(tmp_path: Path, schema: GraphSchema = SCHEMA) -> List[GraphRunner]:
    storage = LocalModelStorage(tmp_path)
    return [
        runner.create(schema, storage, ExecutionContext(schema, "model"))
        for runner in (DaskGraphRunner, SequentialGraphRunner)
    ]


def outcome(runner: GraphRunner, **kwargs: Any) -> Any:
    """What a run returns, or the type and message of what it raises."""
    try:
        return runner.run(**kwargs)
    except Exception as error:  # why: the outcome compared may be an error
        return (type(error), str(error), type(error.__cause__))


@pytest.mark.parametrize(
    "run",
    [
        dict(inputs={"__message__": "hi"}, targets=["join"]),
        dict(inputs={"__message__": "hi"}),  # the graph's own targets: join and alone
        dict(inputs={"__message__": "hi"}, targets=["alone", "left"]),
        dict(inputs={"__message__": "hi", "extra": 1}, targets=["right"]),
        dict(targets=["alone"]),
        dict(inputs={"__message__": "hi", "left": "X"}, targets=["join"]),  # an input named after a node
        dict(inputs={"__message__": "left"}, targets=["join"]),  # an input whose value is a node's name
        dict(inputs={"__message__": "__message__"}, targets=["join"]),
    ],
)
def test_runs_give_what_dask_gives(tmp_path: Path, run: Dict[str, Any]) -> None:
    with_dask, in_order = (outcome(runner, **run) for runner in runners(tmp_path))
    assert in_order == with_dask


def test_each_node_runs_after_the_nodes_it_needs_and_only_nodes_the_targets_need(tmp_path: Path) -> None:
    runner = runners(tmp_path)[1]
    Describe.ran = []
    outputs = runner.run(inputs={"__message__": "hi"}, targets=["join"])
    joined = "join(a=left(x=source(message=hi)), b=right(x=source(message=hi)), message=hi)"
    assert outputs == {"join": joined}
    assert Describe.ran[0] == "source" and Describe.ran[-1] == "join"
    assert sorted(Describe.ran) == ["join", "left", "right", "source"]
    # Worked out once per set of targets.
    assert runner._steps_by_targets[("join",)] is runner._steps(("join",))


def test_errors_are_the_dask_runner_s(tmp_path: Path) -> None:
    # A missing run input: the node is given the input's name, and refuses it.
    with_dask, in_order = (outcome(runner, targets=["join"]) for runner in runners(tmp_path))
    assert in_order == with_dask and in_order[0] is GraphRunError
    assert "Missing input to run node 'source'" in in_order[1]
    # A node that fails: GraphComponentException from the node, as raised.
    failing = GraphSchema({"bad": node("bad", {"fail": "__fail__"}, is_target=True)})
    with_dask, in_order = (outcome(runner, inputs={"__fail__": 1}) for runner in runners(tmp_path, failing))
    assert in_order == with_dask and in_order[0] is GraphComponentException
    assert in_order[2] is RuntimeError
