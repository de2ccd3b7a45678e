"""`make review`: what members asked, what the assistant could not answer, and
which answers members found unhelpful, for content owners.

Reads the tracker store (TRACKER_STORE_URL, SQLite or Postgres; by default
`make run`'s var/tracker.db) for a period (SINCE and UNTIL as YYYY-MM-DD,
UTC; by default the last 7 days), streaming its events, and writes to review/:

- report.html: one self-contained, accessible page (inline CSS, the chart
  embedded, every number also in a table);
- volume_by_*.csv, low_confidence.csv, unanswered_clusters.csv,
  unhelpful_answers.csv, flagged_answers.csv;
- volume.png: turns per day by outcome;
- candidate_nlu.yml: unanswered questions as Rasa NLU YAML, grouped by
  cluster, for an engineer to review. Never added to the training data by
  anything here.

Member text appears as the tracker store holds it: the member channels
replaced personal details before storing it (channels/member_input.py).
"""

import argparse
import base64
import csv
import heapq
import html
import io
import json
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from launch.paths import PROJECT_DIR
from plan_coverage.feedback import DID_NOT_ANSWER, FEEDBACK_ACTION, FEEDBACK_SLOT, REASONS
from tools.review_clusters import DISTANCE_THRESHOLD, Cluster, cluster_questions, measure, normalise
from tools.review_store import (
    EventRow,
    engine_for,
    has_events_table,
    last_purge,
    missing_sqlite_file,
    oldest_event,
    shown_url,
    store_url,
    stream_events,
)

OUT_DIR = PROJECT_DIR / "review"
CONFIG = PROJECT_DIR / "config.yml"
DEFAULT_DAYS = 7
# A turn is "low confidence" when NLU's intent confidence is below the
# FallbackClassifier's threshold (config.yml) plus this margin: answered, but
# close to falling back.
LOW_CONFIDENCE_MARGIN = 0.15
LOW_CONFIDENCE_SHOWN = 200
# The agent console's "Flag this answer" queue (issue 13): JSON Lines, one
# flag per line with at least "rules" (list of rule ids) and optionally
# "time", "question", "state", "plan_type", "note". Read when present.
FLAG_QUEUE_ENV = "REVIEW_FLAG_QUEUE"
DEFAULT_FLAG_QUEUE = PROJECT_DIR / "var" / "flagged_answers.jsonl"
RETENTION_ENV = "RETENTION_DAYS"
# What a turn's outcome is called, and which count as unanswered.
UNANSWERED = ("fallback", "out_of_scope", "other_service")
OUTCOME_INTENTS = {
    "nlu_fallback": "fallback",
    "out_of_scope": "out_of_scope",
    "ask_other_service": "other_service",
    "human_handoff": "handoff",
}
FALLBACK_ACTIONS = {"action_default_fallback", "utter_default"}
UNAVAILABLE = "utter_answer_unavailable"
NO_ANSWER_RULE = "(no coverage answer)"


def fallback_threshold(config_path: Path = CONFIG) -> float:
    """The FallbackClassifier's threshold in config.yml."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for component in config.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", 0.3))
    return 0.3


# ---- reading the store -----------------------------------------------------


@dataclass
class Turn:
    """One member message and what the assistant did with it."""

    day: date
    text: str
    intent: str
    confidence: Optional[float]
    channel: str
    language: str
    is_command: bool
    actions: List[str] = field(default_factory=list)
    coverage: Optional[Dict[str, Any]] = None
    unavailable: bool = False

    def outcome(self) -> str:
        if FEEDBACK_ACTION in self.actions:
            return "feedback"
        if self.coverage is not None:
            return "answered"
        if self.unavailable:
            return "unavailable"
        if self.intent == "nlu_fallback" or FALLBACK_ACTIONS & set(self.actions):
            return "fallback"
        return OUTCOME_INTENTS.get(self.intent, "conversation")

    def topic(self) -> str:
        if self.coverage is not None:
            return str(self.coverage.get("topic"))
        if self.intent.startswith("ask_") and self.intent != "ask_other_service":
            return self.intent[len("ask_") :]
        return f"({self.outcome()})"


@dataclass
class Rated:
    """Ratings of one rule's answers."""

    helpful: int = 0
    unhelpful: int = 0
    reasons: Counter = field(default_factory=Counter)
    topics: Counter = field(default_factory=Counter)


