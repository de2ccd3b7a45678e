"""Where the time of a member turn goes: per-stage times and cProfile's top items.

Loads the trained model in this process the way the Rasa server does (the
project's fixes, endpoints.yml with an SQLite tracker store of its own), starts
the real action server on a free port, and sends the bench's member messages
through the member channel's handler (`MemberMessageHandler`, the rules every
member channel applies). Each turn is timed per stage: every node of Rasa's
inference graph (the NLU components and the policies, by component name), the
custom action call, the tracker store, and the whole turn.

Output: a Markdown table of per-stage milliseconds per turn (mean over the
measured turns) and cProfile's top functions by own time and by cumulative
time. `make bench` prints the stage table (tools/bench.py runs this module
with `--stages-only`); run it alone with
`python -m tools.profile_turn [--turns N] [--top N]`.

A profile, not a test: nothing here asserts a time.
"""

import argparse
import asyncio
import cProfile
import io
import logging
import os
import pstats
import tempfile
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from launch.paths import MODEL_PATH, PROJECT_DIR
from launch.servers import action_server, embedded_stores, free_port, quiet_env, start_all

WARM_UP_TURNS = 20
SPACY_PIPELINE_STAGE = "spaCy pipeline runs (Language.__call__, inside the NLU stages)"
# Stages outside the inference graph, by the function that does the work (the
# tracker store's: endpoints.yml's store, which overrides both).
OUTSIDE_GRAPH = {
    "custom action call (action server)": ("rasa.core.actions.action", "RemoteAction", "run"),
    "tracker store: retrieve": ("rasa_server.tracker_store", "RecentHistorySQLTrackerStore", "retrieve"),
    "tracker store: save": ("rasa_server.tracker_store", "RecentHistorySQLTrackerStore", "save"),
}


class StageClock:
    """Milliseconds spent per stage, summed over the turns measured."""

    def __init__(self) -> None:
        self.ms: Dict[str, float] = defaultdict(float)
        self.calls: Dict[str, int] = defaultdict(int)
        self.turns = 0

    def add(self, stage: str, seconds: float) -> None:
        self.ms[stage] += seconds * 1000
        self.calls[stage] += 1

    def per_turn(self) -> List[Tuple[str, float, float]]:
        """(stage, mean ms per turn, mean calls per turn), slowest first."""
        turns = max(self.turns, 1)
        rows = [(stage, total / turns, self.calls[stage] / turns) for stage, total in self.ms.items()]
        return sorted(rows, key=lambda row: -row[1])


def _stage_name(node: Any) -> str:
    """A graph node's stage: its component and what it does ("SpacyNLP.process")."""
    return f"{node._component_class.__name__}.{node._fn_name}"


