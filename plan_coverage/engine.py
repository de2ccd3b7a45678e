"""Coverage rules engine: pure Python, no Rasa imports.

Loads the reviewed rules in `rules.yml`, validates them (every topic
and plan context, qualifiers included, must resolve to exactly one answer, and
a not-covered qualifier to no other outcome), and turns a topic plus a
member's plan context into a `CoverageAnswer` that names the rules it used,
the qualifier that decided it and the policy references behind them.

Every member-facing text is written in each of `LANGUAGES`, side by side in
the rules file; `CoverageRules.in_language` gives the same rules with the
texts of one language, so the ids, outcomes and references of an answer
never depend on the language it is given in.
"""

from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import yaml

RULES_PATH = Path(__file__).with_name("rules.yml")

# The languages every member-facing text is written in (ISO 639-1 codes);
# the first is the default.
LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = LANGUAGES[0]

CONTEXT_KEYS = ("state", "plan_type", "setting", "insurer", "purpose", "stage")
# Context keys about the massage itself rather than the plan: a not-covered
# value of one of them decides every topic (rules.yml, `qualifiers`).
QUALIFIER_KEYS = ("setting", "purpose", "stage")
# The one-line prompts of rules.yml's `prompts`, each in every language.
PROMPT_TEXTS = ("plan_type_question", "context_noted", "other_plan_too")
NOT_APPLICABLE = "not_applicable"  # the outcome for another insurer's plan
UNKNOWN = "unknown"  # in `when`: the member has not said
KNOWN = "known"  # in `when`: any value the member has said
# answer: the topic's answer; note: text added after it; qualified: the text
# after a deciding qualifier's, answering what the topic asked.
RULE_KINDS = ("answer", "note", "qualified")


class RulesError(ValueError):
    """A rules file that cannot be used as it is; the message names file and rule."""


@dataclass(frozen=True)
class PlanContext:
    """What the assistant knows about the member's plan for one question."""

    state: Optional[str] = None
    plan_type: Optional[str] = None
    setting: Optional[str] = None
    insurer: Optional[str] = None
    purpose: Optional[str] = None
    stage: Optional[str] = None

    def get(self, key: str) -> Optional[str]:
        """The value for a context key, None when unknown."""
        return getattr(self, key)

    def qualifiers(self) -> Dict[str, str]:
        """The known qualifiers (care setting, purpose, stage) of the question."""
        return {key: value for key in QUALIFIER_KEYS if (value := self.get(key)) is not None}


@dataclass(frozen=True)
class TextBlock:
    """A paragraph (`text`) or numbered steps (`steps`) of an answer's text.

    Channels that can show lists show steps as one; the plain text numbers
    them in line ("1. Confirm ... 2. Your therapist ...").
    """

    text: str = ""
    steps: Tuple[str, ...] = ()

    def plain(self) -> str:
        """The block as plain text."""
        if self.steps:
            return " ".join(f"{number}. {step}" for number, step in enumerate(self.steps, start=1))
        return self.text

    def as_json(self) -> Dict[str, Any]:
        """{"text": str} or {"steps": [str, ...]}."""
        return {"steps": list(self.steps)} if self.steps else {"text": self.text}


def plain_text(blocks: Sequence[TextBlock]) -> str:
    """Blocks as one plain text, as plain channels show it."""
    return " ".join(block.plain() for block in blocks if block.plain())


def _joined(blocks: Iterable[TextBlock]) -> Tuple[TextBlock, ...]:
    """Blocks with neighbouring paragraphs joined into one (as the plain text runs them on)."""
    joined: List[TextBlock] = []
    for block in blocks:
        if not block.plain():
            continue
        if joined and not block.steps and not joined[-1].steps:
            joined[-1] = TextBlock(text=f"{joined[-1].text} {block.text}")
        else:
            joined.append(block)
    return tuple(joined)


