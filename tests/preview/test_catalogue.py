"""The answer catalogue: every topic and plan type, and each row what the engine answers."""

import csv
import hashlib
import html
import os
import re
import subprocess
import sys
from collections import Counter
from itertools import product
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest
import yaml
from playwright.sync_api import expect

from launch.paths import PROJECT_DIR
from plan_coverage.engine import PlanContext, fill_phrases, load_rules
from tests.review.test_review_e2e import axe_violations
from tools.catalogue import ANY, NOT_GIVEN, answer_text, csp_hash, member_messages
from tools.flag_queue import FLAG_QUEUE_ENV

RULES = load_rules()
RULES_ES = load_rules(language="es")
ARTIFACTS = PROJECT_DIR / "test-artifacts"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalogue as `make catalogue` writes it, into a folder of the test's own."""
    out = tmp_path_factory.mktemp("catalogue")
    result = run_catalogue(out)
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


def test_each_row_holds_the_spanish_answer_for_all_it_covers_beside_the_english(
    catalogue: Path, rows: Sequence[Dict[str, str]]
) -> None:
    with (catalogue / "answers.csv").open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    # `answer` stays English (what reviewers' sheets read); Spanish is the next column.
    assert header[header.index("answer") + 1] == "answer_es"
    for row in rows:
        for context in contexts_of(row):
            answer = RULES.answer(row["topic"], context, "es")
            assert answer.language == "es" and row["outcome"] == answer.outcome
            assert row["answer_es"] == answer_text(member_messages(RULES_ES, answer)), (row["topic"], context)
    referral = next(row for row in rows if row["topic"] == "referral" and row["plan_type"] == "ppo")
    assert referral["answer"].startswith("Usually not.")
    assert referral["answer_es"].startswith("Por lo general, no.")


def answer_blocks(page: str) -> List[Dict[str, str]]:
    """Each answer row's text by language: {"en": ..., "es": ...}, unescaped."""
    found = []
    for row in re.findall(r"<tr data-topic=.*?</tr>", page, re.DOTALL):
        cell = re.search(r'<td class="answer">(.*?)</td>', row, re.DOTALL)
        assert cell, row[:200]
        blocks = re.findall(
            r'<div class="in-language" lang="([a-z]+)" data-text-lang="\1">(.*?)</div>',
            cell.group(1),
            re.DOTALL,
        )
        found.append({language: html.unescape(re.sub(r"<[^>]+>", " ", text)) for language, text in blocks})
    return found


def test_the_page_shows_each_answer_in_english_and_spanish_side_by_side(catalogue: Path) -> None:
    page = (catalogue / "answers.html").read_text(encoding="utf-8")
    blocks = answer_blocks(page)
    assert blocks and all(list(row) == ["en", "es"] for row in blocks)
    spa = RULES.answer("spa_wellness", PlanContext())
    spa_es = RULES.answer("spa_wellness", PlanContext(), "es")
    # Rows for a plain spa question: the Spanish words beside the English, each in its own block.
    spa_rows = [row for row in blocks if spa.text in " ".join(row["en"].split())]
    assert spa_rows
    for row in spa_rows:
        spanish = " ".join(row["es"].split())
        assert spa_es.text in spanish and spa_es.closing in spanish and spa.closing not in spanish
    # The filter offers both languages, each named in its own language, and both by default.
    [select] = re.findall(r'<select id="f-language" name="language">(.*?)</select>', page, re.DOTALL)
    assert re.findall(r'<option value="([a-z]*)"', select) == ["", "en", "es"]
    assert '<option value="es" lang="es">Español</option>' in select
    # Rules show their member-facing words in both languages too.
    rule = page[page.index('<div class="rule" id="rule-referral.ppo">') :]
    spanish = html.escape(fill_phrases(RULES_ES.rule("referral.ppo").text, RULES_ES.phrases))
    assert (
        '<p class="rule-text" lang="es" data-text-lang="es">' in rule[: rule.index("The source article says")]
    )
    assert spanish in rule[: rule.index("The source article says")]


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


