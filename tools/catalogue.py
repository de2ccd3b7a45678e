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

Every row holds its answer in each language the rules are written in
(`plan_coverage.engine.LANGUAGES`), side by side: the page shows the English
and the Spanish answer next to each other (each marked with its `lang`, and a
filter shows one language or both); the CSV keeps `answer` in English and
adds `answer_es`. The rules give the same rule ids and outcomes whatever the
language, so the rows are the same in every language.
"""

import argparse
import base64
import csv
import hashlib
import html
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from itertools import product
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

import yaml

from launch.paths import PROJECT_DIR
from plan_coverage.engine import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    CoverageAnswer,
    CoverageRules,
    PlanContext,
    Rule,
    fill_phrases,
    load_rules,
)
from plan_coverage.replies import answer_messages
from tools.catalogue_diff import (
    ANSWER_KEYS,
    AnswerChange,
    GitError,
    RuleChange,
    RulesAtRef,
    answer_changes,
    git,
    rule_changes,
    rules_at,
    where,
)
from tools.flag_queue import DEFAULT_FLAG_QUEUE, FLAG_COLUMNS, flag_rows, queue_path, read_flags

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
    *(f"answer_{language}" for language in LANGUAGES if language != DEFAULT_LANGUAGE),
    "rule_ids",
    "references",
]
# Dimensions that split a topic's rows only where the rules answer differently.
SPLIT_KEYS = ("state", "setting", "purpose", "stage")
# The languages' names in the page's filter and column labels, each in its own language.
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


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
    # The messages in every language by code, the default language's included
    # (they are `messages`).
    translations: Mapping[str, Tuple[Dict[str, Any], ...]] = field(default_factory=dict)

    def messages_in(self, language: str) -> Tuple[Dict[str, Any], ...]:
        """The member-facing messages in `language` (the default: `messages`)."""
        return self.translations.get(language, self.messages)


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


def answers_key(rules: CoverageRules, topic: str, context: PlanContext) -> Tuple[Any, ...]:
    """What makes two plan contexts answer alike, in every language: a row holds
    only contexts whose English and Spanish answers are both the same."""
    return tuple(answer_key(rules.answer(topic, context, language)) for language in LANGUAGES)


def value_classes(
    rules: CoverageRules, topic: str, plan_type: Optional[str], key: str
) -> List[Tuple[Optional[str], ...]]:
    """The values of `key` grouped by identical answers whatever the other split keys are."""
    others = [k for k in SPLIT_KEYS if k != key]
    other_values = list(product(*((None, *rules.context_values[k]) for k in others)))
    groups: Dict[Tuple[Any, ...], List[Optional[str]]] = {}
    for value in (None, *rules.context_values[key]):
        signature = tuple(
            answers_key(
                rules,
                topic,
                PlanContext(plan_type=plan_type, **{key: value, **dict(zip(others, o, strict=True))}),
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
            translations = {
                language: member_messages(rules.in_language(language), rules.answer(topic, context, language))
                for language in LANGUAGES
            }
            yield CatalogueRow(
                topic,
                plan_type,
                states,
                settings,
                purposes,
                stages,
                answer,
                translations[rules.language],
                translations,
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
        **{
            f"answer_{language}": answer_text(row.messages_in(language))
            for language in LANGUAGES
            if language != DEFAULT_LANGUAGE
        },
        "rule_ids": "; ".join(row.answer.rule_ids),
        "references": "; ".join(row.answer.citations),
    }


def write_csv(path: Path, rules: CoverageRules, rows: Sequence[CatalogueRow]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(csv_record(rules, row))


CHANGES_COLUMNS = ["change", "kind", "id", "field", "before", "after"]
ANSWER_CHANGES_COLUMNS = [
    "topic",
    "plan_types",
    "states",
    "care_settings",
    "purposes",
    "stages",
    "answers",
    "outcome_before",
    "outcome_after",
    "answer_before",
    "answer_after",
    "rule_ids_before",
    "rule_ids_after",
]
# Context keys in the order the page's columns show them, with their words.
KEY_WORDS = {
    "plan_type": "plan type",
    "state": "state",
    "setting": "care setting",
    "purpose": "purpose",
    "stage": "stage",
}
NONE_VALUE = "none"  # a context value not given, in the page's data attributes and filters


@dataclass(frozen=True)
class Version:
    """Which rules the catalogue shows: the commit, the rules file's hash, whether
    the file differs from that commit, and the date its answers take effect."""

    commit: str
    digest: str
    uncommitted: bool
    effective: str
    last_change: str


@dataclass(frozen=True)
class PageRow:
    """Catalogue rows that answer alike for several plan types, shown as one row."""

    rows: Tuple[CatalogueRow, ...]
    changed: bool = False

    @property
    def first(self) -> CatalogueRow:
        return self.rows[0]

    @property
    def plan_types(self) -> Tuple[Optional[str], ...]:
        return tuple(row.plan_type for row in self.rows)


def version_of(rules: CoverageRules, effective: Optional[str] = None) -> Version:
    """The catalogue's version: git commit, the rules file's sha256, and the
    effective date: `effective` when given, else the date of the last commit
    that changed the rules file (none while it has uncommitted changes)."""
    digest = hashlib.sha256(rules.path.read_bytes()).hexdigest()
    folder = rules.path.parent
    try:
        commit = git(folder, "rev-parse", "HEAD").strip()
        uncommitted = bool(git(folder, "status", "--porcelain", "--", rules.path.name).strip())
        last_change = git(folder, "log", "-1", "--format=%cs", "--", rules.path.name).strip()
    except GitError:
        commit, uncommitted, last_change = "", True, ""
    if effective is None:
        effective = "" if uncommitted else last_change
    return Version(commit, digest, uncommitted, effective, last_change)


def checked_date(value: str) -> str:
    """A YYYY-MM-DD date, as given; ValueError otherwise."""
    return date.fromisoformat(value).isoformat() if value else ""


def page_rows(rows: Sequence[CatalogueRow], changed: Set[Tuple[Any, ...]]) -> List[PageRow]:
    """Rows of one topic that answer alike for several plan types, merged; each
    marked when any plan context it stands for answers differently since the release."""
    groups: Dict[Tuple[Any, ...], List[CatalogueRow]] = {}
    for row in rows:
        # Merged only when the answers read the same in every language.
        words = tuple(answer_text(row.messages_in(language)) for language in LANGUAGES)
        key = (row.topic, row.states, row.settings, row.purposes, row.stages, answer_key(row.answer), words)
        groups.setdefault(key, []).append(row)
    merged = []
    for members in groups.values():
        contexts = (
            (row.topic, row.plan_type, *values)
            for row in members
            for values in product(row.states, row.settings, row.purposes, row.stages)
        )
        merged.append(PageRow(tuple(members), any(context in changed for context in contexts)))
    return merged


def changed_contexts(changes: Sequence[AnswerChange]) -> Set[Tuple[Any, ...]]:
    """(topic, plan_type, state, setting, purpose, stage) of every changed answer."""
    return {
        (change.topic, *(context.get(key) for key in ANSWER_KEYS))
        for change in changes
        for context in change.contexts
    }


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24;
       margin: 0 auto; max-width: 90rem; padding: 0 1.25rem 3rem; line-height: 1.45; }
h1 { margin: 1.25rem 0 0.25rem; }
h2 { margin: 2.5rem 0 0.5rem; border-bottom: 2px solid #0b5cad; padding-bottom: 0.2rem; }
h3 { margin: 1.75rem 0 0.25rem; }
.meta, .topic-question, .differs { color: #4d5560; margin: 0.25rem 0 0.75rem; }
.differs strong { color: #1b1f24; }
dl.version { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; margin: 0.5rem 0; }
dl.version dt { font-weight: 600; }
dl.version dd { margin: 0; overflow-wrap: anywhere; }
nav.sections ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1.5rem; padding: 0; list-style: none; }
nav.topics ol { columns: 2; column-gap: 3.5rem; padding-left: 2rem; }
nav.topics li { break-inside: avoid; margin-bottom: 0.2rem; }
form.filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: flex-end;
               padding: 0.6rem 0.75rem; border: 1px solid #c9d1da; border-radius: 6px;
               background: #f6f8fb; position: sticky; top: 0; z-index: 2; }
form.filters[hidden] { display: none; }
form.filters label { display: block; font-weight: 600; font-size: 0.85rem; }
form.filters input, form.filters select, form.filters button {
  font: inherit; font-size: 0.9rem; padding: 0.25rem 0.4rem; }
form.filters .check label { display: inline; }
form.filters button { border: 1px solid #0b5cad; background: #fff; color: #0b5cad; border-radius: 4px;
                      cursor: pointer; }
#shown-count { flex-basis: 100%; margin: 0; font-size: 0.9rem; }
:focus-visible { outline: 3px solid #c2410c; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { border: 1px solid #c9d1da; padding: 0.45rem 0.55rem; vertical-align: top; text-align: left; }
thead th { background: #eef3f9; }
td.answer p { margin: 0 0 0.45rem; }
td.answer p.closing { color: #4d5560; }
.chip { display: inline-block; border: 1px solid #0b5cad; color: #0b5cad; border-radius: 999px;
        padding: 0 0.55rem; margin: 0.1rem 0.2rem 0.1rem 0; font-size: 0.85rem; }
.mark { display: inline-block; border-radius: 4px; padding: 0 0.35rem; font-size: 0.8rem; font-weight: 600; }
.mark-changed { background: #fff1c2; color: #5c4300; }
.mark-flagged { background: #fde2d8; color: #8a2c00; }
code { font-family: ui-monospace, Menlo, monospace; font-size: 0.88rem; }
h2 code, h3 code { font-size: 1em; }
table.answers { table-layout: fixed; }
col.w-where { width: 17%; } col.w-outcome { width: 9%; } col.w-answer { width: 50%; }
col.w-rules { width: 12%; } col.w-refs { width: 12%; }
.languages { display: grid; grid-auto-flow: column; grid-auto-columns: minmax(0, 1fr); gap: 0 1rem; }
.in-language[hidden] { display: none; }
.in-language + .in-language { border-left: 1px solid #c9d1da; padding-left: 1rem; }
.rule-text .language-name { margin-right: 0.4rem; }
.rule p.rule-text[hidden] { display: none; }
.language-name, td.answer p.language-name { margin: 0 0 0.2rem; color: #4d5560; font-size: 0.78rem;
  font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em; }
@media (max-width: 60rem) { .languages { grid-auto-flow: row; }
  .in-language + .in-language { border-left: 0; padding-left: 0; } }
dl.where { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.4rem; }
dl.where dt { font-weight: 600; font-size: 0.85rem; } dl.where dd { margin: 0; }
td code { overflow-wrap: anywhere; font-size: 0.8rem; }
.outcome { font-weight: 600; overflow-wrap: anywhere; }
.outcome-not_covered, .outcome-not_applicable { color: #8a2c00; }
.outcome-conditional, .outcome-often_required, .outcome-required { color: #6b4e00; }
.outcome-not_required { color: #1f6b2a; }
td ul { margin: 0; padding-left: 1rem; }
td li a, a.mark { display: inline-block; min-height: 24px; line-height: 24px; }
.legend td:first-child { white-space: nowrap; }
.rule { border-top: 1px solid #c9d1da; padding: 0.25rem 0 0.5rem; }
.rule h4 { margin: 0.5rem 0 0.1rem; font-size: 1rem; }
.rule p { margin: 0.15rem 0; }
.rule .label { color: #4d5560; font-size: 0.9rem; }
ul.quotes { margin: 0.1rem 0 0.3rem; padding: 0; list-style: none; }
ul.quotes li { border-left: 3px solid #c9d1da; padding-left: 0.6rem; margin: 0.2rem 0; }
td.before, p.before { background: #fdf0ec; } td.after, p.after { background: #edf7ee; }
p.before, p.after { padding: 0.2rem 0.4rem; margin: 0.3rem 0; }
@media print { form.filters { display: none; } h2 { break-before: auto; } tr { break-inside: avoid; } }
"""

