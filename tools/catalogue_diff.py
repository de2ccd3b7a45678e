"""What changed in the answers since a release: `make catalogue SINCE=<git ref>`.

The rules file at the ref is read with `git show <ref>:plan_coverage/rules.yml`
and compared with the working copy twice:

- rule by rule (`rule_changes`): rules added, removed, and for each rule kept
  the fields whose value changed (text, outcome, conditions, references,
  source quotes...), with the file's shared settings (closing line, phrases,
  reference names, outcome meanings...);
- answer by answer (`answer_changes`): every topic in every plan context
  (state, plan type, care setting, purpose, stage) answered by both versions
  of the engine; the answers whose outcome or member-facing text differ,
  grouped by topic and by what they were and are.

An old rules file the current engine cannot load (an older schema) still
gets the rule-by-rule comparison; the answer comparison then says why it is
missing.
"""

import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import yaml

from plan_coverage.engine import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    CoverageAnswer,
    CoverageRules,
    PlanContext,
    RulesError,
    load_rules,
)

# The parts of the rules file the comparison reads, rule lists by their kind.
RULE_LISTS = {"redirects": "redirect", "qualifiers": "qualifier", "rules": None}
SETTINGS = ("phrases", "closing", "prompts", "references", "outcomes", "topics", "context_values")
# The plan context keys an answer can depend on (another insurer only redirects).
ANSWER_KEYS = ("plan_type", "state", "setting", "purpose", "stage")


class GitError(RuntimeError):
    """The rules file could not be read at that ref; the message says why."""


@dataclass(frozen=True)
class RulesAtRef:
    """The rules file at a git ref: its commit, the raw YAML and, when the
    current engine can load it, the rules; else the reason it cannot."""

    ref: str
    commit: str
    date: str
    raw: Mapping[str, Any]
    rules: Optional[CoverageRules]
    load_error: str = ""


@dataclass(frozen=True)
class RuleChange:
    """A rule (or a file-wide setting) added, removed or changed."""

    change: str  # "added", "removed" or "changed"
    kind: str  # redirect, qualifier, answer, note, qualified, or "setting"
    id: str
    field: str = ""  # for "changed": the field that differs
    before: str = ""
    after: str = ""


@dataclass
class AnswerChange:
    """Answers of one topic that were one thing and are now another, and where."""

    topic: str
    before: Optional[CoverageAnswer]
    after: Optional[CoverageAnswer]
    contexts: List[PlanContext] = field(default_factory=list)

    def values(self, key: str) -> List[Optional[str]]:
        """The values of a context key among the changed contexts, in first-seen order."""
        return list(dict.fromkeys(context.get(key) for context in self.contexts))


