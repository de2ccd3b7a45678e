"""`make bench TARGET=review`: the review report on a generated store of many conversations.

Generates CONVERSATIONS conversations (default 100,000) spread over the last
7 days in Rasa's SQL tracker-store schema (the table Rasa's own
SQLTrackerStore creates, filled with events shaped as Rasa stores them:
coverage answers, fallbacks, out-of-scope and other-service questions,
ratings), in SQLite and, when it answers, in a fresh Postgres database; then
runs `tools/review.py` on each in a child process and reports wall time and
the child's peak memory (maximum resident set size). A benchmark, not a test:
it asserts nothing. Figures go to bench-results/review.json and review.md.
"""

import csv
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from sqlalchemy.engine import make_url

from launch.paths import PROJECT_DIR
from launch.servers import VENV_BIN, quiet_env

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BENCH_DATABASE = "review_bench"
Row = Tuple[str, str, float, Optional[str], Optional[str], str]

ANSWERED = [
    ("ask_referral", "do i need a referral for massage therapy", "referral", "referral.hmo"),
    ("ask_spa_wellness", "is massage at a spa covered", "spa_wellness", "spa_wellness.any"),
    (
        "ask_therapy_massage",
        "is massage covered in physical therapy",
        "therapy_massage",
        "therapy_massage.any",
    ),
    ("ask_prior_authorization", "do i need prior auth for massage", "prior_authorization", "prior_auth.any"),
    ("ask_visit_limits", "how many massage visits do i get", "visit_limits", "visit_limits.any"),
]
UNANSWERED = [
    ("ask_other_service", "utter_other_service", ["is chiropractic covered", "does my plan cover acupuncture",
                                                   "are dental cleanings covered", "is cupping covered"]),
    ("out_of_scope", "utter_out_of_scope", ["what is my deductible", "reset my password", "where is my claim",
                                            "find a doctor near me", "whats the weather"]),
    ("nlu_fallback", "utter_default", ["hmm", "asdf", "what about the thing", "ok so what now",
                                       "massage gun reimbursement", "hsa card for massage chair"]),
]  # fmt: skip
NOISE = ["", " please", " thanks", "?", " in texas", " for my kid", " again", " asap", " now"]
REASONS = ["did_not_answer", "hard_to_understand", "wrong_plan"]


def _parsed(intent: str, confidence: float, text: str) -> Dict[str, Any]:
    return {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}


def _event(kind: str, ts: float, **fields: Any) -> Dict[str, Any]:
    return {"event": kind, "timestamp": ts, **fields}


def conversation_rows(rng: random.Random, sender: str, start: float) -> List[Row]:
    """The events of one generated conversation, as rows of Rasa's `events` table."""
    rows: List[Row] = []
    ts = start

    def add(kind: str, intent: Optional[str] = None, action: Optional[str] = None, **fields: Any) -> None:
        nonlocal ts
        ts += rng.uniform(0.05, 2.0)
        event = _event(kind, ts, **fields)
        if action:
            event.update(name=action, policy="RulePolicy", confidence=1.0)
        rows.append((sender, kind, ts, intent, action, json.dumps(event)))

    channel = rng.choice(["rest", "socketio"])
    add("action", action="action_session_start")
    add("session_started")
    add("action", action="action_listen")
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        if rng.random() < 0.75:
            intent, text, topic, rule = rng.choice(ANSWERED)
            text += rng.choice(NOISE)
            confidence = rng.uniform(0.5, 1.0)
            add("user", intent, text=text, input_channel=channel, metadata={},
                parse_data=_parsed(intent, confidence, text))  # fmt: skip
            add("action", action="action_answer_coverage")
            add("bot", text="Answer text for the member.", data={}, metadata={})
            coverage = {"topic": topic, "outcome": "conditional", "state": "TX", "plan_type": "hmo",
                        "rules": [rule], "citations": ["CPCP040"]}  # fmt: skip
            add("bot", text=None, data={"custom": {"coverage": coverage}}, metadata={})
            add("bot", text="For help now, call the number on your ID card.", data={}, metadata={})
            add("slot", name="topic", value=topic)
            add("action", action="action_listen")
            if rng.random() < 0.2:
                reason = rng.choice(["helpful", *REASONS])
                payload = f'/inform{{"feedback": "{reason}"}}'
                add("user", "inform", text=payload, input_channel=channel, metadata={},
                    parse_data=_parsed("inform", 1.0, payload))  # fmt: skip
                add("action", action="action_record_feedback")
                add("bot", text="Thanks for your feedback.", data={}, metadata={})
                record = {"helpful": reason == "helpful", "reason": None if reason == "helpful" else reason,
                          "topic": topic, "outcome": "conditional", "state": "TX", "plan_type": "hmo",
                          "rules": [rule]}  # fmt: skip
                add("slot", name="answer_rating", value=record)
                add("action", action="action_listen")
        else:
            intent, response, texts = rng.choice(UNANSWERED)
            text = rng.choice(texts) + rng.choice(NOISE)
            confidence = rng.uniform(0.2, 0.45) if intent == "nlu_fallback" else rng.uniform(0.45, 1.0)
            add("user", intent, text=text, input_channel=channel, metadata={},
                parse_data=_parsed(intent, confidence, text))  # fmt: skip
            add("action", action=response)
            add("bot", text="Sorry, I can only answer questions about massage therapy.", data={},
                metadata={"utter_action": response})  # fmt: skip
            add("action", action="action_listen")
    return rows