@dataclass(frozen=True)
class Rule:
    """One reviewed rule: an answer for a topic, a note, or a topic redirect."""

    id: str
    kind: str
    topics: Tuple[str, ...]
    when: Mapping[str, Tuple[str, ...]]
    outcome: Optional[str] = None
    text: str = ""
    references: Tuple[str, ...] = ()
    source: Tuple[str, ...] = ()
    closing: Optional[str] = None
    offer_plan_types: bool = False
    redirect_to: Optional[str] = None
    # The text as paragraphs and numbered steps; `text` is their plain form.
    blocks: Tuple[TextBlock, ...] = ()
    # `text` and `closing` are in one language; these hold every language's.
    texts: Mapping[str, str] = field(default_factory=dict)
    closings: Optional[Mapping[str, str]] = None
    blocks_by_language: Mapping[str, Tuple[TextBlock, ...]] = field(default_factory=dict)

    def in_language(self, language: str) -> "Rule":
        """The rule with its text and closing in `language` (a code of `LANGUAGES`)."""
        if not self.texts:  # a redirect: nothing to say
            return self
        closing = None if self.closings is None else self.closings[language]
        return replace(
            self, text=self.texts[language], closing=closing, blocks=self.blocks_by_language[language]
        )

    def matches(self, context: PlanContext) -> bool:
        """True when every condition in `when` accepts the context's value."""
        return all(_accepts(allowed, context.get(key)) for key, allowed in self.when.items())


@dataclass(frozen=True)
class CoverageAnswer:
    """The engine's answer to one question, with the reasons behind it."""

    topic: str
    outcome: str
    context: PlanContext
    text: str
    closing: str
    rule_ids: Tuple[str, ...]
    citations: Tuple[str, ...]
    ask_plan_type: bool = False
    decided_by: Optional[str] = None  # the qualifier rule that decided the outcome
    # `text` as paragraphs and numbered steps (plain_text(blocks) == text).
    blocks: Tuple[TextBlock, ...] = ()
    # The deciding qualifier's words that open `text` ("No. A massage at a spa
    # is not covered."); empty when no qualifier decided.
    lead: str = ""

    @property
    def has_steps(self) -> bool:
        """True when the text has numbered steps that a channel may show as a list."""
        return any(block.steps for block in self.blocks)

    language: str = DEFAULT_LANGUAGE  # of `text` and `closing`

    def payload(self) -> Dict[str, Any]:
        """The custom payload every coverage answer carries to the channel."""
        return {
            "coverage": {
                "topic": self.topic,
                "outcome": self.outcome,
                "state": self.context.state,
                "plan_type": self.context.plan_type,
                "qualifiers": self.context.qualifiers(),
                "decided_by": self.decided_by,
                "rules": list(self.rule_ids),
                "citations": list(self.citations),
                "language": self.language,
            }
        }


@dataclass(frozen=True)
class LanguageTexts:
    """The texts around the rules, in one language."""

    closing: str
    phrases: Mapping[str, str]
    # plan_type_question, context_noted: str; suggested_topics: {topic: button label}
    prompts: Mapping[str, Any]
    context_values: Mapping[str, Mapping[str, str]]  # {key: {value: label}}


