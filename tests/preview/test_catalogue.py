"""The answer catalogue: every topic and plan type, and each row what the engine answers."""

import csv
import re
import subprocess
import sys
from collections import Counter
from itertools import product
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest

from launch.paths import PROJECT_DIR
from plan_coverage.engine import PlanContext, load_rules
from tools.catalogue import ANY, NOT_GIVEN, answer_text, member_messages

RULES = load_rules()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalogue as `make catalogue` writes it, into a folder of the test's own."""
    out = tmp_path_factory.mktemp("catalogue")
    result = subprocess.run(
        [sys.executable, "-m", "tools.catalogue", "--out", str(out)],
        cwd=PROJECT_DIR,  # -m finds this checkout's tools first
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def rows(catalogue: Path) -> List[Dict[str, str]]:
    with (catalogue / "answers.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def values_of(label: str, key: str) -> List[Optional[str]]:
    """The context values a row's "states"/"care_settings"/"purposes"/"stages" cell stands for."""
    if label == ANY:
        return [None, *RULES.context_values[key]]
    return [None if value == NOT_GIVEN else value for value in label.split("; ")]


def contexts_of(row: Dict[str, str]) -> Iterator[PlanContext]:
    plan_type = None if row["plan_type"] == NOT_GIVEN else row["plan_type"]
    for state, setting, purpose, stage in product(
        values_of(row["states"], "state"),
        values_of(row["care_settings"], "setting"),
        values_of(row["purposes"], "purpose"),
        values_of(row["stages"], "stage"),
    ):
        yield PlanContext(state=state, plan_type=plan_type, setting=setting, purpose=purpose, stage=stage)


def test_every_topic_has_a_row_for_every_plan_type(rows: Sequence[Dict[str, str]]) -> None:
    plan_types = {NOT_GIVEN, *RULES.context_values["plan_type"]}
    for topic in RULES.topics:
        assert {row["plan_type"] for row in rows if row["topic"] == topic} == plan_types, topic
    assert {row["topic"] for row in rows} == set(RULES.topics)


def test_each_topic_and_plan_type_covers_every_state_and_qualifier_once(
    rows: Sequence[Dict[str, str]],
) -> None:
    keys = ("state", "setting", "purpose", "stage")
    every = set(product(*([None, *RULES.context_values[key]] for key in keys)))
    for topic, plan_type in {(row["topic"], row["plan_type"]) for row in rows}:
        covered = Counter(
            tuple(context.get(key) for key in keys)
            for row in rows
            if (row["topic"], row["plan_type"]) == (topic, plan_type)
            for context in contexts_of(row)
        )
        assert set(covered) == every and set(covered.values()) == {1}, (topic, plan_type)


def test_each_row_is_what_the_engine_and_the_action_answer_for_all_it_covers(
    rows: Sequence[Dict[str, str]],
) -> None:
    for row in rows:
        for context in contexts_of(row):
            answer = RULES.answer(row["topic"], context)
            assert row["outcome"] == answer.outcome, (row["topic"], context)
            assert row["rule_ids"] == "; ".join(answer.rule_ids), (row["topic"], context)
            assert row["references"] == "; ".join(answer.citations)
            assert row["answer"] == answer_text(member_messages(RULES, answer))
            assert row["outcome_meaning"] == RULES.outcomes[answer.outcome]
            assert row["decided_by"] == (answer.decided_by or "")


def test_rows_split_by_qualifier_and_name_the_deciding_one(rows: Sequence[Dict[str, str]]) -> None:
    """A spa, relaxation or maintenance referral answer is its own row, decided by its qualifier."""
    referral = [row for row in rows if row["topic"] == "referral" and row["plan_type"] == "hmo"]
    decided = {row["decided_by"] for row in referral}
    assert {"qualifier.spa", "qualifier.relaxation", "qualifier.maintenance", ""} <= decided
    assert all(row["outcome"] == "not_covered" for row in referral if row["decided_by"])


def test_rows_differ_by_state_only_where_the_rules_do(rows: Sequence[Dict[str, str]]) -> None:
    split_by_state = {row["topic"] for row in rows if row["states"] != ANY}
    # maintenance_care too since issue 11: asked about therapy that is still
    # improving, it is answered as therapy_massage, which has the Texas HMO note.
    assert split_by_state == {
        "maintenance_care",
        "coverage_overview",
        "spa_wellness",
        "therapy_massage",
        "prior_authorization",
        "preauth_steps",
    }


def test_the_page_is_self_contained_and_lists_every_row(
    catalogue: Path, rows: Sequence[Dict[str, str]]
) -> None:
    page = (catalogue / "answers.html").read_text(encoding="utf-8")
    assert "<style>" in page
    assert not re.search(r"<link|<script|\bsrc=|url\(|@import|https?://", page)
    assert page.count("<tbody>") == len(RULES.topics) + 1  # one table per topic and the legend
    body_rows = re.findall(r"<tr><td>", page)
    assert len(body_rows) == len(rows) + len(RULES.outcomes)
    for rule_id in {rule_id for row in rows for rule_id in row["rule_ids"].split("; ")}:
        assert f"<code>{rule_id}</code>" in page


@pytest.mark.slow
def test_reviewers_can_read_the_page_in_a_browser(
    browser: Any, catalogue: Path, rows: Sequence[Dict[str, str]]
) -> None:
    page = browser.new_page()
    requests: List[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((catalogue / "answers.html").as_uri())
    assert page.title().startswith("Answer catalogue")
    assert page.locator("main tbody tr").count() == len(rows)
    referral = page.locator("#topic-referral")
    hmo = referral.get_by_role("row").filter(has_text="HMO")
    assert hmo.get_by_text("required", exact=True).is_visible()
    assert requests == [(catalogue / "answers.html").as_uri()]
    (PROJECT_DIR / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(PROJECT_DIR / "test-artifacts" / "catalogue.png"))
    page.close()
