"""The agents' flag queue: what a flag stores, redacted, and how readers take it back."""

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from channels.member_input import PLACEHOLDER as REDACTED
from plan_coverage.engine import PlanContext, load_rules
from plan_coverage.replies import answer_messages
from tools.flag_queue import (
    FLAG_COLUMNS,
    answer_as_text,
    append_flag,
    flag_record,
    flag_rows,
    new_flag,
    read_flags,
)

RULES = load_rules()
MEMBER_ID, PHONE = "XOF839201557", "(312) 555-0187"


def therapy_answer_text() -> str:
    answer = RULES.answer("therapy_massage", PlanContext(state="TX", plan_type="hmo"))
    return answer_as_text(answer_messages(RULES, answer))


def test_a_flag_keeps_the_question_and_note_without_personal_details() -> None:
    flag = new_flag(
        rules=["therapy_massage.general"],
        question=f"my member id is {MEMBER_ID}, is massage in physical therapy covered?",
        state="TX",
        plan_type="hmo",
        history=[f"call me at {PHONE}", "i have a texas hmo"],
        answer=therapy_answer_text(),
        note=f"Member {MEMBER_ID} called from {PHONE}: the TX HMO list is missing",
        intent="ask_therapy_massage",
        at=datetime(2026, 11, 30, 9, 15, 30, 123, tzinfo=timezone.utc),
    )
    stored = json.dumps(flag)
    for secret in ("839201557", "555-0187", "5550187"):
        assert secret not in stored
    assert flag["question"] == f"{REDACTED}, is massage in physical therapy covered?"
    assert flag["note"].endswith(": the TX HMO list is missing") and REDACTED in flag["note"]
    assert flag["history"] == [f"call me at {REDACTED}", "i have a texas hmo"]
    assert flag["time"] == "2026-11-30T09:15:30+00:00"
    # The assistant's own answer is kept word for word: redaction would take
    # "Policy THE803.010" for a policy number.
    assert "Medical Policy THE803.010" in flag["answer"]


def test_the_answer_as_text_has_its_references_and_the_id_card_line() -> None:
    answer = RULES.answer("therapy_massage", PlanContext(state="TX", plan_type="hmo"))
    text = therapy_answer_text()
    assert text.split("\n") == [answer.text, "Based on: " + "; ".join(answer.citations), answer.closing]
    unknown = RULES.answer("referral", PlanContext())
    with_buttons = answer_as_text(answer_messages(RULES, unknown))
    assert "[HMO] [PPO] [Medicaid] [Medicare Advantage]" in with_buttons


def test_appended_flags_are_read_back_whole_in_their_period(tmp_path: Path) -> None:
    queue = tmp_path / "var" / "flags.jsonl"
    now = datetime.now(timezone.utc)

    def flag(at: datetime, note: str) -> dict:
        return new_flag(
            rules=["referral.hmo"],
            question="do i need a referral?",
            state=None,
            plan_type="hmo",
            history=[],
            answer="Probably yes.",
            note=note,
            intent="ask_referral",
            at=at,
        )

    # Several writers at once: every line stays whole.
    writers = [
        threading.Thread(target=append_flag, args=(flag(now, f"note {i} " + "x" * 3000), queue))
        for i in range(20)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    append_flag(flag(now - timedelta(days=30), "old"), queue)
    flags, skipped = read_flags(queue, now - timedelta(days=1), now + timedelta(minutes=1))
    assert skipped == 0 and len(flags) == 20
    assert {f["note"].split(" ")[1] for f in flags} == {str(i) for i in range(20)}
    every, _ = read_flags(queue)
    assert len(every) == 21
    [row] = flag_rows(every[-1:])
    assert len(row) == len(FLAG_COLUMNS) and row[1] == "referral.hmo" and row[5] == "old"


def test_a_flag_of_an_answer_no_rule_made_needs_its_question() -> None:
    record = flag_record({"rules": [], "question": "zorblax", "intent": "nlu_fallback"})
    assert record is not None
    assert flag_rows([record])[0][1] == "no rule (intent nlu_fallback)"
    assert flag_record({"rules": []}) is None
    assert flag_record({"rules": [], "question": "  "}) is None
    assert flag_record({"rules": ["x"], "history": "not a list"}) is None


def test_readers_redact_member_text_again_but_not_the_answer() -> None:
    record = flag_record(
        {
            "rules": ["x"],
            "question": f"id {MEMBER_ID}",
            "note": f"phone {PHONE}",
            "history": [f"my member id is {MEMBER_ID}"],
            "answer": "Medical Policy THE803.010",
        }
    )
    assert record is not None
    assert MEMBER_ID not in record["question"] + record["note"] + " ".join(record["history"])
    assert "555-0187" not in record["note"]
    assert record["answer"] == "Medical Policy THE803.010"
