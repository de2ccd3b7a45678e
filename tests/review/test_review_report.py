"""The review report on a generated SQLite tracker store (Rasa's own schema,
tools/review_bench.py): its numbers add up, member text is escaped, the flag
queue is read, periods are parsed, and the clustering's measured quality."""

import csv
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List

import pytest

from tools import review
from tools.review_bench import fill_sqlite
from tools.review_clusters import measure

CONVERSATIONS = 300


def read_csv(path: Path) -> List[Dict[str, str]]:
    with path.open(encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    db = root / "tracker.db"
    fill_sqlite(db, CONVERSATIONS)
    with sqlite3.connect(db) as connection:
        at = datetime.now(timezone.utc).timestamp() - 60
        event = {
            "event": "user",
            "timestamp": at,
            "text": "<script>alert(1)</script> what is the weather",
            "input_channel": "rest",
            "parse_data": {"intent": {"name": "out_of_scope", "confidence": 0.9}, "entities": []},
        }
        connection.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES ('markup-1', 'user', ?, 'out_of_scope', NULL, ?)",
            (at, json.dumps(event)),
        )
    flags = root / "flags.jsonl"
    flags.write_text(
        json.dumps({"rules": ["referral.hmo"], "question": "do i need a referral", "note": "wrong plan"})
        + "\nnot json\n"
    )
    now = datetime.now(timezone.utc)
    out = root / "review"
    review.build(
        f"sqlite:///{db}", now - timedelta(days=8), now + timedelta(minutes=1), out, flag_queue=flags
    )
    return out


def test_every_turn_is_counted_once(report: Path) -> None:
    by_outcome = read_csv(report / "volume_by_outcome.csv")
    total = sum(int(row["turns"]) for row in by_outcome)
    by_day = read_csv(report / "volume_by_day.csv")
    assert sum(int(row["turns"]) for row in by_day) == total
    assert sum(int(row["turns"]) for row in read_csv(report / "volume_by_channel.csv")) == total
    assert sum(int(row["turns"]) for row in read_csv(report / "volume_by_language.csv")) == total
    feedback = next(int(row["turns"]) for row in by_outcome if row["outcome"] == "feedback")
    assert sum(int(row["turns"]) for row in read_csv(report / "volume_by_topic.csv")) == total - feedback
    assert {row["outcome"] for row in by_outcome} >= {"answered", "fallback", "out_of_scope", "other_service"}


def test_ratings_by_rule_add_up(report: Path) -> None:
    rows = read_csv(report / "unhelpful_answers.csv")
    assert rows
    for row in rows:
        assert int(row["ratings"]) == int(row["helpful"]) + int(row["unhelpful"])
        reasons = sum(int(row[name]) for name in review.REASONS.values())
        assert reasons == int(row["unhelpful"])


def test_unanswered_questions_are_clustered(report: Path) -> None:
    clusters = read_csv(report / "unanswered_clusters.csv")
    assert clusters
    examples = " ".join(row["examples (count)"] for row in clusters)
    assert "reset my password" in examples and "acupuncture" in examples
    candidates = (report / "candidate_nlu.yml").read_text()
    assert candidates.startswith('version: "3.1"') and "review_candidate_001" in candidates


def test_member_text_is_escaped_and_the_page_self_contained(report: Path) -> None:
    page = (report / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert 'alt="Bar chart' in page and "data:image/png;base64," in page
    assert (report / "volume.png").read_bytes().startswith(b"\x89PNG")


def test_the_flag_queue_is_read(report: Path) -> None:
    [flag] = read_csv(report / "flagged_answers.csv")
    assert (flag["rule ids"], flag["note"]) == ("referral.hmo", "wrong plan")
    assert "wrong plan" in (report / "report.html").read_text()


def test_periods() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    # No dates and UNTIL alone give the same kind of window: 7 whole days, the last one included.
    today = datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert review.period(None, None, now) == (today - timedelta(days=6), today + timedelta(days=1))
    assert review.period(None, "2026-11-30", now) == review.period(None, None, now)
    since, until = review.period("2026-11-01", "2026-11-07", now)
    assert (since.isoformat(), until.isoformat()) == (
        "2026-11-01T00:00:00+00:00",
        "2026-11-08T00:00:00+00:00",
    )
    with pytest.raises(ValueError):
        review.period("2026-11-08", "2026-11-01", now)


def test_clustering_quality_on_the_held_out_sample() -> None:
    # Measured, not tuned on: the floor sits just under today's figures
    # (adjusted Rand 0.66, V-measure 0.87); a change that groups worse fails.
    quality = measure("held_out")
    assert quality["adjusted_rand"] >= 0.6
    assert quality["v_measure"] >= 0.85