@contextmanager
def timed_stages(clock: StageClock) -> Iterator[None]:
    """Time every inference graph node and the stages of OUTSIDE_GRAPH into `clock`."""
    import importlib

    from rasa.engine.graph import GraphNode
    from spacy.language import Language

    patched: List[Tuple[Any, str, Callable[..., Any]]] = []
    original_call = GraphNode.__call__

    def timed_call(node: GraphNode, *inputs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_call(node, *inputs)
        finally:
            clock.add(_stage_name(node), time.perf_counter() - started)

    GraphNode.__call__ = timed_call
    patched.append((GraphNode, "__call__", original_call))
    # Every run of a spaCy pipeline, whichever component asks for it.
    original_nlp_call = Language.__call__

    def timed_nlp_call(nlp: Language, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_nlp_call(nlp, *args, **kwargs)
        finally:
            clock.add(SPACY_PIPELINE_STAGE, time.perf_counter() - started)

    Language.__call__ = timed_nlp_call  # type: ignore[method-assign,assignment]
    patched.append((Language, "__call__", original_nlp_call))
    for stage, (module_name, class_name, method) in OUTSIDE_GRAPH.items():
        owner = getattr(importlib.import_module(module_name), class_name)
        original = getattr(owner, method)

        def timed(*args: Any, _original: Any = original, _stage: str = stage, **kwargs: Any) -> Any:
            async def run() -> Any:
                started = time.perf_counter()
                try:
                    return await _original(*args, **kwargs)
                finally:
                    clock.add(_stage, time.perf_counter() - started)

            return run()

        setattr(owner, method, timed)
        patched.append((owner, method, original))
    try:
        yield
    finally:
        for owner, method, original in reversed(patched):
            setattr(owner, method, original)


def member_conversations(turns: int, skip: int = 0) -> List[List[str]]:
    """Conversations of the bench's message mix, from the `skip`-th on, `turns` messages in all."""
    from tools.bench import conversations

    mix = conversations()
    chosen: List[List[str]] = []
    index = skip
    while sum(len(conversation) for conversation in chosen) < turns:
        chosen.append(mix[index % len(mix)])
        index += 1
    return chosen


async def _turns(handler: Any, conversations: List[List[str]], clock: Optional[StageClock]) -> None:
    """Each conversation under a fresh sender id, as members' conversations come."""
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    for conversation in conversations:
        sender = f"profile-{uuid.uuid4().hex}"
        for text in conversation:
            started = time.perf_counter()
            await handler.handle(UserMessage(text, CollectingOutputChannel(), sender, input_channel="rest"))
            if clock is not None:
                clock.add("whole turn (member channel handler)", time.perf_counter() - started)
                clock.turns += 1


def profile(turns: int, model_path: Path = MODEL_PATH) -> Tuple[StageClock, pstats.Stats]:
    """Run `turns` member turns after a warm-up; return the stage clock and cProfile's stats."""
    run_dir = Path(tempfile.mkdtemp(prefix="hcsc-profile-"))
    action_port = free_port()
    env = quiet_env(
        ACTION_ENDPOINT_URL=f"http://127.0.0.1:{action_port}/webhook", **embedded_stores(run_dir / "t.db")
    )
    actions = action_server(action_port, env, output=(run_dir / "actions.log").open("wb"))
    start_all([actions])
    saved_env = dict(os.environ)
    os.environ.update(env)
    try:
        from rasa.core.agent import load_agent
        from rasa.core.utils import AvailableEndpoints
        from rasa.utils.common import configure_logging_and_warnings
        from rasa.utils.log_utils import configure_structlog

        from channels.member_channel import MemberMessageHandler
        from rasa_server.fixes import apply_fixes
        from rasa_server.keep_alive import close_kept_alive_sessions

        apply_fixes()
        # The server's log level (`rasa run` logs at INFO): debug logging would dominate the profile.
        configure_logging_and_warnings(logging.INFO)
        configure_structlog(logging.INFO)

        async def run() -> Tuple[StageClock, pstats.Stats]:
            endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_DIR / "endpoints.yml"))
            agent = await load_agent(model_path=str(model_path), endpoints=endpoints)

            async def on_new_message(message: Any) -> None:
                await agent.handle_message(message)

            handler = MemberMessageHandler(on_new_message)
            handler.app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))  # type: ignore[assignment]
            warm_up = member_conversations(WARM_UP_TURNS)
            await _turns(handler, warm_up, None)
            measured = member_conversations(turns, skip=len(warm_up))
            # Two passes over the same turns: the stage times without cProfile,
            # whose overhead grows with the number of Python calls, then cProfile.
            clock = StageClock()
            with timed_stages(clock):
                await _turns(handler, measured, clock)
            profiler = cProfile.Profile()
            profiler.enable()
            await _turns(handler, measured, None)
            profiler.disable()
            await close_kept_alive_sessions()
            return clock, pstats.Stats(profiler)

        return asyncio.run(run())
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        actions.stop()


def stage_table(clock: StageClock) -> str:
    """Markdown: mean ms per turn for each stage."""
    lines = [
        f"Per-stage time of one member turn (mean of {clock.turns} turns, in-process):",
        "",
        "| stage | ms per turn | calls per turn |",
        "|---|---:|---:|",
    ]
    lines += [f"| {stage} | {ms:.2f} | {calls:.2f} |" for stage, ms, calls in clock.per_turn()]
    return "\n".join(lines) + "\n"


def top_functions(stats: pstats.Stats, sort: str, top: int) -> str:
    """cProfile's `top` functions sorted by `sort` ("tottime" or "cumulative")."""
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(sort).print_stats(top)
    text = out.getvalue()
    return text[text.find("   ncalls") :] if "   ncalls" in text else text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100, help="member turns to measure after the warm-up")
    parser.add_argument("--top", type=int, default=25, help="functions to list from cProfile")
    parser.add_argument("--stages-only", action="store_true", help="print the stage table only")
    args = parser.parse_args(argv)
    clock, stats = profile(args.turns)
    print(stage_table(clock))
    if args.stages_only:
        return 0
    print("cProfile, by own time:\n" + top_functions(stats, "tottime", args.top))
    print("cProfile, by cumulative time:\n" + top_functions(stats, "cumulative", args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