def generated_rows(conversations: int, seed: int = 14) -> Iterator[Row]:
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    first = (now - timedelta(days=7)).timestamp()
    span = 7 * 86400 - 3600
    for number in range(conversations):
        yield from conversation_rows(rng, f"bench-{number:07d}", first + rng.uniform(0, span))


def create_events_table(url: str) -> None:
    """The `events` table exactly as Rasa's SQLTrackerStore creates it."""
    from rasa.core.tracker_store import SQLTrackerStore

    SQLTrackerStore(host=url).engine.dispose()


def fill_sqlite(path: Path, conversations: int) -> int:
    if path.exists():
        path.unlink()
    create_events_table(f"sqlite:///{path}")
    count = 0
    with sqlite3.connect(str(path)) as connection:
        batch: List[Row] = []
        for row in generated_rows(conversations):
            batch.append(row)
            if len(batch) >= 20000:
                connection.executemany(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    batch,
                )
                count += len(batch)
                batch = []
        connection.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            batch,
        )
        count += len(batch)
    return count


def _pg_connect(url: str) -> Any:
    import psycopg2

    parts = make_url(url)
    return psycopg2.connect(
        host=parts.host, port=parts.port or 5432, user=parts.username, dbname=parts.database,
        password=parts.password or None,
    )  # fmt: skip


def fresh_postgres_database(admin_url: str, name: str) -> str:
    """A new, empty database `name` on the admin URL's server; its URL."""
    connection = _pg_connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, name: str) -> None:
    connection = _pg_connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    connection.close()


def fill_postgres(url: str, conversations: int) -> int:
    create_events_table(url)
    connection = _pg_connect(url)
    count = 0
    try:
        with connection.cursor() as cursor:
            buffer = io.StringIO()
            writer = csv.writer(buffer)

            def flush() -> None:
                buffer.seek(0)
                cursor.copy_expert(
                    "COPY events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                    "FROM STDIN WITH (FORMAT csv)",
                    buffer,
                )
                buffer.seek(0)
                buffer.truncate()

            for row in generated_rows(conversations):
                writer.writerow(["" if value is None else value for value in row])
                count += 1
                if count % 50000 == 0:
                    flush()
            flush()
        connection.commit()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE events SET intent_name = NULL WHERE intent_name = ''")
            cursor.execute("UPDATE events SET action_name = NULL WHERE action_name = ''")
        connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE events")
    finally:
        connection.close()
    return count


def run_review(url: str, out_dir: Path) -> Dict[str, Any]:
    """Run `tools/review.py` on the store in a child process: wall time and peak RSS."""
    started = time.monotonic()
    process = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "tools.review", "--store", url, "--out", str(out_dir)],
        cwd=PROJECT_DIR,
        env=quiet_env(),
        stdout=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    output = process.stdout.read().decode() if process.stdout else ""
    if status != 0:
        raise RuntimeError(f"the review failed (status {status}): {output}")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "summary": output.strip(),
    }


def main(conversations: int, out: Path) -> int:
    # Absolute: the review runs in a child process in the project directory.
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: Dict[str, Any] = {"conversations": conversations}
    print(f"generating {conversations} conversations in SQLite...", file=sys.stderr, flush=True)
    db = out / "review-bench.db"
    started = time.monotonic()
    results["events"] = fill_sqlite(db, conversations)
    results["sqlite_fill_s"] = round(time.monotonic() - started, 1)
    print("running the review on SQLite...", file=sys.stderr, flush=True)
    results["sqlite"] = run_review(f"sqlite:///{db}", out / "review-sqlite")
    try:
        url = fresh_postgres_database(POSTGRES_ADMIN_URL, BENCH_DATABASE)
    except Exception as error:  # noqa: BLE001 - Postgres is optional for the bench
        results["postgres"] = f"not measured: {type(error).__name__}: {error}"
    else:
        try:
            print(f"generating {conversations} conversations in Postgres...", file=sys.stderr, flush=True)
            started = time.monotonic()
            fill_postgres(url, conversations)
            results["postgres_fill_s"] = round(time.monotonic() - started, 1)
            print("running the review on Postgres...", file=sys.stderr, flush=True)
            results["postgres"] = run_review(url, out / "review-postgres")
        finally:
            drop_postgres_database(POSTGRES_ADMIN_URL, BENCH_DATABASE)
    db.unlink(missing_ok=True)
    (out / "review.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"# Review report on {conversations:,} generated conversations ({results['events']:,} events)",
        "",
        "| store | report time (s) | peak memory (MB) |",
        "|---|---|---|",
    ]
    for store in ("sqlite", "postgres"):
        result = results.get(store)
        if isinstance(result, dict):
            lines.append(f"| {store} | {result['seconds']} | {result['peak_rss_mb']} |")
        else:
            lines.append(f"| {store} | {result} | |")
    table = "\n".join(lines) + "\n"
    (out / "review.md").write_text(table)
    print(table)
    return 0
