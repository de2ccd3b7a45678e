"""`make catalogue`: every answer the assistant gives, for content and compliance review.

Writes catalogue/answers.html (one self-contained page: inline CSS, no
external files) and catalogue/answers.csv: every topic for every plan type
(and "not given"), split by state and by the qualifiers (care setting, purpose,
stage) only where the rules answer differently. Each row holds the
member-facing messages, the outcome, the qualifier rule that decided it (a
spa, relaxation or maintenance massage is not covered whatever was asked),
the rule ids and the policy references.

The rows come from the rules engine the action uses (plan_coverage/engine.py)
and the messages from `plan_coverage.replies`, which the action sends, so they are what
members get for that topic and plan context.
"""

import argparse
import csv
import hashlib
import html
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import product
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from launch.paths import PROJECT_DIR
from plan_coverage.engine import CoverageAnswer, CoverageRules, PlanContext, load_rules
from plan_coverage.replies import answer_messages

OUT_DIR = PROJECT_DIR / "catalogue"
NOT_GIVEN = "not given"
ANY = "any"
CSV_COLUMNS = [
    "topic",
    "question",
    "plan_type",
    "states",
    "care_settings",
    "purposes",
    "stages",
    "outcome",
    "decided_by",
    "outcome_meaning",
    "answered_as",
    "answer",
    "rule_ids",
    "references",
]
# Dimensions that split a topic's rows only where the rules answer differently.
SPLIT_KEYS = ("state", "setting", "purpose", "stage")


@dataclass(frozen=True)
class CatalogueRow:
    """One answer: a topic, a plan type, the states and qualifiers it holds for."""

    topic: str
    plan_type: Optional[str]
    states: Tuple[Optional[str], ...]
    settings: Tuple[Optional[str], ...]
    purposes: Tuple[Optional[str], ...]
    stages: Tuple[Optional[str], ...]
    answer: CoverageAnswer
    messages: Tuple[Dict[str, Any], ...]


def answer_key(answer: CoverageAnswer) -> Tuple[Any, ...]:
    """What makes two answers the same for a member."""
    return (
        answer.topic,
        answer.outcome,
        answer.text,
        answer.closing,
        answer.rule_ids,
        answer.citations,
        answer.ask_plan_type,
    )


def value_classes(
    rules: CoverageRules, topic: str, plan_type: Optional[str], key: str
) -> List[Tuple[Optional[str], ...]]:
    """The values of `key` grouped by identical answers whatever the other split keys are."""
    others = [k for k in SPLIT_KEYS if k != key]
    other_values = list(product(*((None, *rules.context_values[k]) for k in others)))
    groups: Dict[Tuple[Any, ...], List[Optional[str]]] = {}
    for value in (None, *rules.context_values[key]):
        signature = tuple(
            answer_key(
                rules.answer(
                    topic,
                    PlanContext(plan_type=plan_type, **{key: value, **dict(zip(others, o, strict=True))}),
                )
            )
            for o in other_values
        )
        groups.setdefault(signature, []).append(value)
    return [tuple(values) for values in groups.values()]


def member_messages(rules: CoverageRules, answer: CoverageAnswer) -> Tuple[Dict[str, Any], ...]:
    """The messages the action sends for this answer, in order."""
    return tuple(answer_messages(rules, answer))


def catalogue_rows(rules: CoverageRules) -> Iterator[CatalogueRow]:
    """Every topic x plan type, split by state and qualifiers where answers differ."""
    for topic, plan_type in product(rules.topics, (None, *rules.context_values["plan_type"])):
        classes = [value_classes(rules, topic, plan_type, key) for key in SPLIT_KEYS]
        for states, settings, purposes, stages in product(*classes):
            # Every value in a class answers alike, so the first stands for all.
            context = PlanContext(
                state=states[0],
                plan_type=plan_type,
                setting=settings[0],
                purpose=purposes[0],
                stage=stages[0],
            )
            answer = rules.answer(topic, context)
            yield CatalogueRow(
                topic, plan_type, states, settings, purposes, stages, answer, member_messages(rules, answer)
            )


def values_label(values: Sequence[Optional[str]], all_values: Sequence[str]) -> str:
    """ "any" when a row holds for every value, else the values ("not given" for None)."""
    if len(values) == len(all_values) + 1:
        return ANY
    return "; ".join(NOT_GIVEN if value is None else value for value in values)


def answer_text(messages: Sequence[Dict[str, Any]]) -> str:
    """The member-facing messages as plain text (buttons on their own line)."""
    parts = []
    for message in messages:
        if message.get("text"):
            parts.append(message["text"])
        if message.get("buttons"):
            parts.append("Buttons: " + " | ".join(b["title"] for b in message["buttons"]))
    return "\n\n".join(parts)