# Search and filters: shows and hides rows by their data attributes, and the
# texts of a language (`data-text-lang`) by the language filter; reads no
# data into markup (text nodes and attributes only). Without JavaScript the
# form stays hidden and every row and language shows. The search reads only
# the languages shown, so a Spanish word finds nothing while only English shows.
SCRIPT = """
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-topic]"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.topic"));
  var blocks = Array.prototype.slice.call(document.querySelectorAll("[data-text-lang]"));
  var count = document.getElementById("shown-count");
  var field = function (name) { return form.elements.namedItem(name); };
  function has(row, name, value) {
    return !value || (" " + row.getAttribute("data-" + name) + " ").indexOf(" " + value + " ") !== -1;
  }
  // A node's text without the texts of the languages not shown.
  function textIn(node, language) {
    if (node.nodeType === 3) { return node.nodeValue; }
    if (node.nodeType !== 1) { return ""; }
    var own = node.getAttribute("data-text-lang");
    if (language && own && own !== language) { return ""; }
    var out = "";
    for (var child = node.firstChild; child; child = child.nextSibling) {
      out += textIn(child, language) + " ";
    }
    return out;
  }
  // Each row's searchable text per language filter, worked out once.
  var texts = {};
  function text(index, language) {
    if (!texts[language]) {
      texts[language] = rows.map(function (row) {
        var words = row.getAttribute("data-topic") + " " + textIn(row, language);
        return words.replace(/\\s+/g, " ").toLowerCase();
      });
    }
    return texts[language][index];
  }
  function apply() {
    var words = field("search").value.trim().toLowerCase().replace(/\\s+/g, " ");
    var language = field("language").value;
    blocks.forEach(function (block) {
      block.hidden = Boolean(language) && block.getAttribute("data-text-lang") !== language;
    });
    var topic = field("topic").value;
    var qualifier = field("qualifier").value.split(":");
    var onlyChanged = field("changed") && field("changed").checked;
    var onlyFlagged = field("flagged") && field("flagged").checked;
    var shown = 0;
    rows.forEach(function (row, index) {
      var show = (!topic || row.getAttribute("data-topic") === topic) &&
        has(row, "outcome", field("outcome").value) &&
        has(row, "states", field("state").value) &&
        has(row, "plan-types", field("plan_type").value) &&
        (qualifier[0] !== "plain" || (has(row, "setting", "none") && has(row, "purpose", "none") &&
          has(row, "stage", "none"))) &&
        (qualifier.length < 2 || has(row, qualifier[0], qualifier[1])) &&
        (!onlyChanged || row.hasAttribute("data-changed")) &&
        (!onlyFlagged || row.hasAttribute("data-flagged")) &&
        (!words || text(index, language).indexOf(words) !== -1);
      row.hidden = !show;
      if (show) { shown += 1; }
    });
    sections.forEach(function (section) {
      section.hidden = !section.querySelector("tr[data-topic]:not([hidden])");
    });
    count.textContent = shown + " of " + rows.length + " answers shown.";
  }
  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
  apply();
})();
"""


