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

Member text: the member channels replaced personal details before storing it
(channels/member_input.py), and the report applies that redaction again,
with today's rules, to every member text it shows (older rules may have let
something through). Candidate NLU examples holding a placeholder are left out.
"""

import argparse
import base64
import csv
import heapq
import html
import io
import json
import os
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml
from sqlalchemy.exc import DatabaseError

from channels.member_input import redact_personal_details
from launch.paths import PROJECT_DIR
from plan_coverage.feedback import DID_NOT_ANSWER, FEEDBACK_ACTION, FEEDBACK_SLOT, REASONS
from tools.flag_queue import FLAG_COLUMNS, flag_rows, queue_path, read_flags
from tools.review_clusters import DISTANCE_THRESHOLD, Cluster, cluster_questions, measure, normalise
from tools.review_store import (
    EventRow,
    checked_store,
    database_reason,
    engine_for,
    has_events_table,
    last_purge,
    oldest_event,
    shown_url,
    stream_events,
)

OUT_DIR = PROJECT_DIR / "review"
CONFIG = PROJECT_DIR / "config.yml"
DEFAULT_DAYS = 7
# Periods this long or longer list only the days between their first and last turn.
MAX_DAYS_LISTED = 366
# A turn is "low confidence" when NLU's intent confidence is below the
# FallbackClassifier's threshold (config.yml) plus this margin: answered, but
# close to falling back.
LOW_CONFIDENCE_MARGIN = 0.15
LOW_CONFIDENCE_SHOWN = 200
RETENTION_ENV = "RETENTION_DAYS"
# What a turn's outcome is called, and which count as unanswered.
UNANSWERED = ("fallback", "out_of_scope", "other_service")
OUTCOME_INTENTS = {
    "nlu_fallback": "fallback",
    "out_of_scope": "out_of_scope",
    "ask_other_service": "other_service",
    "human_handoff": "handoff",
}
# What each outcome means, in plain words for content owners.
OUTCOME_LEGEND = {
    "answered": "the assistant gave a coverage answer",
    "fallback": "the assistant did not understand the message and asked the member to rephrase",
    "out_of_scope": "a question about something else than massage-therapy coverage",
    "other_service": "a question about another Blue Cross service (claims, ID cards, passwords...), "
    "sent to the right place",
    "unavailable": "a coverage question the rules have no answer for yet",
    "handoff": "the member asked for a person",
    "feedback": "the member rated an answer (Was this helpful?)",
    "conversation": "greetings, thanks, plan details (state, plan type) and other small talk: "
    "nothing to answer",
}
NOT_UNDERSTOOD = "utter_default"
FALLBACK_ACTIONS = {"action_default_fallback", NOT_UNDERSTOOD}
UNAVAILABLE = "utter_answer_unavailable"


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
    # A bot message sent as utter_default (not understood), whoever sent it:
    # the coverage action sends it too when it cannot tell what was asked.
    not_understood: bool = False

    def outcome(self) -> str:
        if FEEDBACK_ACTION in self.actions:
            return "feedback"
        if self.coverage is not None:
            return "answered"
        if self.unavailable:
            return "unavailable"
        if self.intent == "nlu_fallback" or self.not_understood or FALLBACK_ACTIONS & set(self.actions):
            return "fallback"
        return OUTCOME_INTENTS.get(self.intent, "conversation")

    def topic(self) -> str:
        if self.coverage is not None and self.coverage.get("topic"):
            return str(self.coverage.get("topic"))
        if self.intent.startswith("ask_") and self.intent != "ask_other_service":
            return self.intent[len("ask_") :]
        return f"({self.outcome()})"

    def is_question(self) -> bool:
        """A question the member typed about a topic (not a button, not small talk)."""
        return not self.is_command and self.intent.startswith("ask_")


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
    # Outcomes of the messages members typed: buttons, ratings and the
    # widget's own commands (such as its automatic "/greet") left out.
    typed_outcomes: Counter = field(default_factory=Counter)
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
    flags_skipped: int = 0
    flag_queue: Optional[Path] = None

    def messages(self) -> int:
        """Messages members typed: what the fallback and out-of-scope shares are of."""
        return sum(self.typed_outcomes.values())

    def share(self, outcome: str) -> str:
        """The share of typed member messages with this outcome."""
        return _share(self.typed_outcomes[outcome], self.messages())


def shown_text(text: str) -> str:
    """Member text as the report shows it: the channels' redaction applied again.

    The store holds text the channels already redacted, but with the rules of
    the day it was stored; applying today's rules again catches what older
    rules let through.
    """
    return redact_personal_details(text).text


class Collector:
    """Turns the stream of events into the review, one conversation's open turn at a time."""

    def __init__(self, review: Review, low_confidence_below: float) -> None:
        self.review = review
        self.low_confidence_below = low_confidence_below
        self.open_turns: Dict[str, Turn] = {}
        # The last question each conversation's member typed (an ask_* intent,
        # not a button or command), and the one its latest coverage answer answered.
        self.last_question: Dict[str, str] = {}
        self.answered_question: Dict[str, Optional[str]] = {}
        # How many coverage answers each conversation has had: answer n is rated
        # by the ratings that follow it; only the last rating of each counts.
        self.answers_seen: Dict[str, int] = defaultdict(int)
        self.last_ratings: Dict[Tuple[str, int], Tuple[Dict[str, Any], Optional[str]]] = {}
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
                    self.answers_seen[row.sender_id] += 1
                    self.answered_question[row.sender_id] = self.last_question.get(row.sender_id)
            elif UNAVAILABLE in row.data:
                turn.unavailable = True
            elif NOT_UNDERSTOOD in row.data:
                metadata = json.loads(row.data).get("metadata") or {}
                if isinstance(metadata, dict) and metadata.get("utter_action") == NOT_UNDERSTOOD:
                    turn.not_understood = True
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
        turn = self.open_turns[row.sender_id] = Turn(
            day=datetime.fromtimestamp(row.timestamp, timezone.utc).date(),
            text=text,
            intent=str(intent.get("name") or row.intent_name or ""),
            confidence=intent.get("confidence"),
            channel=str(event.get("input_channel") or "unknown"),
            language=str(metadata.get("language") or parse_data.get("language") or self.default_language),
            is_command=text.strip().startswith("/"),
        )
        if turn.is_question():
            self.last_question[row.sender_id] = text

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
        if turn.is_command:
            return
        review.typed_outcomes[outcome] += 1
        if outcome in UNANSWERED:
            self._unanswered(turn.text, outcome)
        # A fallback's confidence is the threshold Rasa records, not the
        # classifier's: fallbacks are counted as such, not as low confidence.
        if (
            outcome != "fallback"
            and isinstance(turn.confidence, (int, float))
            and turn.confidence < self.low_confidence_below
        ):
            review.low_confidence_count += 1
            self.order += 1
            item = (
                -float(turn.confidence),
                self.order,
                turn.day.isoformat(),
                turn.intent,
                shown_text(turn.text),
            )
            if len(review.low_confidence) < LOW_CONFIDENCE_SHOWN:
                heapq.heappush(review.low_confidence, item)
            else:
                heapq.heappushpop(review.low_confidence, item)

    def _unanswered(self, text: str, kind: str) -> None:
        if text.strip().startswith("/"):
            return
        text = shown_text(text)
        key = normalise(text)
        if not key:
            return
        entry = self.review.unanswered.get(key)
        if entry is None:
            entry = self.review.unanswered[key] = [0, text, Counter()]
        entry[0] += 1
        entry[2][kind] += 1

    def _rating(self, sender_id: str, value: Mapping[str, Any]) -> None:
        # A rating with no rated answer (older stores kept them) says nothing
        # about any answer.
        if not value.get("rules"):
            return
        answer = (sender_id, self.answers_seen[sender_id])
        self.last_ratings[answer] = (dict(value), self.answered_question.get(sender_id))

    def _count_ratings(self) -> None:
        """Each conversation's last rating of each answer, counted by rule id."""
        for value, question in self.last_ratings.values():
            self.review.ratings_total += 1
            reason = value.get("reason")
            topic = value.get("topic")
            for rule in [str(rule) for rule in value.get("rules") or []]:
                rated = self.review.ratings[rule]
                if topic:
                    rated.topics[str(topic)] += 1
                if value.get("helpful"):
                    rated.helpful += 1
                else:
                    rated.unhelpful += 1
                    rated.reasons[str(reason or "no reason given")] += 1
            if reason == DID_NOT_ANSWER and question:
                self._unanswered(question, "did_not_answer")

    def finish(self) -> None:
        for sender_id in list(self.open_turns):
            self._close(sender_id)
        self._count_ratings()
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
    day, end = review.since.date(), last_day(review)
    if (end - day).days >= MAX_DAYS_LISTED:
        # A long period (SINCE=1970-01-01) lists the days from its first to its
        # last turn, not every empty day since.
        if review.by_day:
            day, end = max(day, min(review.by_day)), min(end, max(review.by_day))
        else:
            end = day - timedelta(days=1)
    while day <= end:
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
    flags = flag_rows(review.flags)
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
        "flagged_answers": (FLAG_COLUMNS, flags),
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


