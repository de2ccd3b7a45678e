"""The FallbackClassifier threshold curve (issue 11, as in HINT3): for several
thresholds, in-scope intent accuracy and out-of-scope recall on held-out
messages the model never trained on. `make bench` writes it as a table
(threshold_curve.md) and a chart (threshold_curve.png); config.yml's threshold
is chosen from it.

In-scope: every intent of tests/nlu_test.yml but out_of_scope. Out-of-scope:
its out_of_scope examples and the noise slice of tests/heldout/. A message
counts as out of scope when the best intent is out_of_scope or its confidence
is below the threshold (the FallbackClassifier's nlu_fallback).
"""

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from launch.paths import PROJECT_DIR

HELD_OUT_NLU = PROJECT_DIR / "tests" / "nlu_test.yml"
HELD_OUT_NOISE = PROJECT_DIR / "tests" / "heldout" / "safety.yml"
THRESHOLDS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"

Ranking = List[Tuple[str, float]]


def held_out_messages() -> Tuple[List[Tuple[str, str]], List[str]]:
    """(text, intent) of the in-scope held-out messages, and the out-of-scope texts."""
    in_scope: List[Tuple[str, str]] = []
    out_of_scope: List[str] = []
    for block in yaml.safe_load(HELD_OUT_NLU.read_text(encoding="utf-8"))["nlu"]:
        texts = [line.lstrip("- ").strip() for line in block["examples"].splitlines() if line.strip()]
        if block["intent"] == OUT_OF_SCOPE:
            out_of_scope += texts
        else:
            in_scope += [(text, block["intent"]) for text in texts]
    noise = yaml.safe_load(HELD_OUT_NOISE.read_text(encoding="utf-8"))["slices"]["noise"]
    out_of_scope += [case["say"] for case in noise]
    return in_scope, out_of_scope


def predicted(ranking: Ranking, threshold: float) -> str:
    """The intent the assistant acts on: the best one, or nlu_fallback below the threshold."""
    name, confidence = ranking[0] if ranking else (FALLBACK, 0.0)
    return FALLBACK if confidence < threshold else name


def curve(
    in_scope: Sequence[Tuple[Ranking, str]], out_of_scope: Sequence[Ranking], thresholds: Sequence[float]
) -> List[Dict[str, float]]:
    """In-scope accuracy and out-of-scope recall at each threshold (rankings without nlu_fallback)."""
    rows = []
    for threshold in thresholds:
        right = sum(predicted(r, threshold) == intent for r, intent in in_scope)
        caught = sum(predicted(r, threshold) in (FALLBACK, OUT_OF_SCOPE) for r in out_of_scope)
        rows.append(
            {
                "threshold": threshold,
                "in_scope_accuracy": round(right / max(len(in_scope), 1), 4),
                "out_of_scope_recall": round(caught / max(len(out_of_scope), 1), 4),
            }
        )
    return rows


def held_out_texts() -> List[str]:
    """Every held-out text, in-scope first, then out-of-scope."""
    in_scope, out_of_scope = held_out_messages()
    return [text for text, _ in in_scope] + out_of_scope


def rankings(model_path: Path, texts: Sequence[str]) -> List[Ranking]:
    """The trained model's intent ranking of each text, without nlu_fallback."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa logs every parsed message at debug level; `make bench` printed each one.
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model_path))

    async def parse_all() -> List[Ranking]:
        parsed = [await agent.parse_message(text) for text in texts]
        return [
            [
                (i["name"], float(i["confidence"]))
                for i in p.get("intent_ranking", [])
                if i["name"] != FALLBACK
            ]
            for p in parsed
        ]

    return asyncio.run(parse_all())


def markdown(rows: Sequence[Dict[str, float]], chosen: Optional[float]) -> str:
    lines = [
        "FallbackClassifier threshold on held-out messages (tests/nlu_test.yml, tests/heldout noise).",
        "",
        "| threshold | in-scope accuracy | out-of-scope recall |",
        "|---|---|---|",
    ]
    for row in rows:
        mark = " (config.yml)" if chosen is not None and abs(row["threshold"] - chosen) < 1e-9 else ""
        lines.append(
            f"| {row['threshold']}{mark} | {row['in_scope_accuracy']} | {row['out_of_scope_recall']} |"
        )
    return "\n".join(lines) + "\n"


def chart(rows: Sequence[Dict[str, float]], path: Path, chosen: Optional[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4))
    thresholds = [row["threshold"] for row in rows]
    axis.plot(thresholds, [row["in_scope_accuracy"] for row in rows], marker="o", label="in-scope accuracy")
    axis.plot(
        thresholds, [row["out_of_scope_recall"] for row in rows], marker="s", label="out-of-scope recall"
    )
    if chosen is not None:
        axis.axvline(chosen, color="grey", linestyle="--", label="config.yml")
    axis.set_xlabel("FallbackClassifier threshold")
    axis.set_ylim(0, 1.02)
    axis.legend()
    axis.set_title("Threshold curve (held-out messages)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def configured_threshold() -> Optional[float]:
    config = yaml.safe_load((PROJECT_DIR / "config.yml").read_text(encoding="utf-8"))
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return None


def write_curve(model_path: Path, out_dir: Path) -> List[Dict[str, float]]:
    """Measure the curve and write threshold_curve.{json,md,png} into out_dir."""
    in_scope, out_of_scope = held_out_messages()
    ranked = rankings(model_path, [text for text, _ in in_scope] + out_of_scope)
    rows = curve(
        list(zip(ranked[: len(in_scope)], (intent for _, intent in in_scope), strict=True)),
        ranked[len(in_scope) :],
        THRESHOLDS,
    )
    chosen = configured_threshold()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "threshold_curve.json").write_text(json.dumps(rows, indent=2))
    (out_dir / "threshold_curve.md").write_text(markdown(rows, chosen))
    chart(rows, out_dir / "threshold_curve.png", chosen)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    from launch.servers import MODEL_PATH

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "results")
    args = parser.parse_args(argv)
    rows = write_curve(MODEL_PATH, args.out)
    print(markdown(rows, configured_threshold()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