def csp_hash(text: str) -> str:
    """The CSP source for an inline block: 'sha256-<base64 of its SHA-256>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


# Only the page's own inline style and script, by hash: nothing else loads or runs.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {csp_hash(STYLE)}; script-src {csp_hash(SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def describe_values(values: Sequence[Optional[str]], labels: Mapping[str, str], every: str = "all") -> str:
    """Values in words for the page: `every` when all of them (and not given) are
    there, else each one ("Texas", "not given, Illinois")."""
    if len(set(values)) == len(labels) + 1:
        return every
    return ", ".join(NOT_GIVEN if value is None else labels[value] for value in values)


def data_values(values: Sequence[Optional[str]]) -> str:
    """Values as a data attribute the filters read: codes, "none" for not given."""
    return " ".join(NONE_VALUE if value is None else value for value in values)


def answer_messages_html(messages: Sequence[Dict[str, Any]]) -> str:
    """Member-facing messages as the member reads them; the data payload is left out."""
    parts = []
    texts = [m for m in messages if m.get("text")]
    for message in texts:
        css = ' class="closing"' if message is texts[-1] else ""
        chips = "".join(f'<span class="chip">{esc(b["title"])}</span>' for b in message.get("buttons") or [])
        parts.append(f"<p{css}>{esc(message['text'])}{'<br>' + chips if chips else ''}</p>")
    return "".join(parts)


def language_block(language: str, content: str) -> str:
    """Text in one language, marked with its `lang` (screen readers switch voice)
    and `data-text-lang`, which the page's language filter shows or hides."""
    return (
        f'<div class="in-language" lang="{esc(language)}" data-text-lang="{esc(language)}">'
        f'<p class="language-name">{esc(LANGUAGE_NAMES.get(language, language))}</p>{content}</div>'
    )