@dataclass(frozen=True)
class CoverageRules:
    """The validated rules and everything needed to apply them.

    Texts (`closing`, `phrases`, `prompts`, the labels of `context_values`,
    each rule's `text` and `closing`) are in `language`; `in_language` gives
    the same rules in another.
    """

    closing: str
    phrases: Mapping[str, str]
    prompts: Mapping[str, Any]
    context_values: Mapping[str, Mapping[str, str]]
    outcomes: Mapping[str, str]
    references: Mapping[str, str]
    topics: Mapping[str, str]
    provider_topics: Tuple[str, ...]
    redirects: Tuple[Rule, ...]
    rules: Tuple[Rule, ...]
    qualifiers: Tuple[Rule, ...] = ()
    qualifier_exempt: Tuple[str, ...] = ()  # topics the qualifiers leave to their own answer
    path: Path = field(default=RULES_PATH, compare=False)
    language: str = DEFAULT_LANGUAGE
    translations: Mapping[str, LanguageTexts] = field(default_factory=dict, compare=False)
    # The views of these rules in each language, made once (shared by all views).
    _views: Dict[str, "CoverageRules"] = field(default_factory=dict, compare=False, repr=False)

    def in_language(self, language: str) -> "CoverageRules":
        """The same rules with every member-facing text in `language`.

        Raises KeyError for a language the rules are not written in.
        """
        if language == self.language:
            return self
        if language not in self.translations:
            raise KeyError(f"no texts in language {language!r}; the rules have {list(self.translations)}")
        view = self._views.get(language)
        if view is None:
            texts = self.translations[language]
            view = replace(
                self,
                language=language,
                closing=texts.closing,
                phrases=texts.phrases,
                prompts=texts.prompts,
                context_values=texts.context_values,
                rules=tuple(rule.in_language(language) for rule in self.rules),
                qualifiers=tuple(rule.in_language(language) for rule in self.qualifiers),
            )
            self._views[language] = view
        return view

    def rule(self, rule_id: str) -> Rule:
        """The rule, redirect or qualifier with this id."""
        for rule in self.redirects + self.qualifiers + self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def resolve_topic(self, topic: str, context: PlanContext) -> Tuple[str, Tuple[str, ...]]:
        """The topic after redirects, and the ids of the redirects that applied."""
        for redirect in self.redirects:
            if topic in redirect.topics and redirect.matches(context):
                return str(redirect.redirect_to), (redirect.id,)
        return topic, ()

    def deciding_qualifier(self, topic: str, context: PlanContext) -> Optional[Rule]:
        """The first qualifier that decides this (resolved) topic in this context, if any."""
        return next((q for q in self.qualifiers if topic in q.topics and q.matches(context)), None)

    def answer(self, topic: str, context: PlanContext, language: Optional[str] = None) -> CoverageAnswer:
        """Apply the rules to a topic and a plan context, in `language` (default: the
        rules' own). Raises KeyError for an unknown topic or language."""
        if language is not None and language != self.language:
            return self.in_language(language).answer(topic, context)
        if topic not in self.topics:
            raise KeyError(f"unknown topic {topic!r}")
        context = self.clean_context(context)
        topic, redirect_ids = self.resolve_topic(topic, context)
        qualifier = self.deciding_qualifier(topic, context)
        kind = "answer" if qualifier is None else "qualified"
        answers = self._matching(topic, context, kind)
        if len(answers) != 1:  # cannot happen for validated rules; say so if it does
            raise RulesError(f"{self.path}: {len(answers)} {kind} rules for {topic} in {context}")
        answer = answers[0]
        if qualifier is not None:
            # The qualifier decides: it speaks first, the topic's text follows;
            # notes and the plan-type question are about covered care.
            used = [qualifier, answer]
            outcome, closing, ask_plan_type = str(qualifier.outcome), self.closing, False
        else:
            used = [answer, *self._matching(topic, context, "note")]
            outcome = str(answer.outcome)
            closing = answer.closing or self.closing
            ask_plan_type = answer.offer_plan_types and context.plan_type is None
        reference_ids = _unique(ref for rule in used for ref in rule.references)
        blocks = _joined(
            TextBlock(
                text=fill_phrases(block.text, self.phrases),
                steps=tuple(fill_phrases(step, self.phrases) for step in block.steps),
            )
            for rule in used
            for block in rule.blocks
        )
        return CoverageAnswer(
            topic=topic,
            outcome=outcome,
            context=context,
            text=fill_phrases(" ".join(rule.text for rule in used), self.phrases),
            closing=fill_phrases(closing, self.phrases),
            rule_ids=redirect_ids + tuple(rule.id for rule in used),
            citations=tuple(self.references[ref] for ref in reference_ids),
            ask_plan_type=ask_plan_type,
            decided_by=None if qualifier is None else qualifier.id,
            blocks=blocks,
            lead="" if qualifier is None else fill_phrases(qualifier.text, self.phrases),
            language=self.language,
        )

    def clean_context(self, context: PlanContext) -> PlanContext:
        """Drop context values the rules do not know, so they count as unknown."""
        values = {
            key: value if value in self.context_values[key] or (key == "insurer" and value) else None
            for key, value in ((key, context.get(key)) for key in CONTEXT_KEYS)
        }
        return PlanContext(**values)

    def describe_plan(self, context: PlanContext) -> str:
        """The member's plan in words: "Texas HMO plan", "PPO plan", "plan";
        in Spanish "plan HMO de Texas", "plan PPO", "plan"."""
        state, plan_type = (
            self.context_values[key].get(str(value)) if value is not None else None
            for key, value in (("state", context.state), ("plan_type", context.plan_type))
        )
        if self.language == "es":  # Spanish puts the plan first and the state after "de"
            return " ".join(w for w in ("plan", plan_type, f"de {state}" if state else None) if w)
        return " ".join(w for w in (state, plan_type, "plan") if w)

    def contexts(self) -> Iterator[PlanContext]:
        """Every plan context the rules distinguish, unknown values included."""
        options = [
            (None, *(("other",) if key == "insurer" else tuple(self.context_values[key])))
            for key in CONTEXT_KEYS
        ]
        for values in product(*options):
            yield PlanContext(**dict(zip(CONTEXT_KEYS, values, strict=False)))

    def _matching(self, topic: str, context: PlanContext, kind: str) -> List[Rule]:
        return [r for r in self.rules if r.kind == kind and topic in r.topics and r.matches(context)]