# A redaction placeholder (channels/member_input.py PLACEHOLDER, "[…]", or an older store's "[email]"):
# an example holding one teaches the model a word no member types.
PLACEHOLDER = re.compile(r"\[[^\[\]]+\]")


def candidate_nlu(clusters: Sequence[Cluster]) -> str:
    """Unanswered questions as Rasa NLU YAML, one placeholder intent per cluster.

    Questions holding a redaction placeholder are left out (and a cluster of
    only such questions with them): they are not what members type.
    """
    lines = [
        'version: "3.1"',
        "# CANDIDATE training examples from `make review`, for an engineer to review.",
        "# NOT training data: nothing adds this file to data/. Rename each intent to a",
        "# real one (or drop it), check every example, keep the held-out set apart.",
        "nlu:",
    ]
    for number, cluster in enumerate(clusters, 1):
        if all(PLACEHOLDER.search(question) for question in cluster.questions):
            continue
        lines.append(f"  # cluster {number}: {cluster.count} questions ({cluster.label})")
        lines.append(f"  - intent: review_candidate_{number:03d}")
        lines.append("    examples: |")
        for question in dict.fromkeys(cluster.questions):
            if not PLACEHOLDER.search(question):
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
dl.legend dt{font-weight:600;margin-top:.3rem}dl.legend dd{margin-left:1.5rem}
img{max-width:100%;height:auto}.note{color:#3d4247}a{color:#0b4f8a}
"""


def render_html(
    review: Review, tables: Dict[str, Tuple[List[str], List[List[Any]]]], chart: bytes, url: str
) -> str:
    esc = html.escape
    fallback_share = review.share("fallback")
    out_of_scope_share = review.share("out_of_scope")
    unhelpful = sum(rated.unhelpful for rule, rated in review.ratings.items())
    quality = measure()
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Review: member questions {period_text(review)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>What members asked, {period_text(review)}</h1>",
        f'<p class="note">From the tracker store {esc(shown_url(url))}, period from '
        f"{review.since:%Y-%m-%d %H:%M} UTC up to (not including) {review.until:%Y-%m-%d %H:%M} UTC. "
        "Member messages are shown redacted: the assistant replaced personal details "
        "(member IDs, SSNs, dates, phone numbers, emails...) before storing them, and the report "
        "applies the same redaction again, with today's rules, to every message it shows.</p>",
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
        _legend(),
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
        (
            f"<p>{review.flags_skipped} {_plural(review.flags_skipped, 'line')} of the flag queue "
            "skipped: not a flag (a JSON object with a list of rule ids, and a valid time if any).</p>"
            if review.flags_skipped
            else ""
        ),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def period_text(review: Review) -> str:
    """The period's days as the heading says them, both ends included."""
    first, last = review.since.date(), last_day(review)
    return f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"


def _legend() -> str:
    items = "".join(
        f"<dt><code>{html.escape(name)}</code></dt><dd>{html.escape(meaning)}</dd>"
        for name, meaning in OUTCOME_LEGEND.items()
    )
    return f'<h3 id="outcomes">What the outcomes mean</h3><dl class="legend">{items}</dl>'


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


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


# The dates a period may name: far enough apart for any real store, and
# every one a datetime can turn into a timestamp (9999-12-31 plus a day cannot).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)


def parse_day(value: Optional[str], name: str) -> Optional[date]:
    """A YYYY-MM-DD date between FIRST_DAY and LAST_DAY, or None when empty.

    `name` is what the caller called it (SINCE, or `since` on the Review tab),
    so the error says which date is wrong.
    """
    if value is None or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be a date as YYYY-MM-DD, not {value.strip()!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, not {day}")
    return day


def period(
    since: Optional[str],
    until: Optional[str],
    now: Optional[datetime] = None,
    names: Tuple[str, str] = ("SINCE", "UNTIL"),
) -> Tuple[datetime, datetime]:
    """The period's start and end (UTC): whole days, UNTIL inclusive.

    Without UNTIL the period ends with today (UTC); without SINCE it is the
    DEFAULT_DAYS days up to and including UNTIL. So no dates at all and UNTIL
    alone give the same kind of window: 7 whole days, the last one UNTIL (or
    today). Raises ValueError naming the date that is wrong.
    """
    now = now or datetime.now(timezone.utc)
    first = parse_day(since, names[0])
    last = parse_day(until, names[1]) or now.date()
    end = datetime.combine(last, time(0), timezone.utc) + timedelta(days=1)
    start = datetime.combine(first, time(0), timezone.utc) if first else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ValueError(f"{names[0]} ({start.date()}) must not be after {names[1]} ({last})")
    return start, end


def last_day(review: Review) -> date:
    """The period's last day (its end is the midnight after it)."""
    return (review.until - timedelta(microseconds=1)).date()


def render(
    url: str, since: datetime, until: datetime, flag_queue: Optional[Path] = None
) -> Tuple[Review, Dict[str, Tuple[List[str], List[List[Any]]]], bytes, str]:
    """The review of the period: what was found, its tables, the chart (PNG) and the page (HTML)."""
    review = collect(url, since, until)
    review.flag_queue = flag_queue or queue_path()
    review.flags, review.flags_skipped = read_flags(review.flag_queue, since, until)
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
                review.share("fallback"),
            ],
            [
                "Out of scope (share of member messages)",
                review.share("out_of_scope"),
            ],
            ["Low-confidence turns", review.low_confidence_count],
            ["Answer ratings", review.ratings_total],
        ],
        "retention": retention_text(url),
        "outcomes": [[name, meaning] for name, meaning in OUTCOME_LEGEND.items()],
        "tables": [
            {"title": title, "columns": tables[name][0], "rows": tables[name][1]}
            for name, title in CONSOLE_TABLES
        ],
        "html": page,
    }