@dataclass
class Review:
    """Everything the report shows, gathered in one pass over the events."""

    since: datetime
    until: datetime
    conversations: int = 0
    turns: int = 0
    by_day: Dict[date, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_topic: Counter = field(default_factory=Counter)
    by_outcome: Counter = field(default_factory=Counter)
    by_language: Counter = field(default_factory=Counter)
    by_channel: Counter = field(default_factory=Counter)
    low_confidence_count: int = 0
    # (confidence, order, turn): the lowest ones, kept in a bounded heap.
    low_confidence: List[Tuple[float, int, str, str, str]] = field(default_factory=list)
    # normalised question -> [count, example as stored, Counter of kinds]
    unanswered: Dict[str, List[Any]] = field(default_factory=dict)
    ratings: Dict[str, Rated] = field(default_factory=lambda: defaultdict(Rated))
    ratings_total: int = 0
    clusters: List[Cluster] = field(default_factory=list)
    unclustered: int = 0
    flags: List[Dict[str, Any]] = field(default_factory=list)
    flag_queue: Optional[Path] = None

    def messages(self) -> int:
        """Member turns other than ratings: what the fallback and out-of-scope shares are of."""
        return self.turns - self.by_outcome["feedback"]


class Collector:
    """Turns the stream of events into the review, one conversation's open turn at a time."""

    def __init__(self, review: Review, low_confidence_below: float) -> None:
        self.review = review
        self.low_confidence_below = low_confidence_below
        self.open_turns: Dict[str, Turn] = {}
        # The member's question each conversation's latest coverage answer answered.
        self.answered_question: Dict[str, str] = {}
        self.senders: set = set()
        self.order = 0

    def add(self, row: EventRow) -> None:
        if row.type_name == "user":
            self._user(row)
        elif row.type_name == "action":
            turn = self.open_turns.get(row.sender_id)
            if turn is not None and row.action_name:
                turn.actions.append(row.action_name)
        elif row.type_name == "bot":
            turn = self.open_turns.get(row.sender_id)
            if turn is None or not row.data:
                return
            if '"coverage"' in row.data:
                custom = (json.loads(row.data).get("data") or {}).get("custom") or {}
                if isinstance(custom.get("coverage"), dict):
                    turn.coverage = custom["coverage"]
                    self.answered_question[row.sender_id] = turn.text
            elif UNAVAILABLE in row.data:
                turn.unavailable = True
        elif row.type_name == "slot" and row.data and f'"{FEEDBACK_SLOT}"' in row.data:
            event = json.loads(row.data)
            if event.get("name") == FEEDBACK_SLOT and isinstance(event.get("value"), dict):
                self._rating(row.sender_id, event["value"])

    def _user(self, row: EventRow) -> None:
        self._close(row.sender_id)
        event = json.loads(row.data or "{}")
        parse_data = event.get("parse_data") or {}
        intent = parse_data.get("intent") or {}
        metadata = event.get("metadata") or {}
        text = str(event.get("text") or "")
        self.senders.add(row.sender_id)
        self.open_turns[row.sender_id] = Turn(
            day=datetime.fromtimestamp(row.timestamp, timezone.utc).date(),
            text=text,
            intent=str(intent.get("name") or row.intent_name or ""),
            confidence=intent.get("confidence"),
            channel=str(event.get("input_channel") or "unknown"),
            language=str(metadata.get("language") or parse_data.get("language") or self.default_language),
            is_command=text.startswith("/"),
        )

    default_language = "en"

    def _close(self, sender_id: str) -> None:
        turn = self.open_turns.pop(sender_id, None)
        if turn is None:
            return
        review = self.review
        outcome = turn.outcome()
        review.turns += 1
        review.by_day[turn.day][outcome] += 1
        review.by_outcome[outcome] += 1
        review.by_language[turn.language] += 1
        review.by_channel[turn.channel] += 1
        if outcome != "feedback":
            review.by_topic[turn.topic()] += 1
        if outcome in UNANSWERED and not turn.is_command:
            self._unanswered(turn.text, outcome)
        if (
            not turn.is_command
            and isinstance(turn.confidence, (int, float))
            and turn.confidence < self.low_confidence_below
        ):
            review.low_confidence_count += 1
            self.order += 1
            item = (-float(turn.confidence), self.order, turn.day.isoformat(), turn.intent, turn.text)
            if len(review.low_confidence) < LOW_CONFIDENCE_SHOWN:
                heapq.heappush(review.low_confidence, item)
            else:
                heapq.heappushpop(review.low_confidence, item)

    def _unanswered(self, text: str, kind: str) -> None:
        key = normalise(text)
        if not key:
            return
        entry = self.review.unanswered.get(key)
        if entry is None:
            entry = self.review.unanswered[key] = [0, text, Counter()]
        entry[0] += 1
        entry[2][kind] += 1

    def _rating(self, sender_id: str, value: Mapping[str, Any]) -> None:
        self.review.ratings_total += 1
        rules = [str(rule) for rule in value.get("rules") or []] or [NO_ANSWER_RULE]
        reason = value.get("reason")
        for rule in rules:
            rated = self.review.ratings[rule]
            rated.topics[str(value.get("topic"))] += 1
            if value.get("helpful"):
                rated.helpful += 1
            else:
                rated.unhelpful += 1
                rated.reasons[str(reason or "no reason given")] += 1
        if reason == DID_NOT_ANSWER and sender_id in self.answered_question:
            self._unanswered(self.answered_question[sender_id], "did_not_answer")

    def finish(self) -> None:
        for sender_id in list(self.open_turns):
            self._close(sender_id)
        self.review.conversations = len(self.senders)


def collect(url: str, since: datetime, until: datetime) -> Review:
    """The review of the period, from one streamed pass over the store's events."""
    review = Review(since=since, until=until)
    engine = engine_for(url)
    try:
        if has_events_table(engine):
            collector = Collector(review, fallback_threshold() + LOW_CONFIDENCE_MARGIN)
            for row in stream_events(engine, since, until):
                collector.add(row)
            collector.finish()
    finally:
        engine.dispose()
    questions = {key: (entry[0], entry[1], dict(entry[2])) for key, entry in review.unanswered.items()}
    review.clusters, review.unclustered = cluster_questions(questions)
    return review


def read_flags(path: Path, since: datetime, until: datetime) -> List[Dict[str, Any]]:
    """The flagged answers of the period from the agent console's queue, if it exists."""
    if not path.exists():
        return []
    flags = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                flag = json.loads(line)
            except ValueError:
                continue
            if not isinstance(flag, dict):
                continue
            when = flag.get("time")
            if isinstance(when, (int, float)) and not since.timestamp() <= when < until.timestamp():
                continue
            flags.append(flag)
    return flags


# ---- writing the report ----------------------------------------------------


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def table_rows(review: Review) -> Dict[str, Tuple[List[str], List[List[Any]]]]:
    """Every table of the report, by name: (header, rows). The CSVs and the HTML share them."""
    days = []
    outcomes = sorted(review.by_outcome)
    day = review.since.date()
    while day < review.until.date() or (day == review.until.date() and review.until.time() != time(0)):
        counts = review.by_day.get(day, Counter())
        days.append([day.isoformat(), sum(counts.values()), *[counts[o] for o in outcomes]])
        day += timedelta(days=1)
    unhelpful = [
        [
            rule,
            rated.helpful + rated.unhelpful,
            rated.helpful,
            rated.unhelpful,
            *[rated.reasons[reason] for reason in REASONS],
            ", ".join(sorted(rated.topics)),
        ]
        for rule, rated in sorted(review.ratings.items(), key=lambda item: (-item[1].unhelpful, item[0]))
    ]
    clusters = [
        [
            number,
            cluster.count,
            cluster.label,
            "; ".join(f"{kind} {count}" for kind, count in sorted(cluster.kinds.items())),
            " | ".join(f"{text} ({count})" for text, count in cluster.examples),
        ]
        for number, cluster in enumerate(review.clusters, 1)
    ]
    low = [
        [day_text, intent, f"{-negative:.2f}", text]
        for negative, _, day_text, intent, text in sorted(review.low_confidence, reverse=True)
    ]
    flags = [
        [
            str(flag.get("time", "")),
            ", ".join(str(rule) for rule in flag.get("rules") or []),
            str(flag.get("question", "")),
            str(flag.get("state", "") or ""),
            str(flag.get("plan_type", "") or ""),
            str(flag.get("note", "")),
        ]
        for flag in review.flags
    ]
    return {
        "volume_by_day": (["day", "turns", *outcomes], days),
        "volume_by_topic": (["topic", "turns"], _counted(review.by_topic)),
        "volume_by_outcome": (["outcome", "turns", "share"], _shared(review.by_outcome, review.turns)),
        "volume_by_language": (["language", "turns"], _counted(review.by_language)),
        "volume_by_channel": (["channel", "turns"], _counted(review.by_channel)),
        "low_confidence": (["day", "intent", "confidence", "message"], low),
        "unanswered_clusters": (
            ["cluster", "questions", "shared words", "kinds", "examples (count)"],
            clusters,
        ),
        "unhelpful_answers": (
            ["rule id", "ratings", "helpful", "unhelpful", *REASONS.values(), "topics"],
            unhelpful,
        ),
        "flagged_answers": (["time", "rule ids", "question", "state", "plan type", "note"], flags),
    }


def _counted(counter: Counter) -> List[List[Any]]:
    return [[key, count] for key, count in sorted(counter.items(), key=lambda item: (-item[1], str(item[0])))]


def _shared(counter: Counter, total: int) -> List[List[Any]]:
    return [[key, count, f"{count / total:.1%}" if total else "0%"] for key, count in _counted(counter)]


def chart_png(review: Review, header: List[str], rows: List[List[Any]]) -> bytes:
    """Turns per day, stacked by outcome (the same numbers as the volume-by-day table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = header[2:]
    figure, axes = plt.subplots(figsize=(8, 3.2), dpi=100)
    bottoms = [0] * len(rows)
    labels = [row[0][5:] for row in rows]
    for index, outcome in enumerate(outcomes):
        values = [row[2 + index] for row in rows]
        axes.bar(labels, values, bottom=bottoms, label=outcome)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_ylabel("member turns")
    axes.set_title("Member turns per day, by outcome")
    if outcomes:
        axes.legend(fontsize=7, ncol=min(4, len(outcomes)), loc="upper left")
    axes.tick_params(axis="x", labelsize=7, rotation=45)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def candidate_nlu(clusters: Sequence[Cluster]) -> str:
    """Unanswered questions as Rasa NLU YAML, one placeholder intent per cluster."""
    lines = [
        'version: "3.1"',
        "# CANDIDATE training examples from `make review`, for an engineer to review.",
        "# NOT training data: nothing adds this file to data/. Rename each intent to a",
        "# real one (or drop it), check every example, keep the held-out set apart.",
        "nlu:",
    ]
    for number, cluster in enumerate(clusters, 1):
        lines.append(f"  # cluster {number}: {cluster.count} questions ({cluster.label})")
        lines.append(f"  - intent: review_candidate_{number:03d}")
        lines.append("    examples: |")
        for question in dict.fromkeys(cluster.questions):
            lines.append(f"      - {question}")
    return "\n".join(lines) + "\n"


def retention_text(url: str) -> str:
    """The retention in force, as the store and the environment say."""
    engine = engine_for(url)
    try:
        purge = last_purge(engine)
        oldest = oldest_event(engine) if has_events_table(engine) else None
    finally:
        engine.dispose()
    declared = os.environ.get(RETENTION_ENV)
    parts = []
    if declared:
        parts.append(
            f"Policy: conversations are kept {declared} days after their last message (RETENTION_DAYS)."
        )
    if purge is None:
        parts.append(
            "No purge has run on this store: conversations stay until `make purge DAYS=N` deletes them."
        )
    else:
        when, days, conversations = purge
        parts.append(
            f"Last purge: {when:%Y-%m-%d %H:%M} UTC kept {days} days after a conversation's "
            f"last message and removed {conversations} conversations."
        )
    parts.append(
        f"Oldest message in the store: {oldest:%Y-%m-%d} (UTC)." if oldest else "The store is empty."
    )
    return " ".join(parts)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:72rem;
padding:1rem 1.5rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #0b4f8a}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #8a8f94;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#e8f0f9}td.num{text-align:right}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.5rem;padding:0;list-style:none}
.summary li{border:1px solid #8a8f94;padding:.5rem}.summary strong{display:block;font-size:1.3rem}
img{max-width:100%;height:auto}.note{color:#3d4247}a{color:#0b4f8a}
"""


def render_html(
    review: Review, tables: Dict[str, Tuple[List[str], List[List[Any]]]], chart: bytes, url: str
) -> str:
    esc = html.escape
    fallback_share = _share(review.by_outcome["fallback"], review.messages())
    out_of_scope_share = _share(review.by_outcome["out_of_scope"], review.messages())
    unhelpful = sum(rated.unhelpful for rule, rated in review.ratings.items())
    quality = measure()
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Review: member questions {review.since:%Y-%m-%d} to {review.until:%Y-%m-%d}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>What members asked, {review.since:%Y-%m-%d} to {review.until:%Y-%m-%d}</h1>",
        f'<p class="note">From the tracker store {esc(shown_url(url))}, period from '
        f"{review.since:%Y-%m-%d %H:%M} UTC up to (not including) {review.until:%Y-%m-%d %H:%M} UTC. "
        "Member messages are shown as stored: the assistant replaced personal details "
        "(member IDs, SSNs, dates, phone numbers, emails) before storing them.</p>",
        f'<p class="note"><strong>Retention:</strong> {esc(retention_text(url))}</p>',
        '<h2 id="summary">Summary</h2><ul class="summary">',
        f"<li><strong>{review.conversations}</strong> conversations</li>",
        f"<li><strong>{review.turns}</strong> member turns</li>",
        f"<li><strong>{fallback_share}</strong> of member messages fell back (not understood; "
        "ratings not counted)</li>",
        f"<li><strong>{out_of_scope_share}</strong> of member messages were out of scope</li>",
        f"<li><strong>{review.low_confidence_count}</strong> low-confidence turns "
        f"(intent confidence below {fallback_threshold() + LOW_CONFIDENCE_MARGIN:.2f})</li>",
        f"<li><strong>{review.ratings_total}</strong> answer ratings, {unhelpful} unhelpful</li>",
        "</ul>",
        '<h2 id="volume">Volume</h2>',
        f'<img src="data:image/png;base64,{base64.b64encode(chart).decode()}" '
        'alt="Bar chart of member turns per day, stacked by outcome; '
        'the table below gives the same numbers.">',
        _table("Member turns per day, by outcome", *tables["volume_by_day"]),
        _table("Turns by outcome", *tables["volume_by_outcome"]),
        _table("Turns by topic (answered topic, or what was asked)", *tables["volume_by_topic"]),
        _table("Turns by language", *tables["volume_by_language"]),
        _table("Turns by channel", *tables["volume_by_channel"]),
        '<h2 id="unanswered">Unanswered questions</h2>',
        "<p>Questions the assistant fell back on, found out of scope or about other services, "
        "and questions whose answer a member rated &ldquo;did not answer my question&rdquo;, grouped "
        "by similarity (scikit-learn: TF-IDF and agglomerative clustering, cosine distance threshold "
        f"{DISTANCE_THRESHOLD}). Measured on a hand-labelled held-out sample of "
        f"{int(quality['questions'])} questions in {int(quality['groups'])} groups: adjusted Rand index "
        f"{quality['adjusted_rand']}, V-measure {quality['v_measure']} (1 is perfect); expect some "
        "groups to be split, so read neighbouring clusters together. "
        f"{review.unclustered} rare questions were too far from every cluster to join one.</p>",
        _table("Clusters of unanswered questions, largest first", *tables["unanswered_clusters"]),
        "<p>Candidate training examples from these clusters are in <code>candidate_nlu.yml</code>, "
        "for an engineer to review; nothing adds them to the training data.</p>",
        '<h2 id="unhelpful">Answers rated by members</h2>',
        _table("Ratings by rule id, most unhelpful first", *tables["unhelpful_answers"]),
        '<h2 id="low-confidence">Low-confidence turns</h2>',
        f"<p>The {len(review.low_confidence)} lowest of {review.low_confidence_count} turns whose intent "
        f"confidence was below {fallback_threshold() + LOW_CONFIDENCE_MARGIN:.2f} (the fallback threshold "
        f"{fallback_threshold():.2f} plus a margin of {LOW_CONFIDENCE_MARGIN:.2f}).</p>",
        _table("Low-confidence turns, lowest first", *tables["low_confidence"]),
        '<h2 id="flagged">Answers flagged by agents</h2>',
        (
            _table("Flagged answers", *tables["flagged_answers"])
            if review.flag_queue is not None and review.flag_queue.exists()
            else "<p>No flag queue: the agent console has not flagged any answers "
            f"(looked for {esc(str(review.flag_queue))}).</p>"
        ),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%}" if total else "0%"


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return f"<p>{html.escape(caption)}: none in this period.</p>"
    head = "".join(f'<th scope="col">{html.escape(str(name))}</th>' for name in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{value}</td>'
            if isinstance(value, int)
            else f"<td>{html.escape(str(value))}</td>"
            for value in row
        )
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def period(
    since: Optional[str], until: Optional[str], now: Optional[datetime] = None
) -> Tuple[datetime, datetime]:
    """The period's start and end (UTC). UNTIL is inclusive: its whole day is in."""
    now = now or datetime.now(timezone.utc)
    end = (
        datetime.combine(date.fromisoformat(until), time(0), timezone.utc) + timedelta(days=1)
        if until
        else now
    )
    start = (
        datetime.combine(date.fromisoformat(since), time(0), timezone.utc)
        if since
        else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise ValueError("SINCE must be before UNTIL")
    return start, end


def render(
    url: str, since: datetime, until: datetime, flag_queue: Optional[Path] = None
) -> Tuple[Review, Dict[str, Tuple[List[str], List[List[Any]]]], bytes, str]:
    """The review of the period: what was found, its tables, the chart (PNG) and the page (HTML)."""
    review = collect(url, since, until)
    review.flag_queue = flag_queue or Path(os.environ.get(FLAG_QUEUE_ENV) or DEFAULT_FLAG_QUEUE)
    review.flags = read_flags(review.flag_queue, since, until)
    tables = table_rows(review)
    chart = chart_png(review, *tables["volume_by_day"])
    return review, tables, chart, render_html(review, tables, chart, url)


def build(
    url: str, since: datetime, until: datetime, out_dir: Path = OUT_DIR, flag_queue: Optional[Path] = None
) -> Review:
    """Collect the review and write every file; returns what it found."""
    review, tables, chart, page = render(url, since, until, flag_queue)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in tables.items():
        write_csv(out_dir / f"{name}.csv", header, rows)
    (out_dir / "volume.png").write_bytes(chart)
    (out_dir / "candidate_nlu.yml").write_text(candidate_nlu(review.clusters), encoding="utf-8")
    (out_dir / "report.html").write_text(page, encoding="utf-8")
    return review


# What the agent console's Review tab shows, in order: (table, title).
CONSOLE_TABLES = (
    ("unanswered_clusters", "Unanswered questions, grouped"),
    ("unhelpful_answers", "Answers rated by members, by rule id"),
    ("flagged_answers", "Answers flagged by agents"),
    ("volume_by_outcome", "Turns by outcome"),
    ("volume_by_topic", "Turns by topic"),
    ("volume_by_day", "Turns per day"),
    ("volume_by_channel", "Turns by channel"),
    ("volume_by_language", "Turns by language"),
    ("low_confidence", "Low-confidence turns, lowest first"),
)


def console_summary(url: str, since: datetime, until: datetime) -> Dict[str, Any]:
    """The review as the agent console's Review tab shows it: figures, tables and the full page."""
    review, tables, _, page = render(url, since, until)
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "summary": [
            ["Conversations", review.conversations],
            ["Member turns", review.turns],
            [
                "Fell back (share of member messages)",
                _share(review.by_outcome["fallback"], review.messages()),
            ],
            [
                "Out of scope (share of member messages)",
                _share(review.by_outcome["out_of_scope"], review.messages()),
            ],
            ["Low-confidence turns", review.low_confidence_count],
            ["Answer ratings", review.ratings_total],
        ],
        "retention": retention_text(url),
        "tables": [
            {"title": title, "columns": tables[name][0], "rows": tables[name][1]}
            for name, title in CONSOLE_TABLES
        ],
        "html": page,
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default=os.environ.get("SINCE") or None, help="YYYY-MM-DD (UTC)")
    parser.add_argument("--until", default=os.environ.get("UNTIL") or None, help="YYYY-MM-DD, inclusive")
    parser.add_argument("--store", default=None, help="tracker store URL (default: TRACKER_STORE_URL)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    try:
        since, until = period(args.since, args.until)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    url = store_url(args.store)
    missing = missing_sqlite_file(url)
    if missing:
        print(
            f"error: no tracker store at {missing}: `make run` creates it with the first conversation",
            file=sys.stderr,
        )
        return 1
    review = build(url, since, until, args.out)
    print(
        f"{review.conversations} conversations, {review.turns} turns, {len(review.clusters)} clusters of "
        f"unanswered questions, {review.ratings_total} ratings: wrote {args.out / 'report.html'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