def fill_phrases(text: str, phrases: Mapping[str, str]) -> str:
    """`text` with each `{name}` of a shared phrase replaced by the phrase."""
    for name, phrase in phrases.items():
        text = text.replace("{" + name + "}", phrase)
    return text


def _accepts(allowed: Sequence[str], value: Optional[str]) -> bool:
    if value is None:
        return UNKNOWN in allowed
    return KNOWN in allowed or value in allowed


def _unique(items: Iterator[str]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(items))


@lru_cache(maxsize=None)
def load_rules(path: Path = RULES_PATH, language: str = DEFAULT_LANGUAGE) -> CoverageRules:
    """Load and validate the rules file, with its texts in `language` (a code of
    `LANGUAGES`); raise `RulesError` naming what is wrong, KeyError for a
    language the file is not written in."""
    if language != DEFAULT_LANGUAGE:
        return load_rules(path).in_language(language)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RulesError(f"{path}: cannot read rules: {error}") from error
    if not isinstance(data, dict):
        raise RulesError(f"{path}: expected a mapping at the top level")
    for key in (
        "phrases",
        "closing",
        "prompts",
        "context_values",
        "outcomes",
        "references",
        "topics",
        "rules",
    ):
        if data.get(key) is None:
            raise RulesError(f"{path}: missing top-level key {key!r}")
    exempt = tuple(data.get("qualifier_exempt_topics") or ())
    qualified_topics = [topic for topic in data["topics"] if topic not in exempt]
    translations = _language_texts(path, data)
    english = translations[DEFAULT_LANGUAGE]
    rules = CoverageRules(
        closing=english.closing,
        phrases=english.phrases,
        prompts=english.prompts,
        context_values=english.context_values,
        outcomes=dict(data["outcomes"]),
        references={str(k): str(v) for k, v in data["references"].items()},
        topics=dict(data["topics"]),
        provider_topics=tuple(data.get("provider_topics", ())),
        redirects=tuple(
            _parse_rule(path, _every_topic_but(entry, data["topics"]), "redirect")
            for entry in data.get("redirects", [])
        ),
        rules=tuple(_parse_rule(path, entry, None) for entry in data["rules"]),
        qualifiers=tuple(
            _parse_rule(path, {**entry, "topic": qualified_topics}, "qualifier")
            for entry in data.get("qualifiers", [])
            if isinstance(entry, dict)
        ),
        qualifier_exempt=exempt,
        path=Path(path),
        translations=translations,
    )
    _validate(rules)
    return rules


def _texts(path: Path, where: str, value: Any) -> Dict[str, str]:
    """One member-facing text in every language, whitespace folded:
    `{en: ..., es: ...}` in the file. Raises RulesError naming `where`."""
    if not isinstance(value, dict):
        raise RulesError(f"{path}: {where}: needs a text in each of {LANGUAGES}, as {{en: ..., es: ...}}")
    texts = {language: " ".join(str(value.get(language) or "").split()) for language in LANGUAGES}
    missing = [language for language, text in texts.items() if not text]
    if missing:
        raise RulesError(f"{path}: {where}: the text has no {', '.join(missing)} version")
    return texts