def answer_cell(row: CatalogueRow) -> str:
    """The answer in every language, side by side, English first."""
    blocks = "".join(
        language_block(language, answer_messages_html(row.messages_in(language))) for language in LANGUAGES
    )
    return f'<div class="languages">{blocks}</div>'


def list_cell(items: Sequence[str], code: bool = False) -> str:
    if not items:
        return "none"
    wrap = (lambda s: f"<code>{esc(s)}</code>") if code else esc
    return "<ul>" + "".join(f"<li>{wrap(item)}</li>" for item in items) + "</ul>"


def rules_cell(rule_ids: Sequence[str], flag_counts: Mapping[str, int]) -> str:
    """Rule ids, each a link to the rule with its source quotes; flagged ones marked."""
    items = []
    for rule_id in rule_ids:
        flagged = (
            f' <span class="mark mark-flagged">flagged {flag_counts[rule_id]}&times;</span>'
            if flag_counts.get(rule_id)
            else ""
        )
        items.append(f'<li><a href="#rule-{esc(rule_id)}"><code>{esc(rule_id)}</code></a>{flagged}</li>')
    return "<ul>" + "".join(items) + "</ul>" if items else "none"


def differs_line(rules: CoverageRules, topic_rows: Sequence[PageRow]) -> str:
    """Where a topic's answers differ, key by key: the values that always answer
    alike grouped together (two values are in one group when every row holds
    for both or for neither), e.g. "state (Texas | the others)"."""
    parts = []
    labels = rules.context_values
    for key, words in KEY_WORDS.items():
        groups: Dict[FrozenSet[int], List[Optional[str]]] = {}
        for value in (None, *labels[key]):
            rows_with_it = frozenset(
                index for index, page_row in enumerate(topic_rows) if value in row_values(page_row, key)
            )
            groups.setdefault(rows_with_it, []).append(value)
        if len(groups) > 1:
            described = " | ".join(describe_values(values, labels[key]) for values in groups.values())
            parts.append(f"<strong>{esc(words)}</strong> ({esc(described)})")
    if not parts:
        return '<p class="differs">The same answer for every plan context.</p>'
    return f'<p class="differs">Answers differ by {"; ".join(parts)}.</p>'


def row_values(page_row: PageRow, key: str) -> Tuple[Optional[str], ...]:
    """The values of a context key a page row holds for."""
    row = page_row.first
    return {
        "plan_type": page_row.plan_types,
        "state": row.states,
        "setting": row.settings,
        "purpose": row.purposes,
        "stage": row.stages,
    }[key]


def where_cell(rules: CoverageRules, page_row: PageRow) -> str:
    """The plan contexts a row answers: plan types and states always, the
    qualifiers only where they narrow it."""
    row, labels = page_row.first, rules.context_values
    parts = [
        ("Plan type", describe_values(page_row.plan_types, labels["plan_type"], "every plan type")),
        ("State", describe_values(row.states, labels["state"], "every state")),
    ]
    for words, key, values in (
        ("Care setting", "setting", row.settings),
        ("Purpose", "purpose", row.purposes),
        ("Stage", "stage", row.stages),
    ):
        if len(set(values)) != len(labels[key]) + 1:
            parts.append((words, describe_values(values, labels[key])))
    return '<dl class="where">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in parts) + "</dl>"