def csv_record(rules: CoverageRules, row: CatalogueRow) -> Dict[str, str]:
    """One CSV record of a row."""
    return {
        "topic": row.topic,
        "question": rules.topics[row.topic],
        "plan_type": row.plan_type or NOT_GIVEN,
        "states": values_label(row.states, list(rules.context_values["state"])),
        "care_settings": values_label(row.settings, list(rules.context_values["setting"])),
        "purposes": values_label(row.purposes, list(rules.context_values["purpose"])),
        "stages": values_label(row.stages, list(rules.context_values["stage"])),
        "outcome": row.answer.outcome,
        "decided_by": row.answer.decided_by or "",
        "outcome_meaning": rules.outcomes[row.answer.outcome],
        "answered_as": row.answer.topic,
        "answer": answer_text(row.messages),
        "rule_ids": "; ".join(row.answer.rule_ids),
        "references": "; ".join(row.answer.citations),
    }


def write_csv(path: Path, rules: CoverageRules, rows: Sequence[CatalogueRow]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(csv_record(rules, row))


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       margin: 0 auto; max-width: 90rem; padding: 0 1.25rem 3rem; line-height: 1.45; }
h1 { margin: 1.25rem 0 0.25rem; }
h2 { margin: 2.5rem 0 0.25rem; border-bottom: 2px solid #0b5cad; padding-bottom: 0.2rem; }
.meta, .topic-question { color: #4d5560; margin: 0.25rem 0 0.75rem; }
nav ol { columns: 2; column-gap: 3.5rem; padding-left: 2rem; }
nav li { break-inside: avoid; margin-bottom: 0.2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { border: 1px solid #c9d1da; padding: 0.45rem 0.55rem; vertical-align: top; text-align: left; }
thead th { background: #eef3f9; position: sticky; top: 0; }
td.answer p { margin: 0 0 0.45rem; }
td.answer p.closing { color: #4d5560; }
.chip { display: inline-block; border: 1px solid #0b5cad; color: #0b5cad; border-radius: 999px;
        padding: 0 0.55rem; margin: 0.1rem 0.2rem 0.1rem 0; font-size: 0.85rem; }
code { font-family: ui-monospace, Menlo, monospace; font-size: 0.88rem; }
h2 code { font-size: 1em; }
table.answers { table-layout: fixed; }
td code { overflow-wrap: anywhere; font-size: 0.8rem; }
.outcome { font-weight: 600; overflow-wrap: anywhere; }
.outcome-not_covered, .outcome-not_applicable { color: #8a2c00; }
.outcome-conditional, .outcome-often_required, .outcome-required { color: #6b4e00; }
.outcome-not_required { color: #1f6b2a; }
td ul { margin: 0; padding-left: 1rem; }
.legend td:first-child { white-space: nowrap; }
@media print { thead th { position: static; } h2 { break-before: auto; } tr { break-inside: avoid; } }
"""


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def describe_values(values: Sequence[Optional[str]], labels: Mapping[str, str]) -> str:
    """Values in words for the page: "Any", or "Texas", "not given, Illinois"."""
    if len(values) == len(labels) + 1:
        return "Any"
    return ", ".join(NOT_GIVEN if value is None else labels[value] for value in values)


def answer_cell(row: CatalogueRow) -> str:
    """The member-facing messages as the member reads them; the data payload is left out."""
    parts = []
    texts = [m for m in row.messages if m.get("text")]
    for message in texts:
        css = ' class="closing"' if message is texts[-1] else ""
        chips = "".join(f'<span class="chip">{esc(b["title"])}</span>' for b in message.get("buttons") or [])
        parts.append(f"<p{css}>{esc(message['text'])}{'<br>' + chips if chips else ''}</p>")
    return "".join(parts)


def list_cell(items: Sequence[str], code: bool = False) -> str:
    if not items:
        return "none"
    wrap = (lambda s: f"<code>{esc(s)}</code>") if code else esc
    return "<ul>" + "".join(f"<li>{wrap(item)}</li>" for item in items) + "</ul>"


def topic_section(rules: CoverageRules, topic: str, rows: Sequence[CatalogueRow]) -> str:
    plan_labels = rules.context_values["plan_type"]
    body = []
    for row in rows:
        redirected = (
            f'<br><span class="meta">answered as <code>{esc(row.answer.topic)}</code></span>'
            if row.answer.topic != topic
            else ""
        )
        decided = (
            f'<br><span class="meta">decided by <code>{esc(row.answer.decided_by)}</code></span>'
            if row.answer.decided_by
            else ""
        )
        body.append(
            "<tr>"
            f"<td>{esc(plan_labels.get(row.plan_type or '', NOT_GIVEN))}</td>"
            f"<td>{esc(describe_values(row.states, rules.context_values['state']))}</td>"
            f"<td>{esc(describe_values(row.settings, rules.context_values['setting']))}</td>"
            f"<td>{esc(describe_values(row.purposes, rules.context_values['purpose']))}</td>"
            f"<td>{esc(describe_values(row.stages, rules.context_values['stage']))}</td>"
            f'<td><span class="outcome outcome-{esc(row.answer.outcome)}" '
            f'title="{esc(rules.outcomes[row.answer.outcome])}">{esc(row.answer.outcome)}</span>{redirected}'
            f"{decided}</td>"
            f'<td class="answer">{answer_cell(row)}</td>'
            f"<td>{list_cell(row.answer.rule_ids, code=True)}</td>"
            f"<td>{list_cell(row.answer.citations)}</td>"
            "</tr>"
        )
    extra = (
        '<p class="topic-question">This is also the answer to any question once the member '
        "names another insurer (rule <code>redirect.other_insurer</code>).</p>"
        if topic == "non_hcsc_plan"
        else ""
    )
    return (
        f'<section id="topic-{esc(topic)}"><h2><code>{esc(topic)}</code></h2>'
        f'<p class="topic-question">{esc(rules.topics[topic])}</p>{extra}'
        '<table class="answers"><colgroup><col style="width:6%"><col style="width:8%">'
        '<col style="width:7%"><col style="width:6%"><col style="width:6%"><col style="width:10%">'
        '<col style="width:27%"><col style="width:17%"><col style="width:13%"></colgroup>'
        '<thead><tr><th scope="col">Plan type</th><th scope="col">State</th>'
        '<th scope="col">Care setting</th><th scope="col">Purpose</th><th scope="col">Stage</th>'
        '<th scope="col">Outcome</th>'
        '<th scope="col">What the member receives</th><th scope="col">Rules</th>'
        '<th scope="col">References</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


def render_html(rules: CoverageRules, rows: Sequence[CatalogueRow], generated: str, digest: str) -> str:
    by_topic: Dict[str, List[CatalogueRow]] = {}
    for row in rows:
        by_topic.setdefault(row.topic, []).append(row)
    toc = "".join(
        f'<li><a href="#topic-{esc(t)}"><code>{esc(t)}</code></a>: {esc(rules.topics[t])} '
        f"({len(by_topic[t])} rows)</li>"
        for t in rules.topics
    )
    legend = "".join(
        f'<tr><td><span class="outcome outcome-{esc(name)}">{esc(name)}</span></td>'
        f"<td>{esc(meaning)}</td></tr>"
        for name, meaning in rules.outcomes.items()
    )
    sections = "".join(topic_section(rules, t, by_topic[t]) for t in rules.topics)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Answer catalogue: massage therapy coverage assistant</title>"
        f"<style>{STYLE}</style></head><body>"
        "<header><h1>Answer catalogue: massage therapy coverage</h1>"
        f'<p class="meta">Every answer the member assistant gives, for every topic and plan type, '
        "split by state, care setting, purpose and stage only where the answer differs; "
        "&ldquo;decided by&rdquo; names the qualifier that made it not covered, whatever was asked. "
        f"{len(rows)} answers over "
        f"{len(rules.topics)} topics. Generated {esc(generated)} from "
        f"<code>plan_coverage/rules.yml</code> (sha256 <code>{esc(digest[:12])}</code>) by "
        "<code>make catalogue</code>. Each answer ends with the closing line shown; the chat "
        "also receives the coverage data (topic, outcome, rules, references) with it.</p></header>"
        f'<nav aria-label="Topics"><h2>Topics</h2><ol>{toc}</ol></nav>'
        '<section><h2>Outcomes</h2><table class="legend"><thead><tr><th scope="col">Outcome</th>'
        f'<th scope="col">Meaning</th></tr></thead><tbody>{legend}</tbody></table></section>'
        f"<main>{sections}</main></body></html>\n"
    )


def write_catalogue(out_dir: Path, rules: Optional[CoverageRules] = None) -> Tuple[Path, Path]:
    """Write answers.html and answers.csv into out_dir; return their paths."""
    rules = rules or load_rules()
    rows = list(catalogue_rows(rules))
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(rules.path.read_bytes()).hexdigest()
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    html_path, csv_path = out_dir / "answers.html", out_dir / "answers.csv"
    html_path.write_text(render_html(rules, rows, generated, digest), encoding="utf-8")
    write_csv(csv_path, rules, rows)
    return html_path, csv_path


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    html_path, csv_path = write_catalogue(args.out)
    print(f"Wrote {html_path}\nWrote {csv_path}\nOpen the page in a browser: file://{html_path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