def _language_texts(path: Path, data: Mapping[str, Any]) -> Dict[str, LanguageTexts]:
    """The texts around the rules (phrases, closing, prompts, value labels) by language."""
    if not isinstance(data["prompts"], dict):
        raise RulesError(f"{path}: prompts: expected a mapping")
    for key in (*PROMPT_TEXTS, "suggested_topics"):
        if not data["prompts"].get(key):
            raise RulesError(f"{path}: prompts: missing {key!r}")
    phrases = {str(name): _texts(path, f"phrases: {name}", text) for name, text in data["phrases"].items()}
    closing = _texts(path, "closing", data["closing"])
    questions = {key: _texts(path, f"prompts: {key}", data["prompts"][key]) for key in PROMPT_TEXTS}
    topic_labels = {
        str(topic): _texts(path, f"prompts: suggested_topics: {topic}", label)
        for topic, label in dict(data["prompts"]["suggested_topics"]).items()
    }
    labels = {
        key: {
            str(value): _texts(path, f"context_values: {key}: {value}", label)
            for value, label in (data["context_values"].get(key) or {}).items()
        }
        for key in CONTEXT_KEYS
    }
    translations = {}
    for language in LANGUAGES:
        language_phrases = {name: texts[language] for name, texts in phrases.items()}
        translations[language] = LanguageTexts(
            closing=fill_phrases(closing[language], language_phrases),
            phrases=language_phrases,
            prompts={
                **{key: texts[language] for key, texts in questions.items()},
                "suggested_topics": {topic: texts[language] for topic, texts in topic_labels.items()},
            },
            context_values={
                key: {value: texts[language] for value, texts in values.items()}
                for key, values in labels.items()
            },
        )
    return translations


def _every_topic_but(entry: Any, topics: Mapping[str, Any]) -> Any:
    """A redirect `from: all` stands for every topic but its target and its `except` list.

    So a new topic is redirected too without naming it here.
    """
    if not isinstance(entry, dict) or entry.get("from") != "all":
        return entry
    excepted = set(entry.get("except") or ()) | {entry.get("to")}
    return {**entry, "from": [topic for topic in topics if topic not in excepted]}


def _parse_rule(path: Path, entry: Any, forced_kind: Optional[str]) -> Rule:
    rule_id = entry.get("id", "<no id>") if isinstance(entry, dict) else "<not a mapping>"

    def fail(problem: str) -> RulesError:
        return RulesError(f"{path}: rule {rule_id}: {problem}")

    if not isinstance(entry, dict) or "id" not in entry:
        raise fail("every rule needs an id")
    kind = forced_kind or entry.get("kind")
    if kind not in ((forced_kind,) if forced_kind else RULE_KINDS):
        raise fail(f"kind must be one of {RULE_KINDS}, not {kind!r}")
    topics = entry.get("from") if kind == "redirect" else entry.get("topic")
    topics = (topics,) if isinstance(topics, str) else tuple(topics or ())
    if not topics:
        raise fail("needs at least one topic")
    when = entry.get("when") or {}
    if not isinstance(when, dict) or any(not isinstance(v, list) or not v for v in when.values()):
        raise fail("`when` must map context keys to non-empty lists")
    texts: Dict[str, str] = {}
    closings: Optional[Dict[str, str]] = None
    if kind != "redirect":
        if not isinstance(entry.get("text"), dict):
            raise fail(f"needs member-facing text in each of {LANGUAGES}: `text: {{en: ..., es: ...}}`")
        texts = _texts(path, f"rule {rule_id}: text", entry["text"])
        if entry.get("closing") is not None:
            closings = _texts(path, f"rule {rule_id}: closing", entry["closing"])
    steps = entry.get("steps") or []
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        raise fail(f"`steps` must be a list of member-facing sentences, each in {LANGUAGES}")
    if steps and kind != "answer":
        raise fail("only answer rules have `steps`")
    step_texts = [_texts(path, f"rule {rule_id}: steps {n}", step) for n, step in enumerate(steps, start=1)]
    if not entry.get("source"):
        raise fail("needs `source`: the article's words the rule rests on")
    blocks_by_language = {
        language: _joined(
            [
                TextBlock(text=texts[language]),
                TextBlock(steps=tuple(step[language] for step in step_texts)),
            ]
        )
        for language in texts
    }
    # A rule's text in each language is its blocks' plain text (steps numbered in line).
    texts = {language: plain_text(blocks) for language, blocks in blocks_by_language.items()}
    return Rule(
        id=str(entry["id"]),
        kind=str(kind),
        topics=topics,
        when={str(k): tuple(str(v) for v in values) for k, values in when.items()},
        outcome=entry.get("outcome"),
        text=texts.get(DEFAULT_LANGUAGE, ""),
        references=_as_tuple(entry.get("references")),
        source=_as_tuple(entry["source"]),
        closing=None if closings is None else closings[DEFAULT_LANGUAGE],
        offer_plan_types=bool(entry.get("offer_plan_types", False)),
        redirect_to=entry.get("to"),
        blocks=blocks_by_language.get(DEFAULT_LANGUAGE, ()),
        texts=texts,
        closings=closings,
        blocks_by_language=blocks_by_language,
    )