def topic_section(
    rules: CoverageRules, topic: str, topic_rows: Sequence[PageRow], flag_counts: Mapping[str, int]
) -> str:
    body = []
    for page_row in topic_rows:
        row, answer = page_row.first, page_row.first.answer
        redirected = (
            f'<br><span class="meta">answered as <code>{esc(answer.topic)}</code></span>'
            if answer.topic != topic
            else ""
        )
        decided = (
            f'<br><span class="meta">decided by <a href="#rule-{esc(answer.decided_by)}">'
            f"<code>{esc(answer.decided_by)}</code></a></span>"
            if answer.decided_by
            else ""
        )
        changed = ' <span class="mark mark-changed">changed</span>' if page_row.changed else ""
        flagged = any(flag_counts.get(rule_id) for rule_id in answer.rule_ids)
        attributes = (
            f'data-topic="{esc(topic)}" data-outcome="{esc(answer.outcome)}" '
            f'data-plan-types="{esc(data_values(page_row.plan_types))}" '
            f'data-states="{esc(data_values(row.states))}" data-setting="{esc(data_values(row.settings))}" '
            f'data-purpose="{esc(data_values(row.purposes))}" data-stage="{esc(data_values(row.stages))}"'
            + (" data-changed" if page_row.changed else "")
            + (" data-flagged" if flagged else "")
        )
        body.append(
            f"<tr {attributes}>"
            f"<td>{where_cell(rules, page_row)}</td>"
            f'<td><span class="outcome outcome-{esc(answer.outcome)}" '
            f'title="{esc(rules.outcomes[answer.outcome])}">{esc(answer.outcome)}</span>{changed}{redirected}'
            f"{decided}</td>"
            f'<td class="answer">{answer_cell(row)}</td>'
            f"<td>{rules_cell(answer.rule_ids, flag_counts)}</td>"
            f"<td>{list_cell(answer.citations)}</td>"
            "</tr>"
        )
    extra = (
        '<p class="topic-question">This is also the answer to any question once the member '
        'names another insurer (rule <a href="#rule-redirect.other_insurer"><code>redirect.other_insurer'
        "</code></a>).</p>"
        if topic == "non_hcsc_plan"
        else ""
    )
    return (
        f'<section class="topic" id="topic-{esc(topic)}" aria-labelledby="heading-{esc(topic)}">'
        f'<h3 id="heading-{esc(topic)}"><code>{esc(topic)}</code></h3>'
        f'<p class="topic-question">{esc(rules.topics[topic])}</p>{extra}{differs_line(rules, topic_rows)}'
        f'<table class="answers" aria-labelledby="heading-{esc(topic)}"><colgroup><col class="w-where">'
        '<col class="w-outcome"><col class="w-answer"><col class="w-rules"><col class="w-refs"></colgroup>'
        '<thead><tr><th scope="col">Applies to</th><th scope="col">Outcome</th>'
        '<th scope="col">What the member receives</th><th scope="col">Rules</th>'
        '<th scope="col">References</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


def language_options() -> str:
    """The language filter's choices: every language (the default), or one of them."""
    both = " and ".join(LANGUAGE_NAMES.get(language, language) for language in LANGUAGES)
    return f'<option value="">{esc(both)}</option>' + "".join(
        f'<option value="{esc(language)}" lang="{esc(language)}">'
        f"{esc(LANGUAGE_NAMES.get(language, language))}</option>"
        for language in LANGUAGES
    )


def options(choices: Sequence[Tuple[str, str]], everything: str) -> str:
    return f'<option value="">{esc(everything)}</option>' + "".join(
        f'<option value="{esc(value)}">{esc(label)}</option>' for value, label in choices
    )


def filters_form(rules: CoverageRules, since: Optional[str], any_flags: bool) -> str:
    """Search and filters, hidden until the page's script shows them."""
    labels = rules.context_values
    qualifier_groups = "".join(
        f'<optgroup label="{esc(KEY_WORDS[key].capitalize())}">'
        + "".join(
            f'<option value="{esc(key)}:{esc(value)}">{esc(label)}</option>'
            for value, label in [*labels[key].items(), (NONE_VALUE, NOT_GIVEN)]
        )
        + "</optgroup>"
        for key in ("setting", "purpose", "stage")
    )
    checks = ""
    if since is not None:
        checks += (
            '<div class="check"><input type="checkbox" id="f-changed" name="changed">'
            f' <label for="f-changed">Only answers changed since {esc(since)}</label></div>'
        )
    if any_flags:
        checks += (
            '<div class="check"><input type="checkbox" id="f-flagged" name="flagged">'
            ' <label for="f-flagged">Only answers with a flagged rule</label></div>'
        )
    return (
        '<form id="filters" class="filters" role="search" aria-label="Filter the answers" hidden>'
        '<div><label for="f-search">Search</label><input id="f-search" name="search" type="search" '
        'placeholder="words, rule id, reference"></div>'
        f'<div><label for="f-topic">Topic</label><select id="f-topic" name="topic">'
        f"{options([(t, t) for t in rules.topics], 'All topics')}</select></div>"
        f'<div><label for="f-outcome">Outcome</label><select id="f-outcome" name="outcome">'
        f"{options([(o, o) for o in rules.outcomes], 'All outcomes')}</select></div>"
        f'<div><label for="f-state">State</label><select id="f-state" name="state">'
        f"{options([*labels['state'].items(), (NONE_VALUE, NOT_GIVEN)], 'All states')}</select></div>"
        f'<div><label for="f-plan">Plan type</label><select id="f-plan" name="plan_type">'
        f"{options([*labels['plan_type'].items(), (NONE_VALUE, NOT_GIVEN)], 'All plan types')}</select></div>"
        f'<div><label for="f-qualifier">Qualifier</label><select id="f-qualifier" name="qualifier">'
        '<option value="">Any qualifier</option><option value="plain">None given (a plain question)</option>'
        f"{qualifier_groups}</select></div>"
        f'<div><label for="f-language">Answer language</label><select id="f-language" name="language">'
        f"{language_options()}</select></div>"
        f'{checks}<div><button type="reset">Clear filters</button></div>'
        '<p id="shown-count" role="status" aria-live="polite"></p></form>'
    )


def version_block(version: Version, generated: str, rules: CoverageRules) -> str:
    commit = (
        f"<code>{esc(version.commit[:12])}</code>"
        + (" (the rules file has changes not committed yet)" if version.uncommitted else "")
        if version.commit
        else "unknown: not a git checkout"
    )
    effective = esc(version.effective) if version.effective else "not released yet (uncommitted rules)"
    return (
        '<dl class="version">'
        f"<dt>Version</dt><dd>commit {commit}</dd>"
        f"<dt>Rules file</dt><dd><code>plan_coverage/{esc(rules.path.name)}</code> sha256 "
        f"<code>{esc(version.digest)}</code></dd>"
        f"<dt>Effective date</dt><dd>{effective}</dd>"
        f"<dt>Generated</dt><dd>{esc(generated)} by <code>make catalogue</code></dd>"
        "</dl>"
    )


def rule_entry(rules: CoverageRules, rule: Rule, flag_counts: Mapping[str, int]) -> str:
    """One rule with its conditions, text, the article's words and references."""
    when = "; ".join(f"{key}: {', '.join(values)}" for key, values in rule.when.items()) or "always"
    facts = [f"kind {esc(rule.kind)}", f"when {esc(when)}"]
    if rule.kind == "redirect":
        facts.append(f"from {esc(', '.join(rule.topics))} to <code>{esc(rule.redirect_to)}</code>")
    elif rule.kind != "qualifier":
        facts.append(f"topic {esc(', '.join(rule.topics))}")
    if rule.outcome:
        facts.append(f'outcome <span class="outcome outcome-{esc(rule.outcome)}">{esc(rule.outcome)}</span>')
    flagged = (
        f' <a class="mark mark-flagged" href="#flagged">flagged {flag_counts[rule.id]}&times;</a>'
        if flag_counts.get(rule.id)
        else ""
    )
    text = rule_texts(rules, rule) if rule.text else ""
    quotes = "".join(f"<li><q>{esc(quote)}</q></li>" for quote in rule.source)
    references = (
        "<ul>"
        + "".join(f"<li>{esc(ref)}: {esc(rules.references[ref])}</li>" for ref in rule.references)
        + "</ul>"
        if rule.references
        else " none"
    )
    return (
        f'<div class="rule" id="rule-{esc(rule.id)}"><h4><code>{esc(rule.id)}</code>{flagged}</h4>'
        f'<p class="label">{"; ".join(facts)}</p>{text}'
        f'<p class="label">The source article says:</p><ul class="quotes">{quotes}</ul>'
        f'<p class="label">References:{references}</p></div>'
    )


def rule_texts(rules: CoverageRules, rule: Rule) -> str:
    """A rule's member-facing text in every language, one paragraph each (marked
    like the answers' blocks, so the language filter applies to them too)."""
    paragraphs = []
    for language in LANGUAGES:
        texts = rules.in_language(language)
        paragraphs.append(
            f'<p class="rule-text" lang="{esc(language)}" data-text-lang="{esc(language)}">'
            f'<span class="language-name">{esc(LANGUAGE_NAMES.get(language, language))}</span> '
            f"{esc(fill_phrases(texts.rule(rule.id).text, texts.phrases))}</p>"
        )
    return "".join(paragraphs)


def rules_section(rules: CoverageRules, flag_counts: Mapping[str, int]) -> str:
    groups = (
        ("Redirects: the question is answered as another topic", rules.redirects),
        ("Qualifiers: not covered whatever the topic", rules.qualifiers),
        ("Answers, notes and qualified answers", rules.rules),
    )
    return (
        '<section id="rules" aria-labelledby="rules-heading">'
        '<h2 id="rules-heading">Rules and their sources</h2>'
        '<p class="meta">Every rule in <code>plan_coverage/rules.yml</code> with the source article&rsquo;s '
        "own words it rests on (a test checks each quote is in the article) and its policy references.</p>"
        + "".join(
            f"<h3>{esc(title)}</h3>" + "".join(rule_entry(rules, rule, flag_counts) for rule in group)
            for title, group in groups
        )
        + "</section>"
    )


def table(
    caption: str, header: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str] = ()
) -> str:
    """A plain table of text cells; `classes` gives each column's cell class."""
    head = "".join(f'<th scope="col">{esc(name)}</th>' for name in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{f' class={chr(34)}{classes[i]}{chr(34)}' if i < len(classes) and classes[i] else ''}>"
            f"{esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def rule_change_rows(changes: Sequence[RuleChange]) -> List[List[str]]:
    return [[c.change, c.kind, c.id, c.field, c.before, c.after] for c in changes]


def answer_change_rows(rules: CoverageRules, changes: Sequence[AnswerChange]) -> List[List[str]]:
    rows = []
    for change in changes:
        place = where(change, rules)
        before, after = change.before, change.after
        rows.append(
            [
                change.topic,
                place["plan_type"],
                place["state"],
                place["setting"],
                place["purpose"],
                place["stage"],
                str(len(change.contexts)),
                before.outcome if before else "(no such topic)",
                after.outcome if after else "(no such topic)",
                f"{before.text} {before.closing}" if before else "",
                f"{after.text} {after.closing}" if after else "",
                "; ".join(before.rule_ids) if before else "",
                "; ".join(after.rule_ids) if after else "",
            ]
        )
    return rows


def answer_changes_table(rules: CoverageRules, changes: Sequence[AnswerChange]) -> str:
    """The changed answers: where, how many, the outcome before and after, and the
    words before and after (folded, since they are long)."""
    body = []
    for change, row in zip(changes, answer_change_rows(rules, changes), strict=True):
        place = where(change, rules)
        where_list = "".join(
            f"<dt>{esc(KEY_WORDS[key].capitalize())}</dt><dd>{esc(place[key])}</dd>" for key in ANSWER_KEYS
        )
        words = (
            "<details><summary>Words before and after</summary>"
            f'<p class="before"><strong>Before:</strong> {esc(row[9]) or "(no such topic)"}</p>'
            f'<p class="after"><strong>After:</strong> {esc(row[10]) or "(no such topic)"}</p></details>'
            if row[9] != row[10]
            else "the same words"
        )
        body.append(
            f"<tr><td><code>{esc(change.topic)}</code></td>"
            f'<td><dl class="where">{where_list}</dl></td><td>{esc(row[6])}</td>'
            f'<td class="before">{esc(row[7])}</td><td class="after">{esc(row[8])}</td><td>{words}</td>'
            f'<td class="before">{esc(row[11])}</td><td class="after">{esc(row[12])}</td></tr>'
        )
    head = "".join(
        f'<th scope="col">{name}</th>'
        for name in (
            "Topic",
            "Where",
            "Answers",
            "Outcome before",
            "Outcome after",
            "Member-facing words",
            "Rules before",
            "Rules after",
        )
    )
    return (
        "<table><caption>Answers whose outcome or words changed, by topic</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def counted(number: int, one: str, many: str = "") -> str:
    """ "1 rule", "2 rules"."""
    return f"{number} {one if number == 1 else many or one + 's'}"


def changes_section(
    since: str,
    old: RulesAtRef,
    rule_diff: Sequence[RuleChange],
    answer_diff: Optional[Sequence[AnswerChange]],
    rules: CoverageRules,
) -> str:
    counts = {kind: sum(1 for c in rule_diff if c.change == kind) for kind in ("added", "removed")}
    changed_ids = len({c.id for c in rule_diff if c.change == "changed"})
    parts = [
        '<section id="changes" aria-labelledby="changes-heading">',
        f'<h2 id="changes-heading">What changed since {esc(since)}</h2>',
        f'<p class="meta">Compared with <code>plan_coverage/rules.yml</code> at <code>{esc(since)}</code> '
        f"(commit <code>{esc(old.commit[:12])}</code>, {esc(old.date)}): {counted(counts['added'], 'rule')} "
        f"added, {counts['removed']} removed, {counted(changed_ids, 'rule or setting', 'rules or settings')} "
        "changed.</p>",
    ]
    if rule_diff:
        parts.append(
            table(
                "Rules added, removed and changed (one row per changed field)",
                CHANGES_COLUMNS,
                rule_change_rows(rule_diff),
                ["", "", "", "", "before", "after"],
            )
        )
    else:
        parts.append("<p>No rule changed.</p>")
    if answer_diff is None:
        parts.append(f"<p>The answers cannot be compared: {esc(old.load_error)}</p>")
    elif answer_diff:
        total = sum(len(change.contexts) for change in answer_diff)
        parts.append(
            f"<p>{total} answers (topic &times; plan context) now differ in outcome or member-facing words, "
            f'in {len(answer_diff)} groups. Rows marked <span class="mark mark-changed">changed</span> '
            "in the answers above are among them.</p>"
        )
        parts.append(answer_changes_table(rules, answer_diff))
    else:
        parts.append("<p>No answer a member gets changed.</p>")
    parts.append("</section>")
    return "".join(parts)


def flags_section(flags: Sequence[Dict[str, Any]], skipped: int, queue: Path) -> str:
    parts = [
        '<section id="flagged" aria-labelledby="flagged-heading">',
        '<h2 id="flagged-heading">Answers flagged by agents</h2>',
        '<p class="meta">The review queue of the agent console&rsquo;s &ldquo;Flag this answer&rdquo; '
        f"(<code>{esc(queue.name)}</code>), newest first. Questions and notes were stripped of personal "
        "details when stored and again here. <code>make review</code> lists them by period.</p>",
    ]
    if flags:
        ordered = sorted(
            flags, key=lambda f: f["at"] or datetime.min.replace(tzinfo=timezone.utc), reverse=True
        )
        parts.append(table("Flagged answers", FLAG_COLUMNS, flag_rows(ordered)))
    else:
        parts.append("<p>No answers are flagged.</p>")
    if skipped:
        parts.append(f"<p>{skipped} lines of the queue were skipped: not a flag.</p>")
    parts.append("</section>")
    return "".join(parts)


def render_html(
    rules: CoverageRules,
    rows: Sequence[CatalogueRow],
    generated: str,
    version: Version,
    flags: Sequence[Dict[str, Any]] = (),
    flags_skipped: int = 0,
    queue: Path = DEFAULT_FLAG_QUEUE,
    since: Optional[str] = None,
    old: Optional[RulesAtRef] = None,
    rule_diff: Sequence[RuleChange] = (),
    answer_diff: Optional[Sequence[AnswerChange]] = None,
) -> str:
    """The catalogue page: answers with search and filters, what changed, flags, rules, outcomes."""
    changed = changed_contexts(answer_diff or ())
    by_topic: Dict[str, List[CatalogueRow]] = {}
    for row in rows:
        by_topic.setdefault(row.topic, []).append(row)
    merged = {topic: page_rows(by_topic[topic], changed) for topic in rules.topics}
    flag_counts = Counter(rule_id for flag in flags for rule_id in flag["rules"])
    shown_rows = sum(len(group) for group in merged.values())
    toc = "".join(
        f'<li><a href="#topic-{esc(t)}"><code>{esc(t)}</code></a>: {esc(rules.topics[t])} '
        f"({len(merged[t])} rows)</li>"
        for t in rules.topics
    )
    legend = "".join(
        f'<tr><td><span class="outcome outcome-{esc(name)}">{esc(name)}</span></td>'
        f"<td>{esc(meaning)}</td></tr>"
        for name, meaning in rules.outcomes.items()
    )
    sections = "".join(topic_section(rules, t, merged[t], flag_counts) for t in rules.topics)
    links = [("answers", "Answers")]
    if since is not None:
        links.append(("changes", f"What changed since {since}"))
    links += [
        ("flagged", f"Flagged answers ({len(flags)})"),
        ("rules", "Rules and sources"),
        ("outcomes", "Outcomes"),
    ]
    nav = "".join(f'<li><a href="#{esc(anchor)}">{esc(label)}</a></li>' for anchor, label in links)
    changes = changes_section(since, old, rule_diff, answer_diff, rules) if since is not None and old else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CONTENT_SECURITY_POLICY)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Answer catalogue: massage therapy coverage assistant</title>"
        f"<style>{STYLE}</style></head><body>"
        "<header><h1>Answer catalogue: massage therapy coverage</h1>"
        '<p class="meta">Every answer the member assistant gives, for every topic, plan type and state, '
        "and for the care setting, purpose and stage where those change it. Rows that answer alike for "
        "several plan types are one row; each topic says where its answers differ. &ldquo;Decided by&rdquo; "
        f"names the qualifier that made an answer not covered, whatever was asked. {shown_rows} rows "
        f"({len(rows)} in <code>answers.csv</code>, one per plan type) over {len(rules.topics)} topics. "
        "Each answer ends with the closing line shown; the chat also receives the coverage data (topic, "
        "outcome, rules, references) with it. Each answer is shown in English and Spanish side by side "
        "(the same rules and outcome); the &ldquo;Answer language&rdquo; filter shows one of them.</p>"
        f"{version_block(version, generated, rules)}</header>"
        f'<nav class="sections" aria-label="Sections"><ul>{nav}</ul></nav>'
        '<main><section id="answers" aria-labelledby="answers-heading"><h2 id="answers-heading">Answers</h2>'
        f"{filters_form(rules, since, bool(flag_counts))}"
        f'<nav class="topics" aria-label="Topics"><ol>{toc}</ol></nav>{sections}</section>'
        f"{changes}{flags_section(flags, flags_skipped, queue)}{rules_section(rules, flag_counts)}"
        '<section id="outcomes" aria-labelledby="outcomes-heading"><h2 id="outcomes-heading">Outcomes</h2>'
        '<table class="legend"><caption>What each outcome means</caption>'
        '<thead><tr><th scope="col">Outcome</th>'
        f'<th scope="col">Meaning</th></tr></thead><tbody>{legend}</tbody></table></section>'
        f"</main><script>{SCRIPT}</script></body></html>\n"
    )