def git(repo: Path, *args: str) -> str:
    """Run git in `repo`; its standard output, or GitError with its message."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"git could not run: {error}") from error
    if done.returncode != 0:
        raise GitError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout


def rules_at(ref: str, rules_path: Path, repo: Optional[Path] = None) -> RulesAtRef:
    """The rules file as it was at `ref` in the repository `repo` (default: the
    one holding rules_path), at the same path inside it.

    Raises GitError when the ref or the file at that ref does not exist.
    """
    repo = repo or rules_path.parent
    top = Path(git(rules_path.parent, "rev-parse", "--show-toplevel").strip())
    inside = rules_path.resolve().relative_to(top.resolve()).as_posix()
    try:
        commit = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitError as error:
        raise GitError(f"{ref!r} is not a commit, branch or tag of {repo}") from error
    date = git(repo, "log", "-1", "--format=%cs", commit).strip()
    text = git(repo, "show", f"{commit}:{inside}")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise GitError(f"{inside} at {ref} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise GitError(f"{inside} at {ref} is not a rules file")
    with tempfile.TemporaryDirectory(prefix="rules-at-ref-") as folder:
        copy = Path(folder) / "rules.yml"
        copy.write_text(text, encoding="utf-8")
        try:
            rules: Optional[CoverageRules] = load_rules(copy)
            error_text = ""
        except RulesError as error:
            rules, error_text = None, str(error).replace(str(copy), f"{inside} at {ref}")
    return RulesAtRef(ref=ref, commit=commit, date=date, raw=raw, rules=rules, load_error=error_text)


def raw_rules(raw: Mapping[str, Any]) -> Dict[str, Tuple[str, Dict[str, Any]]]:
    """Every rule of a raw rules file by id: (kind, entry)."""
    found: Dict[str, Tuple[str, Dict[str, Any]]] = {}
    for key, kind in RULE_LISTS.items():
        for entry in raw.get(key) or []:
            if isinstance(entry, dict) and "id" in entry:
                found[str(entry["id"])] = (str(kind or entry.get("kind", "")), entry)
    return found


def shown(value: Any) -> str:
    """A rule field as one line of text: strings with their spaces collapsed, the rest as YAML."""
    if value is None:
        return ""
    if isinstance(value, str):
        return " ".join(value.split())
    return " ".join(
        yaml.safe_dump(value, default_flow_style=True, sort_keys=True, allow_unicode=True).split()
    )


def _in_languages(value: Any) -> bool:
    """True for one text written in several languages ({en: ..., es: ...})."""
    return isinstance(value, dict) and bool(value) and set(value) <= set(LANGUAGES)


def rule_fields(entry: Mapping[str, Any]) -> Dict[str, str]:
    """A rule's fields, each as one line: a text in several languages as one field
    per language ("text.en", "text.es"), steps as one per step and language
    ("steps.2.es"), so a reviewer sees exactly which words changed."""
    fields: Dict[str, str] = {}
    for name, value in entry.items():
        if name in ("id", "kind"):
            continue
        if _in_languages(value):
            fields.update({f"{name}.{language}": shown(text) for language, text in value.items()})
        elif isinstance(value, list) and value and all(_in_languages(item) for item in value):
            for number, item in enumerate(value, start=1):
                fields.update({f"{name}.{number}.{language}": shown(text) for language, text in item.items()})
        else:
            fields[name] = shown(value)
    return fields


def _summary(entry: Mapping[str, Any]) -> str:
    """What an added or removed rule says (its English text), or where it redirects."""
    text: Any = entry.get("text") or entry.get("to")
    if isinstance(text, dict) and _in_languages(text):
        text = text.get(DEFAULT_LANGUAGE)
    return shown(text)


def rule_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> List[RuleChange]:
    """Rules added, removed and changed (one entry per changed field), then changed settings."""
    old, new = raw_rules(before), raw_rules(after)
    changes = [RuleChange("added", new[i][0], i, after=_summary(new[i][1])) for i in new if i not in old]
    changes += [RuleChange("removed", old[i][0], i, before=_summary(old[i][1])) for i in old if i not in new]
    for rule_id in (i for i in new if i in old):
        (old_kind, old_entry), (new_kind, new_entry) = old[rule_id], new[rule_id]
        if old_kind != new_kind:
            changes.append(RuleChange("changed", new_kind, rule_id, "kind", old_kind, new_kind))
        old_fields, new_fields = rule_fields(old_entry), rule_fields(new_entry)
        for name in sorted(set(old_fields) | set(new_fields)):
            was, now = old_fields.get(name, ""), new_fields.get(name, "")
            if was != now:
                changes.append(RuleChange("changed", new_kind, rule_id, name, was, now))
    for name in SETTINGS:
        was, now = shown(before.get(name)), shown(after.get(name))
        if was != now:
            changes.append(RuleChange("changed", "setting", name, name, was, now))
    return changes


def answer_contexts(rules: CoverageRules) -> Iterator[PlanContext]:
    """Every plan context an answer can depend on, unknown values included."""
    options = [(None, *rules.context_values[key]) for key in ANSWER_KEYS]
    for values in product(*options):
        yield PlanContext(**dict(zip(ANSWER_KEYS, values, strict=True)))


def member_view(answer: Optional[CoverageAnswer]) -> Tuple[Any, ...]:
    """What a member gets from an answer: outcome, text, closing, plan-type question, references."""
    if answer is None:
        return ()
    return (answer.outcome, answer.text, answer.closing, answer.ask_plan_type, answer.citations)


def answer_changes(before: CoverageRules, after: CoverageRules) -> List[AnswerChange]:
    """The answers whose outcome or member-facing words differ between two versions
    of the rules, grouped by topic and by (before, after); a topic only one version
    has counts as answers added or removed."""
    groups: Dict[Tuple[str, Tuple[Any, ...], Tuple[Any, ...]], AnswerChange] = {}
    for topic in dict.fromkeys([*after.topics, *before.topics]):
        for context in answer_contexts(after):
            was = before.answer(topic, context) if topic in before.topics else None
            now = after.answer(topic, context) if topic in after.topics else None
            old_view, new_view = member_view(was), member_view(now)
            if old_view == new_view:
                continue
            group = groups.setdefault((topic, old_view, new_view), AnswerChange(topic, was, now))
            group.contexts.append(context)
    return list(groups.values())


def describe_values(values: Sequence[Optional[str]], labels: Mapping[str, str]) -> str:
    """A set of context values in words: "all", or e.g. "Texas, not given"."""
    if len(set(values)) == len(labels) + 1:
        return "all"
    return ", ".join("not given" if value is None else labels.get(value, value) for value in values)


def where(change: AnswerChange, rules: CoverageRules) -> Dict[str, str]:
    """Where a group of changed answers applies, by context key, in words."""
    return {key: describe_values(change.values(key), rules.context_values[key]) for key in ANSWER_KEYS}