def _as_tuple(value: Any) -> Tuple[str, ...]:
    # A single string is one item, not a sequence of letters.
    return (value,) if isinstance(value, str) else tuple(value or ())


def _validate(rules: CoverageRules) -> None:
    path = rules.path
    seen: Dict[str, Rule] = {}
    for rule in rules.redirects + rules.qualifiers + rules.rules:
        problems = list(_rule_problems(rules, rule))
        if rule.id in seen:
            problems.append("duplicate id")
        seen[rule.id] = rule
        if problems:
            raise RulesError(f"{path}: rule {rule.id}: " + "; ".join(problems))
    for topic in rules.prompts["suggested_topics"]:
        if topic not in rules.topics:
            raise RulesError(f"{path}: prompts: suggested topic {topic!r} is not a topic")
    for context in rules.contexts():
        # Precedence: with a not-covered qualifier, no topic may answer otherwise.
        required = {str(q.outcome) for q in rules.qualifiers if q.matches(context)}
        for topic in rules.topics:
            resolved, _ = rules.resolve_topic(topic, context)
            qualifier = rules.deciding_qualifier(resolved, context)
            kind = "answer" if qualifier is None else "qualified"
            answers = rules._matching(resolved, context, kind)
            if len(answers) != 1:
                ids = ", ".join(r.id for r in answers) or "none"
                raise RulesError(
                    f"{path}: topic {resolved} must have exactly one {kind} rule for "
                    f"{context}, found {len(answers)}: {ids}"
                )
            outcome = qualifier.outcome if qualifier else answers[0].outcome
            # "not_applicable" (another insurer's plan) is the one answer HCSC's
            # qualifiers cannot change: none of HCSC's rules apply there.
            if required and outcome not in required | {NOT_APPLICABLE}:
                raise RulesError(
                    f"{path}: topic {resolved} answers {outcome} for {context}, but a qualifier "
                    f"there decides {', '.join(sorted(required))} (qualifier_exempt_topics?)"
                )


def _rule_problems(rules: CoverageRules, rule: Rule) -> Iterator[str]:
    for topic in rule.topics + ((rule.redirect_to,) if rule.kind == "redirect" else ()):
        if topic not in rules.topics:
            yield f"unknown topic {topic!r}"
    for key, allowed in rule.when.items():
        if key not in CONTEXT_KEYS:
            yield f"unknown context key {key!r} in `when`"
            continue
        for value in allowed:
            if value not in (*rules.context_values[key], UNKNOWN, KNOWN):
                yield f"unknown value {value!r} for {key}"
    for language, texts in rules.translations.items():
        for text in (rule.texts.get(language, ""), (rule.closings or {}).get(language, "")):
            if "{" in fill_phrases(text, texts.phrases):
                yield f"a {{placeholder}} in its {language} text is not one of `phrases`"
    if rule.kind in ("answer", "qualifier") and rule.outcome not in rules.outcomes:
        yield f"unknown outcome {rule.outcome!r}"
    if rule.kind in ("note", "qualified") and rule.outcome is not None:
        yield f"{rule.kind} rules add text; they have no outcome"
    if rule.kind == "qualifier" and not set(rule.when) <= set(QUALIFIER_KEYS):
        yield f"a qualifier's `when` may use only {QUALIFIER_KEYS}"
    for ref in rule.references:
        if ref not in rules.references:
            yield f"unknown reference {ref!r}"