def page_rows_of(page: str) -> List[Dict[str, str]]:
    """The answer rows of the page, by their data attributes."""
    return [
        dict(re.findall(r'data-([a-z-]+)(?:="([^"]*)")?', attributes))
        for attributes in re.findall(r"<tr (data-topic=[^>]*)>", page)
    ]


def test_the_page_is_self_contained_and_lists_every_row(
    catalogue: Path, rows: Sequence[Dict[str, str]]
) -> None:
    page = (catalogue / "answers.html").read_text(encoding="utf-8")
    assert not re.search(r"<link|\bsrc=|url\(|@import|https?://|\bstyle=", page)
    # One inline style and one inline script, each allowed by its hash and nothing else.
    [style] = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    [script] = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert page.count("<script") == 1 and "innerHTML" not in script
    [policy] = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert html.unescape(policy) == (
        f"default-src 'none'; style-src {csp_hash(style)}; script-src {csp_hash(script)}; "
        "base-uri 'none'; form-action 'none'"
    )
    # Rows that answer alike for several plan types are one row: each CSV row is in exactly one.
    shown = page_rows_of(page)
    assert sum(len(row["plan-types"].split()) for row in shown) == len(rows)
    for topic in RULES.topics:
        per_plan = Counter(
            plan for row in shown if row["topic"] == topic for plan in row["plan-types"].split()
        )
        expected = Counter(
            row["plan_type"].replace(NOT_GIVEN, "none") for row in rows if row["topic"] == topic
        )
        assert per_plan == expected, topic
    # Every rule with the article's words and its references.
    for rule in RULES.redirects + RULES.qualifiers + RULES.rules:
        entry = page[page.index(f'<div class="rule" id="rule-{rule.id}">') :]
        entry = entry[: entry.index("</div>")]
        for quote in rule.source:
            assert f"<q>{html.escape(quote)}</q>" in entry, (rule.id, quote)
        for reference in rule.references:
            assert html.escape(RULES.references[reference]) in entry
    for rule_id in {rule_id for row in rows for rule_id in row["rule_ids"].split("; ")}:
        assert f'<a href="#rule-{rule_id}"><code>{rule_id}</code></a>' in page


def test_each_topic_says_where_its_answers_differ(catalogue: Path) -> None:
    page = (catalogue / "answers.html").read_text(encoding="utf-8")

    def differs(topic: str) -> str:
        section = page[page.index(f'<section class="topic" id="topic-{topic}"') :]
        return section[section.index('<p class="differs">') : section.index("</p>", section.index("differs"))]

    # Texas HMO members have their own note; Illinois its eviCore note; referrals go by plan type.
    assert "<strong>state</strong> (not given, Illinois, Oklahoma, New Mexico, Montana | Texas)" in differs(
        "therapy_massage"
    )
    assert "<strong>state</strong> (not given, Texas, Oklahoma, New Mexico, Montana | Illinois)" in differs(
        "prior_authorization"
    )
    assert "<strong>plan type</strong> (not given | HMO | PPO | Medicaid, Medicare Advantage)" in differs(
        "referral"
    )
    assert "<strong>state</strong>" not in differs("referral")
    assert differs("non_hcsc_plan") == '<p class="differs">The same answer for every plan context.'


