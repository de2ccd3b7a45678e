"""Tests that a broken rules file fails loudly, naming the file and the rule."""

import copy
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
import yaml

from plan_coverage.engine import RULES_PATH, RulesError, load_rules

RulesData = Dict[str, Any]
Mutation = Callable[[RulesData], None]

REAL_DATA: RulesData = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))


# --- helpers -----------------------------------------------------------------


def entry(data: RulesData, rule_id: str) -> Dict[str, Any]:
    """The rule or redirect mapping with this id."""
    for item in data.get("redirects", []) + data["rules"]:
        if item["id"] == rule_id:
            return item
    raise KeyError(rule_id)


def write_rules(tmp_path: Path, data: Any, name: str = "rules.yml") -> Path:
    """Dump rules data to a fresh file under tmp_path and return its path."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    """The RulesError message from loading `path`; fails the test if it loads."""
    with pytest.raises(RulesError) as error:
        load_rules(path)
    return str(error.value)


def set_field(rule_id: str, key: str, value: Any) -> Mutation:
    """A mutation that sets one field of one rule."""

    def mutate(data: RulesData) -> None:
        entry(data, rule_id)[key] = value

    return mutate


def drop_field(rule_id: str, key: str) -> Mutation:
    """A mutation that removes one field of one rule."""

    def mutate(data: RulesData) -> None:
        del entry(data, rule_id)[key]

    return mutate


def add_overlapping_referral(data: RulesData) -> None:
    """Add a second HMO answer for referral."""
    extra = copy.deepcopy(entry(data, "referral.hmo"))
    extra["id"] = "referral.hmo_again"
    data["rules"].append(extra)


def add_redirect_to_rules(data: RulesData) -> None:
    """Put a redirect-shaped entry into `rules`, where it would never be applied."""
    extra = copy.deepcopy(entry(data, "redirect.non_medical_setting"))
    extra.update(id="redirect.in_rules", kind="redirect")
    data["rules"].append(extra)


def delete_rule(rule_id: str) -> Mutation:
    """A mutation that deletes one rule."""

    def mutate(data: RulesData) -> None:
        data["rules"] = [r for r in data["rules"] if r["id"] != rule_id]

    return mutate


def drop_top_level(key: str) -> Mutation:
    """A mutation that removes a top-level key."""

    def mutate(data: RulesData) -> None:
        del data[key]

    return mutate


def set_top_level(key: str, value: Any) -> Mutation:
    """A mutation that sets a top-level key."""

    def mutate(data: RulesData) -> None:
        data[key] = value

    return mutate


# --- broken files ----------------------------------------------------------------

STEPS_RULE = "preauth_steps.general"
BROKEN: List[Tuple[str, Mutation, Tuple[str, ...]]] = [
    ("duplicate_id", set_field("referral.ppo", "id", "referral.hmo"), ("referral.hmo", "duplicate id")),
    (
        "overlap",
        add_overlapping_referral,
        ("topic referral", "referral.hmo", "referral.hmo_again", "found 2"),
    ),
    ("gap", delete_rule("referral.ppo"), ("topic referral", "found 0")),
    ("unknown_reference", set_field("referral.hmo", "references", ["CPCP999"]), ("referral.hmo", "CPCP999")),
    (
        "unknown_topic",
        set_field("referral.hmo", "topic", "massage_prices"),
        ("referral.hmo", "massage_prices"),
    ),
    ("unknown_outcome", set_field("referral.hmo", "outcome", "maybe"), ("referral.hmo", "outcome", "maybe")),
    ("missing_text", drop_field("referral.hmo", "text"), ("referral.hmo", "text")),
    ("blank_text", set_field("referral.hmo", "text", "   "), ("referral.hmo", "text")),
    ("missing_source", drop_field("referral.hmo", "source"), ("referral.hmo", "source")),
    ("empty_source", set_field("referral.hmo", "source", []), ("referral.hmo", "source")),
    (
        "unknown_context_key",
        set_field("referral.hmo", "when", {"plan_type": ["hmo"], "colour": ["red"]}),
        ("referral.hmo", "context key", "colour"),
    ),
    ("unknown_value", set_field("referral.hmo", "when", {"plan_type": ["gold"]}), ("referral.hmo", "gold")),
    ("empty_when_list", set_field("referral.hmo", "when", {"plan_type": []}), ("referral.hmo", "when")),
    (
        "note_with_outcome",
        set_field("note.il_evicore_list", "outcome", "required"),
        ("note.il_evicore_list", "outcome"),
    ),
    ("unknown_kind", set_field("referral.hmo", "kind", "hint"), ("referral.hmo", "kind")),
    ("redirect_in_rules", add_redirect_to_rules, ("redirect.in_rules", "kind")),
    (
        "redirect_to_unknown",
        set_field("redirect.other_insurer", "to", "elsewhere"),
        ("redirect.other_insurer", "elsewhere"),
    ),
    (
        "redirect_from_unknown",
        set_field("redirect.non_medical_setting", "from", ["nowhere"]),
        ("redirect.non_medical_setting", "nowhere"),
    ),
    ("missing_top_level_key", drop_top_level("references"), ("references",)),
    ("empty_top_level_key", set_top_level("references", None), ("references",)),
    ("missing_prompt", lambda data: data["prompts"].pop("context_noted"), ("prompts", "context_noted")),
    (
        "steps_not_a_list",
        set_field("preauth_steps.general", "steps", "1. Call."),
        ("preauth_steps.general", "steps"),
    ),
    (
        "blank_step",
        set_field(
            "preauth_steps.general", "steps", [{"en": "Call.", "es": "Llame."}, {"en": " ", "es": " "}]
        ),
        ("preauth_steps.general", "steps"),
    ),
    (
        "steps_on_a_note",
        set_field("note.il_evicore_list", "steps", [{"en": "Call.", "es": "Llame."}]),
        ("note.il_evicore_list", "steps"),
    ),
    (
        "step_without_spanish",
        set_field("preauth_steps.general", "steps", [{"en": "Call."}]),
        ("preauth_steps.general", "steps 1", "no es version"),
    ),
    # Every member-facing text in English and Spanish, side by side.
    (
        "text_not_bilingual",
        set_field("referral.hmo", "text", "Probably yes."),
        ("referral.hmo", "text", "es"),
    ),
    (
        "text_without_spanish",
        set_field("referral.hmo", "text", {"en": "Probably yes."}),
        ("referral.hmo", "no es version"),
    ),
    (
        "blank_spanish_closing",
        set_field("non_hcsc_plan.general", "closing", {"en": "Please call.", "es": " "}),
        ("non_hcsc_plan.general", "closing", "no es version"),
    ),
    (
        "unknown_spanish_placeholder",
        set_field("referral.hmo", "text", {"en": "Yes.", "es": "Sí, {tarjeta}."}),
        ("referral.hmo", "es text", "placeholder"),
    ),
    (
        "phrase_without_spanish",
        lambda data: data["phrases"]["id_card"].pop("es"),
        ("phrases: id_card", "no es version"),
    ),
    (
        "prompt_without_spanish",
        lambda data: data["prompts"]["plan_type_question"].pop("es"),
        ("prompts: plan_type_question", "no es version"),
    ),
    (
        "button_label_without_spanish",
        lambda data: data["prompts"]["suggested_topics"]["referral"].pop("es"),
        ("suggested_topics: referral", "no es version"),
    ),
    (
        "value_label_without_spanish",
        lambda data: data["context_values"]["state"]["NM"].pop("es"),
        ("context_values: state: NM", "no es version"),
    ),
    (
        "qualifier_text_without_spanish",
        lambda data: data["qualifiers"][0]["text"].pop("es"),
        ("qualifier.spa", "no es version"),
    ),
    ("closing_not_bilingual", set_top_level("closing", "For your plan, {id_card}."), ("closing", "en: ...")),
]


@pytest.mark.parametrize("mutate, fragments", [row[1:] for row in BROKEN], ids=[row[0] for row in BROKEN])
def test_broken_rules_fail_loudly(tmp_path: Path, mutate: Mutation, fragments: Tuple[str, ...]) -> None:
    """A broken copy of the real rules raises RulesError naming the file and what is wrong."""
    data = copy.deepcopy(REAL_DATA)
    mutate(data)
    path = write_rules(tmp_path, data)
    message = load_error(path)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_not_yaml_fails_loudly(tmp_path: Path) -> None:
    """A file that is not YAML raises RulesError naming the file."""
    path = tmp_path / "not_yaml.yml"
    path.write_text("closing: [unclosed\nrules: {: :\n\t- x", encoding="utf-8")
    assert str(path) in load_error(path)


def test_top_level_list_fails_loudly(tmp_path: Path) -> None:
    """A YAML file that is a list, not a mapping, raises RulesError naming the file."""
    path = write_rules(tmp_path, REAL_DATA["rules"], "list.yml")
    message = load_error(path)
    assert str(path) in message and "mapping" in message


def test_missing_file_fails_loudly(tmp_path: Path) -> None:
    """A rules path that does not exist raises RulesError naming the file."""
    path = tmp_path / "absent.yml"
    assert str(path) in load_error(path)


def test_single_string_source_is_one_quote(tmp_path: Path) -> None:
    """A `source` written as one string (not a list) is kept as one quote, not split into letters."""
    data = copy.deepcopy(REAL_DATA)
    quote = entry(data, "referral.ppo")["source"][0]
    entry(data, "referral.ppo")["source"] = quote
    rules = load_rules(write_rules(tmp_path, data))
    assert rules.rule("referral.ppo").source == (quote,)


def test_unmodified_copy_loads(tmp_path: Path) -> None:
    """A dumped, unmodified copy of the rules loads, so each broken case fails for its own change."""
    rules = load_rules(write_rules(tmp_path, copy.deepcopy(REAL_DATA)))
    assert rules.rules == load_rules().rules and rules.redirects == load_rules().redirects


def test_real_rules_load() -> None:
    """The project's rules file loads and validates."""
    rules = load_rules(RULES_PATH)
    assert rules.path == RULES_PATH
    assert rules.rules and rules.topics


def test_a_new_topic_is_redirected_for_other_insurers_without_naming_it(tmp_path: Path) -> None:
    data = copy.deepcopy(REAL_DATA)
    data["topics"]["new_topic"] = "A topic added later."
    data["rules"].append(
        {
            "id": "new_topic.general",
            "kind": "answer",
            "topic": "new_topic",
            "outcome": "info",
            "text": {"en": "A short answer.", "es": "Una respuesta corta."},
            "source": ["HCSC is the parent company behind Blue Cross and Blue Shield plans"],
        }
    )
    # What it says after a not-covered qualifier decided the outcome.
    data["rules"].append(
        {
            "id": "new_topic.qualified",
            "kind": "qualified",
            "topic": "new_topic",
            "text": {"en": "So this does not apply.", "es": "Así que esto no aplica."},
            "source": ["HCSC-administered plans generally do not cover spa or wellness massage."],
        }
    )
    rules = load_rules(write_rules(tmp_path, data))
    other_insurer = rules.rule("redirect.other_insurer")
    assert "new_topic" in other_insurer.topics
    assert "about_hcsc" not in other_insurer.topics and "non_hcsc_plan" not in other_insurer.topics