def store_problem(url: str) -> Optional[str]:
    """Why the store cannot be reviewed (no `events` table), else None.

    Raises SQLAlchemy's DatabaseError when the database cannot be reached or
    is not a database at all.
    """
    engine = engine_for(url)
    try:
        if not has_events_table(engine):
            return (
                f"{shown_url(url)} has no `events` table: not a Rasa tracker store, "
                "or no conversation has been stored in it yet"
            )
    finally:
        engine.dispose()
    return None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default=os.environ.get("SINCE"), help="YYYY-MM-DD (UTC)")
    parser.add_argument("--until", default=os.environ.get("UNTIL"), help="YYYY-MM-DD, inclusive")
    parser.add_argument("--store", default=None, help="tracker store URL (default: TRACKER_STORE_URL)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    try:
        since, until = period(args.since, args.until)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        url, missing = checked_store(args.store)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if missing:
        print(
            f"error: no tracker store at {missing}: `make run` creates it with the first conversation",
            file=sys.stderr,
        )
        return 1
    review: Optional[Review] = None
    try:
        problem = store_problem(url)
        if problem is None:
            review = build(url, since, until, args.out)
    except DatabaseError as error:
        problem = f"cannot read the tracker store {shown_url(url)}: {database_reason(error)}"
    if review is None:
        # The previous report stays as it was: nothing written.
        print(f"error: {problem}", file=sys.stderr)
        return 1
    print(
        f"{review.conversations} conversations, {review.turns} turns, {len(review.clusters)} clusters of "
        f"unanswered questions, {review.ratings_total} ratings: wrote {args.out / 'report.html'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