def write_changes_csv(
    path: Path,
    rules: CoverageRules,
    rule_diff: Sequence[RuleChange],
    answer_diff: Optional[Sequence[AnswerChange]],
) -> None:
    """changes.csv: the rule changes, then (after a blank line) the answer changes."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CHANGES_COLUMNS)
        writer.writerows(rule_change_rows(rule_diff))
    if answer_diff is not None:
        with path.with_name("answer_changes.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(ANSWER_CHANGES_COLUMNS)
            writer.writerows(answer_change_rows(rules, answer_diff))


def write_catalogue(
    out_dir: Path,
    rules: Optional[CoverageRules] = None,
    since: Optional[str] = None,
    repo: Optional[Path] = None,
    effective: Optional[str] = None,
    queue: Optional[Path] = None,
) -> List[Path]:
    """Write answers.html and answers.csv into out_dir (and, with `since`, a git
    ref, changes.csv and answer_changes.csv); return the paths written.

    `repo` is where `since` is looked up (default: this checkout); `queue` the
    flag queue (default REVIEW_FLAG_QUEUE or var/flagged_answers.jsonl).
    Raises GitError when `since` cannot be read.
    """
    rules = rules or load_rules()
    old = rules_at(since, rules.path, repo) if since is not None else None
    rows = list(catalogue_rows(rules))
    rule_diff: List[RuleChange] = []
    answer_diff: Optional[List[AnswerChange]] = None
    if old is not None:
        with rules.path.open(encoding="utf-8") as handle:
            rule_diff = rule_changes(old.raw, yaml.safe_load(handle))
        answer_diff = answer_changes(old.rules, rules) if old.rules is not None else None
    queue = queue or queue_path()
    flags, skipped = read_flags(queue)
    out_dir.mkdir(parents=True, exist_ok=True)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    html_path, csv_path = out_dir / "answers.html", out_dir / "answers.csv"
    page = render_html(
        rules,
        rows,
        generated,
        version_of(rules, effective),
        flags,
        skipped,
        queue,
        since,
        old,
        rule_diff,
        answer_diff,
    )
    html_path.write_text(page, encoding="utf-8")
    write_csv(csv_path, rules, rows)
    written = [html_path, csv_path]
    if old is not None:
        write_changes_csv(out_dir / "changes.csv", rules, rule_diff, answer_diff)
        written.append(out_dir / "changes.csv")
        if answer_diff is not None:
            written.append(out_dir / "answer_changes.csv")
    return written


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR})")
    parser.add_argument(
        "--since",
        default=os.environ.get("SINCE") or None,
        help="a git ref (tag, branch, commit) of the last release: show what changed since (env SINCE)",
    )
    parser.add_argument("--repo", type=Path, default=None, help="the git repository to read --since from")
    parser.add_argument(
        "--effective-date",
        default=os.environ.get("EFFECTIVE_DATE") or None,
        help="YYYY-MM-DD the answers take effect (env EFFECTIVE_DATE; default: the last commit of the rules)",
    )
    args = parser.parse_args(argv)
    try:
        effective = checked_date(args.effective_date) if args.effective_date else None
    except ValueError:
        print(f"error: the effective date must be YYYY-MM-DD, not {args.effective_date!r}", file=sys.stderr)
        return 2
    try:
        written = write_catalogue(args.out, since=args.since, repo=args.repo, effective=effective)
    except GitError as error:
        print(f"error: cannot read the rules at {args.since!r}: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"Wrote {path}")
    print(f"Open the page in a browser: file://{written[0].resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
