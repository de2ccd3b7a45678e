"""The review report's fixes after the first review, on a small hand-written
SQLite tracker store (Rasa's own `events` schema): which question a "did not
answer my question" rating lists, fallbacks the coverage action sends, repeat
ratings, low-confidence turns, redaction, the widget's own commands, periods
and dates, the flag queue, the command lines' errors, and the Review tab's
answers to bad requests."""

import asyncio
import csv
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from channels import agent_preview
from channels.member_input import PLACEHOLDER as REDACTED
from plan_coverage.feedback import feedback_payload
from tools import purge as purge_cli
from tools import review
from tools.review_bench import create_events_table

NOW = datetime.now(timezone.utc)
TYPED_QUESTION = "is massage covered in texas"
PERSONAL = "joke please, write to jane.doe@example.com"


class Store:
    """Conversations written event by event into an SQLite tracker store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        create_events_table(self.url)
        self.rows: List[Any] = []
        self.at = NOW.timestamp() - 3600

    def event(self, sender: str, kind: str, intent: Optional[str] = None, **fields: Any) -> None:
        self.at += 1
        event = {"event": kind, "timestamp": self.at, **fields}
        action = fields.get("name") if kind == "action" else None
        self.rows.append((sender, kind, self.at, intent, action, json.dumps(event)))

    def user(self, sender: str, text: str, intent: str, confidence: float = 0.95) -> None:
        parse_data = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
        self.event(
            sender, "user", intent, text=text, input_channel="rest", metadata={}, parse_data=parse_data
        )

    def answer(self, sender: str, rule: str, topic: str = "massage_coverage") -> None:
        self.event(sender, "action", name="action_answer_coverage")
        self.event(sender, "bot", text="An answer.", data={}, metadata={})
        coverage = {"topic": topic, "outcome": "covered", "rules": [rule]}
        self.event(sender, "bot", text=None, data={"custom": {"coverage": coverage}}, metadata={})

    def rate(
        self, sender: str, value: str, rules: List[str], topic: Optional[str] = "massage_coverage"
    ) -> None:
        self.user(sender, feedback_payload(value), "inform", 1.0)
        self.event(sender, "action", name="action_record_feedback")
        self.event(sender, "bot", text="Thanks for your feedback.", data={}, metadata={})
        helpful = value == "helpful"
        record = {"helpful": helpful, "reason": None if helpful else value, "topic": topic, "rules": rules}
        self.event(sender, "slot", name="answer_rating", value=record)

    def reply(self, sender: str, action: str) -> None:
        self.event(sender, "action", name=action)
        self.event(sender, "bot", text="Sorry.", data={}, metadata={"utter_action": action})

    def save(self) -> None:
        with sqlite3.connect(self.path) as connection:
            connection.executemany(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                self.rows,
            )


def read_csv(path: Path) -> List[Dict[str, str]]:
    with path.open(encoding="utf-8") as rows:
        return list(csv.DictReader(rows))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("store") / "tracker.db")
    # 1, 3: a typed question, then plan details and a button that re-answer it;
    # the member rates the latest answer twice: only the last rating counts.
    store.user("asked", "/greet", "greet", 1.0)
    store.reply("asked", "utter_greet")
    store.user("asked", TYPED_QUESTION, "ask_massage_coverage")
    store.answer("asked", "massage.tx")
    store.user("asked", "i have a ppo in illinois", "inform")
    store.answer("asked", "massage.il")
    store.user("asked", '/inform{"plan_type": "hmo"}', "inform", 1.0)
    store.answer("asked", "massage.il.hmo")
    store.rate("asked", "helpful", ["massage.il.hmo"])
    store.rate("asked", "did_not_answer", ["massage.il.hmo"])
    # 1: a question asked only by a button: no typed question to list.
    store.user("button", "/ask_referral", "ask_referral", 1.0)
    store.answer("button", "referral.hmo", "referral")
    store.rate("button", "did_not_answer", ["referral.hmo"], "referral")
    # 3: an older store's rating of no answer at all (no rule ids, topic None).
    store.user("early", "/greet", "greet", 1.0)
    store.rate("early", "helpful", [], None)
    # 2: the coverage action itself says it did not understand.
    store.user("default", "massage thingy whatsit", "ask_massage_coverage", 0.7)
    store.event("default", "action", name="action_answer_coverage")
    store.event(
        "default",
        "bot",
        text="Sorry, I did not get that.",
        data={},
        metadata={"utter_action": "utter_default"},
    )
    # 4: a fallback recorded at the threshold, and a real low-confidence answer.
    # Confidences relative to config.yml's threshold, which the curve may move.
    store.user("unsure", "zorblax flimflam", "nlu_fallback", review.fallback_threshold())
    store.reply("unsure", "utter_default")
    store.user("unsure", "massage ok for my back", "ask_massage_coverage", review.fallback_threshold() + 0.05)
    store.answer("unsure", "massage.tx")
    # 9: personal details the channels of the day let through.
    store.user("personal", PERSONAL, "out_of_scope")
    store.reply("personal", "utter_out_of_scope")
    store.save()
    return store


@pytest.fixture(scope="module")
def report(store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review")
    review.build(store.url, NOW - timedelta(days=1), NOW + timedelta(minutes=1), out, flag_queue=out / "none")
    return out


def collected(store: Store) -> review.Review:
    return review.collect(store.url, NOW - timedelta(days=1), NOW + timedelta(minutes=1))


def test_did_not_answer_lists_the_typed_question_never_a_command(store: Store, report: Path) -> None:
    kinds = {entry[1]: dict(entry[2]) for entry in collected(store).unanswered.values()}
    assert kinds[TYPED_QUESTION] == {"did_not_answer": 1}
    assert "i have a ppo in illinois" not in kinds
    assert not [text for text in kinds if text.startswith("/")]
    everything = (report / "unanswered_clusters.csv").read_text() + (report / "candidate_nlu.yml").read_text()
    assert TYPED_QUESTION in everything
    assert "/ask_referral" not in everything and "/inform" not in everything and "illinois" not in everything


def test_utter_default_from_the_coverage_action_is_a_fallback(store: Store) -> None:
    result = collected(store)
    # "massage thingy whatsit" (utter_default from the coverage action) and "zorblax flimflam".
    assert result.by_outcome["fallback"] == 2
    assert "massage thingy whatsit" in {entry[1] for entry in result.unanswered.values()}


def test_only_the_last_rating_of_an_answer_counts(store: Store, report: Path) -> None:
    result = collected(store)
    assert result.ratings_total == 2
    rated = result.ratings["massage.il.hmo"]
    assert (rated.helpful, rated.unhelpful, dict(rated.reasons)) == (0, 1, {"did_not_answer": 1})
    rows = {row["rule id"]: row for row in read_csv(report / "unhelpful_answers.csv")}
    assert set(rows) == {"massage.il.hmo", "referral.hmo"}
    assert "None" not in (report / "unhelpful_answers.csv").read_text()
    assert "None" not in (report / "volume_by_topic.csv").read_text()


def test_fallbacks_are_not_low_confidence_turns(store: Store) -> None:
    result = collected(store)
    texts = [item[4] for item in result.low_confidence]
    assert texts == ["massage ok for my back"]
    assert result.low_confidence_count == 1


def test_member_text_is_redacted_again_and_placeholders_stay_out_of_candidates(report: Path) -> None:
    page = (report / "report.html").read_text()
    assert "jane.doe@example.com" not in page and REDACTED in page
    assert REDACTED in (report / "unanswered_clusters.csv").read_text()
    candidates = (report / "candidate_nlu.yml").read_text()
    assert REDACTED not in candidates and "joke please" not in candidates


def test_widget_commands_and_buttons_are_not_member_messages_in_the_shares(store: Store) -> None:
    result = collected(store)
    # Typed: the coverage question, "i have a ppo...", the two fallbacks, the
    # low-confidence question, the out-of-scope one. Not "/greet", buttons or ratings.
    assert result.messages() == 6
    assert (result.share("fallback"), result.share("out_of_scope")) == ("33.3%", "16.7%")


def test_the_outcomes_are_explained(report: Path) -> None:
    page = (report / "report.html").read_text()
    assert "What the outcomes mean" in page
    for outcome in ("conversation", "other_service", "out_of_scope", "feedback", "fallback"):
        assert f"<dt><code>{outcome}</code></dt>" in page


def test_far_dates_are_refused_naming_the_date() -> None:
    with pytest.raises(ValueError, match="UNTIL must be between"):
        review.period(None, "9999-12-31")
    with pytest.raises(ValueError, match="SINCE must be between"):
        review.period("0001-01-01", "2026-11-30")
    with pytest.raises(ValueError, match="UNTIL must be a date as YYYY-MM-DD, not '2026-13-01'"):
        review.period("2026-11-01", "2026-13-01")
    with pytest.raises(ValueError, match="SINCE .* must not be after UNTIL"):
        review.period("2026-12-01", "2026-11-30")
    # Spaces around a date are dropped; the widest period allowed works.
    since, until = review.period(" 2026-11-30 ", "2026-11-30 ")
    assert (since.isoformat(), until.isoformat()) == (
        "2026-11-30T00:00:00+00:00",
        "2026-12-01T00:00:00+00:00",
    )
    review.period(review.FIRST_DAY.isoformat(), review.LAST_DAY.isoformat())


def test_the_heading_names_the_last_day_included(store: Store, tmp_path: Path) -> None:
    since, until = review.period("2026-11-30", "2026-11-30")
    review.build(store.url, since, until, tmp_path, flag_queue=tmp_path / "none")
    page = (tmp_path / "report.html").read_text()
    assert "<h1>What members asked, 2026-11-30</h1>" in page and "2026-12-01</h1>" not in page
    since, until = review.period("2026-11-24", "2026-11-30")
    review.build(store.url, since, until, tmp_path, flag_queue=tmp_path / "none")
    assert "<h1>What members asked, 2026-11-24 to 2026-11-30</h1>" in (tmp_path / "report.html").read_text()


def test_a_long_period_lists_only_the_days_with_turns(store: Store, tmp_path: Path) -> None:
    since, until = review.period(review.FIRST_DAY.isoformat(), review.LAST_DAY.isoformat())
    review.build(store.url, since, until, tmp_path, flag_queue=tmp_path / "none")
    days = read_csv(tmp_path / "volume_by_day.csv")
    assert 1 <= len(days) <= 2 and sum(int(day["turns"]) for day in days) > 0


def test_the_flag_queue_is_checked_formatted_and_redacted(store: Store, tmp_path: Path) -> None:
    queue = tmp_path / "flags.jsonl"
    at = NOW.timestamp() - 60
    lines = [
        {
            "rules": ["referral.hmo"],
            "time": at,
            "question": "my id is XOF123456789, referral?",
            "note": "wrong",
        },
        {"rules": ["massage.tx"], "time": NOW.isoformat(), "state": "TX"},
        {"rules": "referral.hmo"},
        {"rules": [1, 2]},
        {"rules": ["x"], "time": "yesterday"},
        {"rules": ["x"], "question": {"text": "?"}},
        ["not", "a", "flag"],
    ]
    queue.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n\n")
    review.build(store.url, NOW - timedelta(days=1), NOW + timedelta(minutes=1), tmp_path, flag_queue=queue)
    flags = read_csv(tmp_path / "flagged_answers.csv")
    assert [flag["rule ids"] for flag in flags] == ["referral.hmo", "massage.tx"]
    assert flags[0]["time"] == f"{datetime.fromtimestamp(at, timezone.utc):%Y-%m-%d %H:%M} UTC"
    assert "XOF" not in flags[0]["question"] and flags[0]["question"].endswith(f"{REDACTED}, referral?")
    assert "XOF123456789" not in (tmp_path / "report.html").read_text()
    assert "6 lines of the flag queue skipped" in (tmp_path / "report.html").read_text()


def run_review(capsys: pytest.CaptureFixture, *args: str) -> "tuple[int, str]":
    code = review.main(list(args))
    captured = capsys.readouterr()
    return code, captured.err


def test_review_command_line_errors(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNTIL", "9999-12-31")
    monkeypatch.delenv("SINCE", raising=False)
    code, err = run_review(capsys, "--store", store.url, "--out", str(tmp_path))
    assert code == 2 and err.startswith("error: UNTIL must be between") and "Traceback" not in err
    monkeypatch.setenv("UNTIL", " 2026-11-30 ")
    monkeypatch.setenv("SINCE", "2026-11-3O")
    code, err = run_review(capsys, "--store", store.url, "--out", str(tmp_path))
    assert code == 2 and "SINCE must be a date" in err
    monkeypatch.delenv("SINCE")
    monkeypatch.delenv("UNTIL")
    # A report made, then stores that cannot be read: one line each, the report kept.
    assert review.main(["--store", store.url, "--out", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("these are not the events you are looking for\n" * 100)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    unreachable = "postgresql://review:secret@127.0.0.1:9/rasa"
    for url, message in [
        (f"sqlite:///{not_a_database}", "cannot read the tracker store"),
        (f"sqlite:///{empty}", "has no `events` table"),
        (unreachable, "cannot read the tracker store postgresql://review:***@127.0.0.1:9/rasa"),
    ]:
        code, err = run_review(capsys, "--store", url, "--out", str(tmp_path))
        assert code == 1 and message in err, err
        assert len(err.strip().splitlines()) == 1 and "secret" not in err
        assert (tmp_path / "report.html").read_text() == page


def test_purge_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    for days in ("0", "-1", "abc"):
        monkeypatch.setenv("DAYS", days)
        assert purge_cli.main(["--store", url]) == 2
        assert f"not '{days}'" in capsys.readouterr().err
    store = Store(tmp_path / "tracker.db")
    store.at = NOW.timestamp() - 40 * 86400
    store.user("old", "hello", "greet")
    store.save()
    monkeypatch.setenv("DAYS", " 30 ")
    assert purge_cli.main(["--store", url]) == 0
    assert capsys.readouterr().out.startswith("Deleted 1 conversation (1 event) whose")


class FakeRequest:
    """What review_response reads of a Sanic request."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    @property
    def json(self) -> Any:
        from sanic.exceptions import InvalidUsage as BadRequest

        try:
            return json.loads(self.body)
        except ValueError as error:
            raise BadRequest("Failed when parsing body as json") from error


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", "the body must be JSON"),
        (b"[1]", "the body must be a JSON object"),
        (b'{"since": "0001-01-01", "until": "9999-12-31"}', "`since` must be between"),
        (b'{"until": "9999-12-31"}', "`until` must be between"),
        (b'{"since": 20261101}', "`since` must be a date"),
    ],
)
def test_the_review_tab_answers_bad_requests_with_json(body: bytes, reason: str) -> None:
    reply = asyncio.run(agent_preview.review_response(FakeRequest(body)))  # type: ignore[arg-type]
    assert reply.status == 400
    assert reply.content_type == "application/json"
    assert json.loads(reply.body)["error"].startswith(reason)