def test_the_page_names_its_version_and_effective_date(tmp_path: Path) -> None:
    done = run_catalogue(tmp_path, "--effective-date", "2026-12-01")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "answers.html").read_text(encoding="utf-8")
    digest = hashlib.sha256(RULES.path.read_bytes()).hexdigest()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert f"sha256 <code>{digest}</code>" in page and f"commit <code>{commit[:12]}</code>" in page
    assert "<dt>Effective date</dt><dd>2026-12-01</dd>" in page
    bad = run_catalogue(tmp_path, "--effective-date", "1 Dec 2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    missing = run_catalogue(tmp_path, "--since", "no-such-release")
    assert missing.returncode == 2 and "no-such-release" in missing.stderr


def run_catalogue(out: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    """`make catalogue` into `out`, with a flag queue of its own (none: no flags)."""
    return subprocess.run(
        [sys.executable, "-m", "tools.catalogue", "--out", str(out), *args],
        cwd=PROJECT_DIR,  # -m finds this checkout's tools first
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, FLAG_QUEUE_ENV: str(out / "no-flags.jsonl")},
    )


# The release the diff test compares with: today's rules with three changes,
# so since that release referral.ppo changed its outcome and words, the
# Illinois eviCore note was added and a note was removed.
OLD_PPO_TEXT = "Yes. A PPO plan needs a referral from your main doctor."
OLD_PPO_TEXT_ES = "Sí. Un plan PPO necesita un referido de su médico principal."
RETIRED_NOTE = """  - id: note.retired_example
    kind: note
    topic: [referral]
    when: {plan_type: [hmo]}
    text: {en: An old note., es: Una nota vieja.}
    source:
      - "Referral requirements depend on the specific HCSC-administered plan"
"""


def old_release(rules_text: str) -> str:
    data = yaml.safe_load(rules_text)
    ppo = next(rule for rule in data["rules"] if rule["id"] == "referral.ppo")
    assert ppo["outcome"] == "not_required"
    lines = rules_text.splitlines(keepends=True)
    start = lines.index("  - id: referral.ppo\n")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id: "))
    old_ppo = "".join(lines[start:end]).replace("outcome: not_required", "outcome: required")
    old_ppo = re.sub(
        r"text:\n      en: >-\n(?:        .*\n)+      es: >-\n(?:        .*\n)+",
        f"text:\n      en: {OLD_PPO_TEXT}\n      es: {OLD_PPO_TEXT_ES}\n",
        old_ppo,
    )
    evicore = lines.index("  - id: note.il_evicore_list\n")
    evicore_end = next(i for i in range(evicore + 1, len(lines)) if lines[i].startswith("  - id: "))
    return "".join(lines[:evicore] + lines[evicore_end:start]) + old_ppo + RETIRED_NOTE + "".join(lines[end:])


@pytest.fixture(scope="module")
def since_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make catalogue SINCE=HEAD` against a repository whose HEAD is that release."""
    repo = tmp_path_factory.mktemp("release")
    (repo / "plan_coverage").mkdir()
    (repo / "plan_coverage" / "rules.yml").write_text(old_release(RULES.path.read_text(encoding="utf-8")))
    git = ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "release"]):
        subprocess.run(git + command, check=True, capture_output=True)
    out = tmp_path_factory.mktemp("catalogue-since")
    done = run_catalogue(out, "--since", "HEAD", "--repo", str(repo))
    assert done.returncode == 0, done.stderr
    return out


def test_the_diff_shows_rules_added_removed_and_changed(since_release: Path) -> None:
    with (since_release / "changes.csv").open(encoding="utf-8", newline="") as handle:
        changes = {(c["change"], c["id"], c["field"]): c for c in csv.DictReader(handle)}
    outcome = changes[("changed", "referral.ppo", "outcome")]
    assert (outcome["before"], outcome["after"]) == ("required", "not_required")
    # Each language's words are their own field, so a reviewer sees which changed.
    text = changes[("changed", "referral.ppo", "text.en")]
    assert text["before"] == OLD_PPO_TEXT and text["after"].startswith("Usually not.")
    spanish = changes[("changed", "referral.ppo", "text.es")]
    assert spanish["before"] == OLD_PPO_TEXT_ES and spanish["after"].startswith("Por lo general, no.")
    assert ("added", "note.il_evicore_list", "") in changes
    assert ("removed", "note.retired_example", "") in changes
    assert changes[("removed", "note.retired_example", "")]["before"] == "An old note."
    assert len(changes) == 5, sorted(changes)


def test_the_diff_shows_which_answers_changed_and_where(since_release: Path) -> None:
    with (since_release / "answer_changes.csv").open(encoding="utf-8", newline="") as handle:
        answers = list(csv.DictReader(handle))
    ppo = [a for a in answers if a["topic"] == "referral" and a["outcome_before"] != a["outcome_after"]]
    assert [(a["plan_types"], a["outcome_before"], a["outcome_after"]) for a in ppo] == [
        ("PPO", "required", "not_required")
    ]
    assert ppo[0]["answer_before"].startswith(OLD_PPO_TEXT) and ppo[0]["answer_after"].startswith(
        "Usually not."
    )
    # The HMO referral answer lost the retired note, for every state.
    assert any(a["topic"] == "referral" and a["plan_types"] == "HMO" for a in answers)
    # The eviCore note: only Illinois answers changed.
    assert {a["states"] for a in answers if a["topic"] in ("prior_authorization", "preauth_steps")} == {
        "Illinois"
    }
    page = (since_release / "answers.html").read_text(encoding="utf-8")
    assert '<h2 id="changes-heading">What changed since HEAD</h2>' in page
    changed_rows = [row for row in page_rows_of(page) if "changed" in row]
    assert {row["topic"] for row in changed_rows} == {"referral", "prior_authorization", "preauth_steps"}
    assert all("IL" in row["states"].split() for row in changed_rows if row["topic"] != "referral")


@pytest.mark.slow
def test_reviewers_can_read_the_page_in_a_browser(
    browser: Any, catalogue: Path, rows: Sequence[Dict[str, str]]
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    requests: List[str] = []
    errors: List[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto((catalogue / "answers.html").as_uri())
    assert page.title().startswith("Answer catalogue")
    shown = page.locator("#shown-count")
    total = page.locator("main tbody tr[data-topic]").count()
    expect(shown).to_have_text(f"{total} of {total} answers shown.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "catalogue.png"))

    # Every answer for Texas HMO members: one row for each of the CSV's rows that holds for them.
    page.get_by_label("State").select_option("TX")
    page.get_by_label("Plan type").select_option("hmo")
    for_tx_hmo = [row for row in rows if row["plan_type"] == "hmo" and "TX" in states_of(row)]
    expect(shown).to_have_text(f"{len(for_tx_hmo)} of {total} answers shown.")
    visible = page.locator("main tbody tr[data-topic]:visible")
    for index in range(visible.count()):
        row = visible.nth(index)
        assert "TX" in row.get_attribute("data-states").split()
        assert "hmo" in row.get_attribute("data-plan-types").split()
    assert page.locator("#topic-non_hcsc_plan").is_visible()

    # Search within them, and a qualifier.
    page.get_by_label("Search").fill("97124")
    expect(shown).not_to_have_text(f"{len(for_tx_hmo)} of {total} answers shown.")
    texts = visible.all_inner_texts()
    assert texts and all("97124" in text for text in texts)
    page.get_by_role("button", name="Clear filters").click()
    expect(shown).to_have_text(f"{total} of {total} answers shown.")
    # The answers to plain questions (no care setting, purpose or stage given): one per topic and plan type
    # for each group of states.
    page.get_by_label("Qualifier").select_option("plain")
    plain = [
        row
        for row in rows
        if all(
            None in values_of(row[column], key)
            for column, key in (("care_settings", "setting"), ("purposes", "purpose"), ("stages", "stage"))
        )
    ]
    shown_plain = page.locator("main tbody tr[data-topic]:visible")
    expect(shown).not_to_have_text(f"{total} of {total} answers shown.")
    assert sum(len(row.get_attribute("data-plan-types").split()) for row in shown_plain.all()) == len(plain)
    page.get_by_label("Qualifier").select_option("setting:spa")
    visible_rows = page.locator("main tbody tr[data-topic]:visible")
    expect(visible_rows.first).to_be_visible()
    assert all("spa" in (row.get_attribute("data-setting") or "").split() for row in visible_rows.all())
    page.screenshot(path=str(ARTIFACTS / "catalogue-filtered.png"))
    assert requests == [(catalogue / "answers.html").as_uri()]
    assert errors == []
    context.close()


def states_of(row: Dict[str, str]) -> List[str]:
    """The states a CSV row holds for ("any": all)."""
    return list(RULES.context_values["state"]) if row["states"] == ANY else row["states"].split("; ")


@pytest.mark.slow
def test_the_language_filter_shows_one_language_or_both_and_the_search_reads_only_those(
    browser: Any, catalogue: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: List[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto((catalogue / "answers.html").as_uri())
    shown = page.locator("#shown-count")
    total = page.locator("main tbody tr[data-topic]").count()
    english = page.locator('main tbody td.answer [data-text-lang="en"]')
    spanish = page.locator('main tbody td.answer [data-text-lang="es"]')
    expect(spanish.first).to_be_visible()
    expect(english.first).to_be_visible()
    # Side by side: the Spanish block is to the right of the English one, at the same height.
    left, right = english.first.bounding_box(), spanish.first.bounding_box()
    assert right["x"] >= left["x"] + left["width"] and abs(right["y"] - left["y"]) < 2

    language = page.get_by_label("Answer language")
    language.select_option("es")
    expect(english.first).to_be_hidden()
    expect(spanish.first).to_be_visible()
    # Every row is still shown: each has its Spanish answer.
    expect(shown).to_have_text(f"{total} of {total} answers shown.")
    assert page.locator('main [data-text-lang="en"]:visible').count() == 0
    # The Spanish answer has the whole width of the cell.
    assert spanish.first.bounding_box()["width"] > left["width"] * 1.5
    page.screenshot(path=str(ARTIFACTS / "catalogue-spanish.png"))
    # Searching reads the languages shown: "referido" is Spanish only.
    page.get_by_label("Search").fill("referido")
    expect(shown).not_to_have_text(f"0 of {total} answers shown.")
    expect(shown).not_to_have_text(f"{total} of {total} answers shown.")
    language.select_option("en")
    expect(shown).to_have_text(f"0 of {total} answers shown.")
    page.get_by_label("Search").fill("referral")
    expect(
        page.locator('main tbody tr[data-topic]:visible td.answer [data-text-lang="en"]').first
    ).to_be_visible()
    assert page.locator('main [data-text-lang="es"]:visible').count() == 0
    page.get_by_role("button", name="Clear filters").click()
    expect(shown).to_have_text(f"{total} of {total} answers shown.")
    expect(spanish.first).to_be_visible()
    expect(english.first).to_be_visible()
    assert errors == []
    context.close()


@pytest.mark.slow
def test_the_changes_can_be_filtered_and_the_page_is_axe_clean(browser: Any, since_release: Path) -> None:
    # axe-core is injected, so this context bypasses the page's Content Security Policy.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.goto((since_release / "answers.html").as_uri())
    page.get_by_label("Only answers changed since HEAD").check()
    visible = page.locator("main tbody tr[data-topic]:visible")
    expect(visible.first).to_be_visible()
    assert all(row.get_attribute("data-changed") is not None for row in visible.all())
    page.locator("#topic-referral").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "catalogue-changed-since.png"))
    page.goto((since_release / "answers.html").as_uri() + "#changes")
    page.screenshot(path=str(ARTIFACTS / "catalogue-diff.png"))
    assert axe_violations(page) == []
    context.close()


def test_a_rules_words_are_diffed_per_language_and_step() -> None:
    from tools.catalogue_diff import rule_fields

    fields = rule_fields(
        {
            "id": "x",
            "text": {"en": "Here:", "es": "Aquí:"},
            "steps": [{"en": "Call  the plan's\n number.", "es": "Llame."}],
            "when": {"plan_type": ["hmo"]},
        }
    )
    assert fields["text.es"] == "Aquí:"
    assert fields["steps.1.en"] == "Call the plan's number."
    assert fields["when"] == "{plan_type: [hmo]}"
