"""Rasa's inference graph run in a fixed order, without dask's scheduler on every message.

Rasa runs the trained model's graph with `DaskGraphRunner` three times in a
member turn (NLU once, the policies twice). Each run works out the nodes the
targets need, builds a dask graph of them and hands it to dask's synchronous
scheduler, which orders and runs it: measured here, one process alternating
the two runners turn by turn, the graph runs of a turn took 18.6 ms with
dask and 15.7 ms in a fixed order (the nodes' own work is the same).

`SequentialGraphRunner` works out, once per set of targets, the nodes they
need (Rasa's `minimal_graph_schema`) and an order in which each node comes
after the nodes it needs; each run then calls the nodes in that order with
the inputs dask would pass: for each name in the node's `needs`, the
`(name, output)` pair the needed node returned, the `(name, value)` pair of a
run input (an input named after a node takes the node's place), or, for a
name that is neither, the name itself. Same nodes, same
inputs, same results (tests/rasa_server/test_graph_runner.py compares every
held-out message's parse and the policies' predictions with dask's); the
errors are Rasa's (a node's exception as raised, a RuntimeError as
GraphRunError, an input named after a node refused). Installed for
answering (`rasa_server/fixes.py`); training keeps dask.
"""

import logging
from graphlib import TopologicalSorter
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

logger = logging.getLogger(__name__)

# A node's name and the names its inputs come from, in the order it takes them.
Step = Tuple[Text, Tuple[Text, ...]]


class SequentialGraphRunner(DaskGraphRunner):
    """`DaskGraphRunner` (same constructor, nodes and results) running each graph in a fixed order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._steps_by_targets: Dict[Tuple[Text, ...], List[Step]] = {}

    def run(
        self,
        inputs: Optional[Dict[Text, Any]] = None,
        targets: Optional[List[Text]] = None,
    ) -> Dict[Text, Any]:
        """Run the nodes `targets` need (default: the graph's targets).

        Returns:
            Each target's output, by target name.

        Raises:
            GraphRunError: an input's value is the name of a node, or a node raised RuntimeError.
            GraphComponentException: a node failed (as with Rasa's runner).
        """
        run_targets = targets if targets else self._graph_schema.target_names
        steps = self._steps(tuple(run_targets))
        outputs: Dict[Text, Any] = {}
        inputs_given = set(inputs or ())
        node_names = {name for name, _ in steps}
        for input_name, input_value in (inputs or {}).items():
            if isinstance(input_value, str) and (input_value in node_names or input_value in outputs):
                raise GraphRunError(
                    f"Input value '{input_value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema."
                )
            outputs[input_name] = (input_name, input_value)
        logger.debug(
            "Running graph with inputs: %s, targets: %s and %s.", inputs, targets, self._execution_context
        )
        try:
            for node_name, needs in steps:
                # An input named after a node takes its place, as in Rasa's dask graph.
                if node_name not in inputs_given:
                    outputs[node_name] = self._instantiated_nodes[node_name](
                        *[outputs.get(n, n) for n in needs]
                    )
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(outputs[target] for target in run_targets)

    def _steps(self, targets: Tuple[Text, ...]) -> List[Step]:
        """The nodes `targets` need, each after the nodes it needs (worked out once per targets)."""
        steps = self._steps_by_targets.get(targets)
        if steps is None:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            needs = {name: tuple(node.needs.values()) for name, node in nodes.items()}
            # Names that are not nodes (run inputs) need nothing before them.
            order = TopologicalSorter({name: [n for n in deps if n in needs] for name, deps in needs.items()})
            steps = self._steps_by_targets[targets] = [(name, needs[name]) for name in order.static_order()]
        return steps
