"""spaCy pipeline for the member FAQ assistant.

Blank English tokenizer, then:
- `hcsc_norm`: each token's NORM is its lower-case text without dots or
  accents, so patterns ignore case, dots and accents ("H.M.O.", "TEXAS",
  "fisioterapia"/"fisioterapía");
- `entity_ruler`: the reviewed vocabulary in `entity_patterns.yml`;
- `hcsc_unlisted_insurer`: a name the vocabulary does not know in "I have
  <name> insurance" / "I'm with <name> health plan" / "tengo seguro <name>"
  is another insurer;
- `sentencizer` + `negex` (negspacy's NegEx, with the reviewed terms in
  `negation_terms.yml`): qualifiers the member denies ("not at a spa", "isn't
  maintenance") get `ent._.negex` set, so the assistant does not use them.
  A cue counts only outside the entity: "no voy a mejorar" (a plateau) is
  a stage, not its denial (`CueOutsideNegex`);
- `past_insurer_negex` (a second NegEx, terms under `past_insurer`): an
  insurer or HCSC plan the member no longer has ("I used to have Cigna",
  "switched from Aetna", "my old plan was BCBSTX") gets `ent._.negex` too;
- `hcsc_current_plan` (terms under `current_plan`): a plan named with "now"
  or a switch ("we had bcbs texas, now we have kaiser", "I had BCBSTX, I
  have Aetna now", "switched to Aetna from BCBSTX") is the member's, and the
  insurers or states named before it, or after it with "had"/"from", get
  `ent._.negex` as ones they left (see `CurrentPlanCue`);
- `hcsc_plan_changes` (terms under `plan_changes`): plan types the member
  left, told by the words right next to them ("I had a PPO but switched to
  an HMO", "my PPO expired"), and plans the member will move to ("starting
  January we go to an HMO") get `ent._.negex` (see `PlanChanges`).

No pretrained spaCy model can be downloaded where this project runs, and the
entities it needs are a closed vocabulary, so the pipeline is built from these
files when spaCy loads the package. Installed as a package,
`spacy.load("en_hcsc_entities")` finds it whatever the working directory is.
"""

import bisect
import unicodedata
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union

import spacy
import yaml
from negspacy.negation import Negex
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

PATTERNS_PATH = Path(__file__).with_name("entity_patterns.yml")
NEGATION_PATH = Path(__file__).with_name("negation_terms.yml")
UNLISTED_INSURER_PATH = Path(__file__).with_name("unlisted_insurer.yml")

# Entities a member may deny ("not at a spa"); plans and plan types the member
# left are marked by their own components (below).
QUALIFIER_LABELS = ["care_setting", "purpose", "stage"]
# An insurer, or an HCSC plan named by its state ("my old plan was bcbs
# texas"), may be one the member no longer has (its own, narrower terms).
PAST_INSURER_LABELS = ["insurer", "state"]
PAST_INSURER_TERMS = "past_insurer"
CURRENT_PLAN_TERMS = "current_plan"
# The word lists of that section, each an argument of `CurrentPlanCue`.
CURRENT_PLAN_LISTS = (
    "cues",
    "fillers",
    "not_after",
    "additions",
    "leads",
    "past",
    "others",
    "past_after",
    "switches",
    "switch_fillers",
    "swaps",
    "coverage_programs",
    "until",
    "times",
    "still",
    "no_plan",
    "future",
    "change_words",
    "unsure_words",
)
# At most this many filler words between "now" and the plan named.
MAX_FILLERS = 6
# Words after the plan named in which "as secondary", "too" count.
ADDITION_WINDOW = 3
# Words before a plan in which "had", "was" or another person ("my wife
# got") count, for the current plan's `past` and `others` terms; and words
# after it in which a `past_after` word counts ("since BCBSTX was too dear").
CONTEXT_WINDOW = 3
PAST_AFTER_WINDOW = 2
UNLISTED_INSURER = "unlisted"
ARTICLES = {"a", "an", "the"}
# What may stand between a person and the plan they own: "husband's Kaiser".
POSSESSIVE_MARKS = {"'s", "s"}
# The member with another person ("my wife and I switched to Aetna").
MEMBER_WORDS = {"i", "we", "yo", "nosotros"}
# The member as the one a switch moved ("my husband's job added me to his
# plan", "they switched us to UHC"): the plan after it is the member's.
MEMBER_OBJECTS = {"me", "us", "nos"}
# The member's own plan, right before it: "does my Humana cover it?".
MEMBER_POSSESSIVES = {"my", "our", "mi", "nuestro", "nuestra"}
# The member's own plan named after it: "my husband's plan is BCBSNM, mine is UHC".
MEMBER_PRONOUNS = {"mine", "ours", "mio", "mia"}
# A question for another person: "for my son", "para ella", "her plan".
ASKING_FOR = {"for", "para"}
THEIR_WORDS = {"his", "her", "their"}
PLAN_WORDS = {"plan", "insurance", "coverage"}
# A question about the member: "do I need", "for me", "what about me", "yo también".
MEMBER_QUESTIONS = {
    ("do", "i"),
    ("can", "i"),
    ("will", "i"),
    ("should", "i"),
    ("for", "me"),
    ("about", "me"),
    ("a", "mi"),
    ("para", "mi"),
    ("yo", "tambien"),
}
MEMBER_ASKS = {"necesito", "ocupo", "puedo"}
# "el necesita", "mi hijo ocupa": a question for that person.
THIRD_PERSON_ASKS = {"necesita", "ocupa", "puede"}
# "does her plan cover", not "i'm not on his plan".
QUESTION_WORDS = {"does", "do", "will", "would", "can", "is", "cubre", "cubren"}
# An insurer id that names a place, not a plan ("out of state").
OUT_OF_AREA = "out_of_area"
# Where a member went after a switch ("switched to Aetna"): the plan after
# it is not one swapped away ("switched bcbsil for bcbsmt").
SWITCH_DESTINATIONS = {"to", "into", "onto", "a", "al"}
# Plan-type entities: one named as coverage in its own right (Medicaid) may be
# the plan now, like an insurer, in `CurrentPlanCue`; `PlanChanges` marks
# plan types (Medicaid too) from the words next to them.
PLAN_TYPE_LABEL = "plan_type"
# Words that may join a plan type to the plan it is part of: "bcbstx hmo",
# "an hmo through bcbstx", "ppo de blue cross de texas".
PLAN_TYPE_JOINERS = {
    "plan",
    "through",
    "thru",
    "with",
    "from",
    "by",
    "of",
    "in",
    "de",
    "del",
    "con",
    "en",
    "'s",
}
# At most this many joiners between a plan type and its plan ("an HMO through BCBSTX").
PLAN_TYPE_REACH = 2
# A plan joined to the current one by these is held too ("BCBSTX and Medicare").
JOINING_WORDS = {"and", "y", "&", "plus"}
# Two plans held together: "Medicare is my primary and BCBSIL secondary".
COORDINATION_WORDS = {
    "primary",
    "secondary",
    "supplement",
    "supplemental",
    "medigap",
    "primario",
    "primaria",
    "secundario",
    "secundaria",
    "suplemento",
}
# Words right before a later plan that hold it beside the one named now.
HELD_BESIDE = JOINING_WORDS | {"along"}
# Marks between "now" and a plan after it that make the plan before "now"
# the one meant ("I have Aetna now, my BCBSTX was cancelled").
SENTENCE_MARKS = {",", ".", ";", "?", "!"}
# Where a clause ends: words after these belong to another statement.
CLAUSE_ENDS = {".", ",", "?", "!", ";", "and", "y"}

Phrase = Union[str, Dict[str, Any]]


# A state entity that starts with one of these names an HCSC plan ("bcbstx",
# "Blue Cross and Blue Shield of Texas"), not only where the member lives.
HCSC_PLAN_WORDS = ("bcbs", "blue")


def names_a_plan(ent: Span) -> bool:
    """True for an HCSC plan's name or another insurer, not a place ("texas", "out of state")."""
    return names_hcsc_plan(ent) or (ent.label_ != "state" and ent.ent_id_ != "out_of_area")


def names_hcsc_plan(ent: Span) -> bool:
    """True when a state entity is an HCSC plan's name ("BCBSTX"), not a place ("Texas")."""
    return ent.label_ == "state" and norm(ent[0].text).startswith(HCSC_PLAN_WORDS)


def norm(text: str) -> str:
    """A token's text as patterns match it: lower case, dots and accents removed
    ("H.M.O." -> "hmo", "Rehabilitación" -> "rehabilitacion"): members often
    type Spanish without accents."""
    lowered = text.lower()
    plain = "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c))
    plain = plain.replace("’", "'")  # phones type "I’m" with a curly apostrophe
    return plain.replace(".", "") or plain


@Language.component("hcsc_norm")
def hcsc_norm(doc: Doc) -> Doc:
    """Set every token's NORM to `norm(text)`."""
    for token in doc:
        token.norm_ = norm(token.text)
    return doc


def _token_pattern(phrase: str, attr: str, nlp: Language) -> List[Dict[str, str]]:
    """One token-level pattern matching `phrase` token by token on `attr`."""
    if attr == "NORM":
        return [
            {"NORM": norm(token.text)} for token in nlp.make_doc(phrase.replace(".", "")) if norm(token.text)
        ]
    return [{attr: token.text} for token in nlp.make_doc(phrase)]


def _expand(entry: Phrase) -> Iterator[Phrase]:
    """Expand a `{templates, fill}` entry into plain phrases; pass others on."""
    if isinstance(entry, dict) and "templates" in entry:
        for template in entry["templates"]:
            for word in entry["fill"]:
                yield template.format(word)
    else:
        yield entry


def ruler_patterns(nlp: Language, path: Path = PATTERNS_PATH) -> List[Dict[str, Any]]:
    """Translate the reviewed YAML vocabulary into entity_ruler patterns."""
    vocabulary = yaml.safe_load(path.read_text(encoding="utf-8"))
    patterns: List[Dict[str, Any]] = []
    for label, values in vocabulary.items():
        for value, phrases in values.items():
            for entry in (p for phrase in phrases for p in _expand(phrase)):
                if isinstance(entry, str):
                    pattern = _token_pattern(entry, "NORM", nlp)
                elif "exact" in entry:
                    pattern = _token_pattern(entry["exact"], "ORTH", nlp)
                elif "regex" in entry:
                    # Open-ended matches keep their own text as the value.
                    patterns.append({"label": label, "pattern": [{"TEXT": {"REGEX": entry["regex"]}}]})
                    continue
                else:
                    raise ValueError(f"{path}: unknown entry {entry!r} under {label}/{value}")
                patterns.append({"label": label, "pattern": pattern, "id": str(value)})
    return patterns


class UnlistedInsurer:
    """Marks `<name>` in "I have <name> insurance" as an insurer the vocabulary does not list.

    The name is 1 to 4 words between a lead-in ("i have", "i'm with") and a
    plan word ("insurance", "health plan"): none of them a state or insurer
    entity or a word that describes rather than names a plan ("my", "good",
    "employer"), and at least one of them no entity at all (a plan-type word
    may be part of a name: "Prairie Star"). Reviewed words: `unlisted_insurer.yml`.
    """

    def __init__(self, nlp: Language, path: Path = UNLISTED_INSURER_PATH) -> None:
        words = yaml.safe_load(path.read_text(encoding="utf-8"))

        def phrases(key: str) -> List[Tuple[str, ...]]:
            return [tuple(norm(t.text) for t in nlp.make_doc(str(p))) for p in words[key]]

        self.lead_ins = phrases("lead_ins")
        self.plan_words = phrases("plan_words")
        self.lead_ins_before_name = phrases("lead_ins_before_name")
        self.not_names: Set[str] = {norm(str(w)) for w in words["not_names"]}
        self.max_words = int(words.get("max_words", 4))

    def __call__(self, doc: Doc) -> Doc:
        norms = [token.norm_ for token in doc]
        in_entity = {i for ent in doc.ents for i in range(ent.start, ent.end)}
        # A plan-type word may be part of a name ("Prairie Star Health Plan")
        # next to a word that is no entity; any other entity ends the name.
        in_plan_type = {i for ent in doc.ents if ent.label_ == "plan_type" for i in range(ent.start, ent.end)}
        blocked = in_entity - in_plan_type
        found: List[Span] = []
        for start in range(len(doc)):
            for lead in self.lead_ins:
                end_lead = start + len(lead)
                if tuple(norms[start:end_lead]) != lead:
                    continue
                if end_lead < len(doc) and norms[end_lead] in ARTICLES:
                    end_lead += 1
                for size in range(1, self.max_words + 1):
                    name_end = end_lead + size
                    name = range(end_lead, name_end)
                    if name_end > len(doc) or any(
                        i in blocked or norms[i] in self.not_names or not doc[i].is_alpha and norms[i] != "&"
                        for i in name
                    ):
                        break
                    names_something = any(i not in in_entity for i in name)
                    if names_something and any(
                        tuple(norms[name_end : name_end + len(w)]) == w for w in self.plan_words
                    ):
                        found.append(Span(doc, end_lead, name_end, label="insurer", span_id=UNLISTED_INSURER))
                        break
        found += self._names_after_plan_words(doc, norms, in_entity, blocked)
        if found:
            doc.ents = filter_spans(list(doc.ents) + found)
        return doc

    def _names_after_plan_words(
        self, doc: Doc, norms: List[str], in_entity: Set[int], blocked: Set[int]
    ) -> List[Span]:
        """Names after a lead-in that ends in a plan word ("tengo seguro <name>", Spanish
        order): the name runs to the next word that cannot be part of a name, and is
        not taken when it would run past `max_words` (a sentence, not a name)."""
        found: List[Span] = []
        for start in range(len(doc)):
            for lead in self.lead_ins_before_name:
                end_lead = start + len(lead)
                if tuple(norms[start:end_lead]) != lead:
                    continue
                name_end = end_lead
                while (
                    name_end < len(doc)
                    and name_end not in blocked
                    and norms[name_end] not in self.not_names
                    and (doc[name_end].is_alpha or norms[name_end] == "&")
                ):
                    name_end += 1
                name = range(end_lead, name_end)
                if 0 < len(name) <= self.max_words and any(i not in in_entity for i in name):
                    found.append(Span(doc, end_lead, name_end, label="insurer", span_id=UNLISTED_INSURER))
        return filter_spans(found)


@Language.factory("hcsc_unlisted_insurer")
def make_unlisted_insurer(nlp: Language, name: str) -> UnlistedInsurer:
    return UnlistedInsurer(nlp)


# A denial reaches every item of a list joined by "or" / "nor" ("not at a spa
# or a massage clinic"): these words may stand between two items.
COORDINATORS = {"or", "nor", "ni", "o", "u"}
LIST_WORDS = COORDINATORS | {
    ",",
    "a",
    "an",
    "the",
    "at",
    "in",
    "to",
    "any",
    "un",
    "una",
    "el",
    "la",
    "en",
    "al",
}
# Where a member went, after the plan they left ("switched from Aetna to
# BCBSTX", "me cambie de BCBSNM a Ambetter"): the scope of a past cue ends at
# one of these words before a named plan, once the cue has reached a plan.
DESTINATION_WORDS = {"to", "into", "onto", "for", "a", "al"}
# Of those, the ones that end the scope even after words naming no plan
# ("switched from the bronze to the gold plan at BCBSTX"); not "for" ("don't
# have coverage for massage with Aetna") nor Spanish "a" ("voy a").
PLAIN_DESTINATIONS = {"to", "into", "onto"}
# Spanish verbs after which "a" is "to": "cambio a Cigna", "se paso a UHC".
SPANISH_MOVES = {
    "cambio",
    "cambie",
    "cambiamos",
    "cambiaron",
    "paso",
    "pase",
    "pasamos",
    "fue",
    "fui",
    "fuimos",
}
# "to" that is no destination: "due to divorce", "according to".
NOT_DESTINATION_BEFORE = {"due", "according", "thanks", "next", "prior", "up"}
# Past tense beside "still": "I still had BCBSTX until December" was left.
PAST_TENSE = {"had", "was", "were", "tenia", "tuve", "era", "estaba"}
ARTICLES = {"a", "an", "the", "un", "una", "el", "la"}


class CueOutsideNegex(Negex):
    """negspacy's NegEx, with five changes.

    - A cue counts only outside the entity: negspacy negated an entity when a
      preceding cue merely starts before it, so "ya no voy a" denied the
      plateau "no voy a mejorar mas" it overlaps. Here a preceding cue must
      end where the entity starts or before, a following cue start where it
      ends or after.
    - A denial reaches the next items of a list ("not at a spa or a massage
      clinic", "neither a spa nor a wellness center").
    - With `destination_words` (the past insurers' negex), a cue's scope ends
      before where the member went ("switched from Aetna to BCBSTX").
    - With `adjacent_negations`, a word ("no", "sin") denies the entity right
      after it, an article at most between ("no physical therapy involved").
    - A terminating word inside a cue ("i" in "before i had", "but" opening
      "but dropped it") does not end its scope: negspacy cut "before i had
      bcbs texas" at "i", so the plan left stayed the member's.
    """

    def __init__(
        self,
        *args: Any,
        destination_words: Iterable[str] = (),
        adjacent_negations: Iterable[str] = (),
        still_words: Iterable[str] = (),
    ) -> None:
        super().__init__(*args)
        self.still_words = {norm(word) for word in still_words}
        self.destination_words = set(destination_words)
        self.adjacent_negations = {norm(word) for word in adjacent_negations}

    def build_patterns(self) -> None:
        """negspacy's matcher, on each token's NORM rather than its lower case:
        terms then match as typed on a phone ("isn’t", "don’t have") and with
        or without accents ("no se si" / "no sé si")."""
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="NORM")
        for key, terms in (
            ("pseudo", self.pseudo_negations),
            ("Preceding", self.preceding_negations),
            ("Following", self.following_negations),
            ("Termination", self.termination),
        ):
            self.matcher.add(key, [hcsc_norm(doc) for doc in self.nlp.tokenizer.pipe(terms)])

    def negex(self, doc: Doc) -> Doc:
        preceding, following, terminating = self.process_negations(doc)
        # A terminating word inside a cue ("i" in "before i had"), or opening a
        # following one ("but" in "...bcbs texas but dropped it"), does not cut
        # the cue off from what it is about.
        terminating = [
            t
            for t in terminating
            if not any(start < t[1] < end for _, start, end in preceding)
            and not any(start <= t[1] < end for _, start, end in following)
        ]
        ents = [e for e in doc.ents if not self.ent_types or e.label_ in self.ent_types]
        for start, end in self.termination_boundaries(doc, terminating):
            inside = [e for e in ents if start <= e.start and e.end <= end]
            # Any entity may be where the member went ("from HMO to PPO").
            named = [e for e in doc.ents if start <= e.start and e.end <= end]
            for _, cue_start, cue_end in preceding:
                if start <= cue_start < end:
                    stop = self._scope_end(doc, named, cue_end, end)
                    for ent in inside:
                        if cue_end <= ent.start and ent.end <= stop:
                            ent._.set(self.extension_name, True)
            for _, cue_start, _ in following:
                if start <= cue_start < end:
                    for ent in inside:
                        if (
                            cue_start >= ent.end
                            and not self._went_to(doc, ent)
                            and not self._still_held(doc, ent)
                        ):
                            ent._.set(self.extension_name, True)
        for ent in ents:
            if self._denied_right_before(doc, ent.start):
                ent._.set(self.extension_name, True)
        for first, second in zip(ents, ents[1:], strict=False):
            between = {token.norm_ for token in doc[first.end : second.start]}
            if first._.get(self.extension_name) and between & COORDINATORS and between <= LIST_WORDS:
                second._.set(self.extension_name, True)
        return doc

    def _still_held(self, doc: Doc, ent: Span) -> bool:
        """True when the member says they still hold it ("i still have BCBSIL from
        my old job"), with `still_words` (the past insurers' negex only)."""
        window = [t.norm_ for t in doc[max(0, ent.start - 3) : ent.start]]
        # "I still had BCBSTX until december" is past: only a plan still held counts.
        return any(w in self.still_words for w in window) and not any(w in PAST_TENSE for w in window)

    def _went_to(self, doc: Doc, ent: Span) -> bool:
        """True when the entity is where the member went ("switched to Cigna last
        year", "cambio a Cigna el ano pasado"): a time after it dates the move."""
        before = [t.norm_ for t in doc[max(0, ent.start - 3) : ent.start]]
        if not before:
            return False
        if before[-1] in PLAIN_DESTINATIONS:
            return True
        if len(before) >= 2 and before[-1] in ARTICLES and before[-2] in PLAIN_DESTINATIONS:
            return True  # "switched to a Cigna plan"
        # Spanish "a" is "to" only after a verb of moving ("cambio a Cigna"); English "a" is an article.
        return len(before) >= 2 and before[-1] in {"a", "al"} and before[-2] in SPANISH_MOVES

    def _denied_right_before(self, doc: Doc, start: int) -> bool:
        """True when an adjacent denial ("no", "sin") ends where the entity
        starts, or one article ("without a PT") before."""
        before = start - 1
        if before >= 0 and doc[before].norm_ in ARTICLES:
            before -= 1
        return before >= 0 and doc[before].norm_ in self.adjacent_negations

    def _scope_end(self, doc: Doc, ents: List[Span], cue_end: int, end: int) -> int:
        """Where a preceding cue's scope ends: at a destination word before one of
        `ents`, once one of them lies between the cue and that word ("switched
        from HMO to PPO with BCBSTX" ends at "to"); at "to" after words that
        name no plan ("switched from the bronze to the gold plan at BCBSTX");
        else at `end`."""
        starts = {e.start for e in ents}
        for i in range(cue_end, end):
            if doc[i].norm_ not in self.destination_words:
                continue
            if not any(cue_end <= e.start and e.end <= i for e in ents):
                if (
                    i > cue_end
                    and doc[i].norm_ in PLAIN_DESTINATIONS
                    and doc[i - 1].norm_ not in NOT_DESTINATION_BEFORE
                ):
                    return i
                continue
            after = i + 1
            if after < end and doc[after].norm_ in ARTICLES:
                after += 1
            if after in starts:
                return i
        return end


@Language.factory(
    "hcsc_negex",
    default_config={
        "neg_termset": {},
        "ent_types": [],
        "extension_name": "negex",
        "chunk_prefix": [],
        "destination_words": [],
        "adjacent_negations": [],
        "still_words": [],
    },
)
def make_negex(
    nlp: Language,
    name: str,
    neg_termset: Dict[str, List[str]],
    ent_types: List[str],
    extension_name: str,
    chunk_prefix: List[str],
    destination_words: List[str],
    adjacent_negations: List[str],
    still_words: List[str],
) -> CueOutsideNegex:
    return CueOutsideNegex(
        nlp,
        name,
        neg_termset,
        ent_types,
        extension_name,
        chunk_prefix,
        destination_words=destination_words,
        adjacent_negations=adjacent_negations,
        still_words=still_words,
    )


def _clause(span: Iterable[Token]) -> List[Token]:
    """The tokens up to the first clause end ("," "." "and")."""
    tokens: List[Token] = []
    for token in span:
        if token.norm_ in CLAUSE_ENDS:
            break
        tokens.append(token)
    return tokens


def _said_of(member_at: List[int], person: int, ent: Span) -> bool:
    """True when no member word ("I", "we"; positions `member_at`, sorted) stands
    between the person and `ent`."""
    k = bisect.bisect_right(member_at, person)
    return k == len(member_at) or member_at[k] >= ent.start


class CurrentPlanCue:
    """Marks the plans a member left when they name the one they have now.

    A cue ("now", "ahora", "starting") followed, through at most MAX_FILLERS
    filler words ("I have", "it's", "tengo", "january"), by an insurer or
    state entity that is not itself denied: every insurer or state entity
    ending before the cue gets `ent._.negex` ("we had bcbs texas but moved
    and now have kaiser": BCBSTX is left, Kaiser is the plan). When no plan
    follows the cue, one just before it counts the same way if a filler or a
    `leads` word ("but") comes right before it and at most MAX_FILLERS
    fillers after it ("I had BCBSTX, I have Aetna now"): the plans before
    that one were left. A plan joined by "and" ("BCBSTX and Aetna now") has
    no such word, so both stay. A switch ("switched to", "signed up for",
    "added me to") names only the plan after it, through fillers or
    `switch_fillers`; a swap ("switched bcbsil for bcbsmt", "cambie mi
    bcbstx por aetna") names the plan after the `swaps` word, and the one
    swapped away is left. A plan named after the member's current one is
    left too when a `past` word comes within CONTEXT_WINDOW words before it
    ("I have Aetna now, I had BCBSTX", "switched to Aetna from BCBSTX") or a
    `past_after` word within PAST_AFTER_WINDOW after it ("since BCBSTX was
    too dear"). A `coverage_programs` plan type ("now I have Medicaid") may
    be the plan now, like an insurer. Not a cue right after a `not_after`
    word ("for now"), nor one whose plan has an `additions` word within
    ADDITION_WINDOW words after it ("now BCBSTX as secondary"). When an
    `others` word comes within CONTEXT_WINDOW words before the plan or the
    cue ("my wife got Aetna now"), the plan is that person's: the member's
    own plan stays, and only plans named after that person (theirs, before
    the member speaks of themselves again) are left ("mi mama tenia bcbstx
    pero ahora tiene medicare"); not when that person's plan is named as
    theirs and held by the member ("on my husband's Kaiser now"), or a
    switch moved the member ("added me to"). Apart from cues, a plan held
    `until` a time ("was my plan thru december") is left when spoken of in
    the past or followed by another plan (`_ends_at_a_time`). Runs after
    both negexes. When the member names a plan of their own, or says they
    have none (`no_plan`), a plan another person holds is marked as not
    theirs ("my son has BCBSTX but I'm on Cigna"). When no cue named the
    plan now and two different plans are still unmarked in a message that
    speaks of a change, all are marked: the member is asked (`_mark_unsure`).
    """

    def __init__(
        self,
        cues: Iterable[str],
        fillers: Iterable[str],
        ent_types: Iterable[str],
        not_after: Iterable[str] = (),
        additions: Iterable[str] = (),
        leads: Iterable[str] = (),
        past: Iterable[str] = (),
        others: Iterable[str] = (),
        past_after: Iterable[str] = (),
        switches: Iterable[str] = (),
        switch_fillers: Iterable[str] = (),
        swaps: Iterable[str] = (),
        coverage_programs: Iterable[str] = (),
        until: Iterable[str] = (),
        times: Iterable[str] = (),
        still: Iterable[str] = (),
        no_plan: Iterable[str] = (),
        future: Iterable[str] = (),
        change_words: Iterable[str] = (),
        unsure_words: Iterable[str] = (),
    ) -> None:
        self.future = {norm(word) for word in future}
        self.change_words = {norm(word) for word in change_words}
        self.unsure_words = {norm(word) for word in unsure_words}
        # Each phrase as token norms, its tokens split by spaces ("do n't": the factory tokenizes).
        self.no_plan = [tuple(norm(word) for word in phrase.split()) for phrase in no_plan]
        self.until = {norm(word) for word in until}
        self.times = {norm(word) for word in times}
        self.still = {norm(word) for word in still}
        self.cues = {norm(word) for word in cues}
        self.switches = {norm(word) for word in switches}
        self.fillers = {norm(word) for word in fillers}
        self.switch_fillers = self.fillers | {norm(word) for word in switch_fillers}
        self.swaps = {norm(word) for word in swaps}
        self.ent_types = set(ent_types)
        self.coverage_programs = set(coverage_programs)
        self.not_after = {norm(word) for word in not_after}
        self.additions = {norm(word) for word in additions}
        self.leads = self.fillers | {norm(word) for word in leads}
        self.past = {norm(word) for word in past}
        self.past_after = {norm(word) for word in past_after}
        self.others = {norm(word) for word in others}
        self.cues_and_switches = self.cues | self.switches
        # Words that may stand between a person and the plan they hold.
        self.member_walk = self.fillers | self.cues | self.still
        self.owner_walk = self.fillers | self.cues

    def __call__(self, doc: Doc) -> Doc:
        ents = [e for e in doc.ents if e.label_ in self.ent_types]
        plans = [e for e in doc.ents if e.label_ in self.ent_types or self._is_coverage_program(e)]
        starts = {e.start: e for e in plans}
        ends = {e.end: e for e in plans}
        for ent in ents:
            if self._ends_at_a_time(doc, ent, plans):
                ent._.set("negex", True)
        named_now: List[Span] = []
        member_at = [t.i for t in doc if t.norm_ in MEMBER_WORDS]
        for cue in (t.i for t in doc if t.norm_ in self.cues_and_switches):
            if cue > 0 and doc[cue - 1].norm_ in self.not_after:
                continue
            plan, left_before = self._current_plan(doc, cue, starts, ends)
            if plan is None or plan._.negex:
                continue
            if self._is_added(doc, plan):
                named_now.append(plan)  # held beside the other plan: both are the member's
                continue
            person = self._other_person(doc, plan, cue)
            if person is not None:
                # That person's plan now: only what they had before is left.
                for ent in ents:
                    if not (person < ent.start and ent.end <= left_before):
                        continue
                    if _said_of(member_at, person, ent) and not self._is_members(doc, ent):
                        ent._.set("negex", True)
                continue
            named_now.append(plan)
            for ent in ents:
                if ent.end <= left_before or (ent.start >= plan.end and self._is_past(doc, ent, plan)):
                    ent._.set("negex", True)
        says_no_plan = self._says_no_plan(doc)
        if says_no_plan and not named_now:
            # "my plan was BCBSOK but it got cancelled, now I have nothing": none is theirs.
            for ent in ents:
                ent._.set("negex", True)
        asks_for_someone_else = self._asks_for_someone_else(doc)
        self._mark_other_peoples(doc, ents, plans, named_now, says_no_plan, asks_for_someone_else)
        # Plan types too: "my husband has a PPO and I'm on an HMO", "my friend has an HMO, do I need one?".
        types = [e for e in doc.ents if e.label_ == PLAN_TYPE_LABEL and not e._.negex]
        self._mark_other_peoples(doc, types, types, [], says_no_plan, asks_for_someone_else)
        if not self._resolved(doc, named_now, ents):
            self._mark_unsure(doc, ents)
        return doc

    def _mark_other_peoples(
        self,
        doc: Doc,
        ents: List[Span],
        plans: List[Span],
        named_now: List[Span],
        says_no_plan: bool,
        asks_for_someone_else: bool,
    ) -> None:
        """Mark, of `ents`, the plans that are not the one asked about: the
        member's own when the question is for another person whose plan is
        named, else another person's when the member names their own or says
        they have none, or asks about themselves ("do I", "yo")."""
        members_own = any(self._is_members(doc, plan) and not plan._.negex for plan in plans)
        theirs = [e for e in ents if self._is_someone_elses(doc, e) and not self._is_members(doc, e)]
        if asks_for_someone_else and theirs:
            # "my mom has Molina and I have BCBSIL, is it covered for her?": her
            # plan is the one asked about, the member's own is not.
            for ent in ents:
                if self._is_members(doc, ent):
                    ent._.set("negex", True)
        elif (members_own or says_no_plan or self._asks_for_the_member(doc)) and not asks_for_someone_else:
            # "my son has BCBSTX through his job but I'm on Cigna": his plan
            # is not the one to answer for; one the member was put on is.
            for ent in theirs:
                if ent not in named_now:
                    ent._.set("negex", True)

    def _asks_for_the_member(self, doc: Doc) -> bool:
        """True when the question is about the member: "do I need", "for me", "yo también"."""
        norms = [t.norm_ for t in doc]
        pairs = set(zip(norms, norms[1:], strict=False))
        return bool(pairs & MEMBER_QUESTIONS) or any(n in MEMBER_ASKS for n in norms)

    def _resolved(self, doc: Doc, named_now: List[Span], ents: List[Span]) -> bool:
        """True when a cue named the plan now and no other unmarked plan follows it
        ("I kept BCBSTX through COBRA, then my husband's job gave us Aetna" is
        not), other than one held beside it ("now BCBSTX and Medicare", "along
        with Medicare", "Aetna as secondary")."""
        if not named_now:
            return False
        last = max(plan.end for plan in named_now)
        named = {(plan.label_, plan.ent_id_) for plan in named_now}
        for e in ents:
            if e.start < last or e._.negex or (e.label_, e.ent_id_) in named or not names_a_plan(e):
                continue
            beside = any(t.norm_ in HELD_BESIDE for t in doc[max(0, e.start - 2) : e.start])
            if not beside and not self._is_added(doc, e):
                return False
        return True

    def _holds_all(self, doc: Doc, plans: List[Span]) -> bool:
        """True when the member names one plan as theirs and every other one as
        theirs too or joined to it by "and" ("I have BCBSTX and Medicare")."""
        own = [p for p in plans if self._is_members(doc, p)]

        def joined(a: Span, b: Span) -> bool:
            return b.start == a.end + 1 and doc[a.end].norm_ in JOINING_WORDS

        return bool(own) and all(p in own or any(joined(o, p) or joined(p, o) for o in own) for p in plans)

    def _mark_unsure(self, doc: Doc, ents: List[Span]) -> None:
        """Mark every plan when two or more different ones are still unmarked and
        the message speaks of a change (`change_words`) that no cue resolved:
        "my job switched carriers from BCBSIL to UHC". Which one the member has
        is unknown, and asking beats answering for the wrong one. Places are
        not plans ("texas", "out of state")."""
        unmarked = [e for e in ents if not e._.negex and names_a_plan(e)]
        if len({(e.label_, e.ent_id_) for e in unmarked}) < 2:
            return
        if self._holds_all(doc, unmarked):
            return  # "I have BCBSTX and Medicare, was told...": the member said they hold both
        in_entity = {i for e in doc.ents for i in range(e.start, e.end)}
        words = [t.norm_ for t in doc if t.i not in in_entity]  # not "nuevo" in "Blue Cross de Nuevo Mexico"
        if any(w in self.unsure_words for w in words):
            for ent in unmarked:  # "not sure if I have BCBSMT or Humana"
                ent._.set("negex", True)
            return
        if any(w in COORDINATION_WORDS for w in words):
            return  # "Medicare is my primary and BCBSIL is secondary": both are held
        if any(w in self.change_words for w in words):
            for ent in unmarked:
                ent._.set("negex", True)

    def _asks_for_someone_else(self, doc: Doc) -> bool:
        """True when the question is for another person ("for my son", "for her",
        "para mi mama", "her plan"): that person's plan is the one asked about.
        Not when the member asks for themselves too ("does mine cover it for me")."""
        norms = [t.norm_ for t in doc]
        if any(
            a in ASKING_FOR and b in {"me", "myself", "mi"} for a, b in zip(norms, norms[1:], strict=False)
        ):
            return False
        for token in doc[:-1]:
            after = [t.norm_ for t in doc[token.i + 1 : token.i + 3]]
            if token.norm_ in ASKING_FOR and (
                after[0] in self.others
                or (len(after) == 2 and after[0] in MEMBER_POSSESSIVES and after[1] in self.others)
            ):
                return True
            if token.norm_ in QUESTION_WORDS and (
                after[0] in self.others
                or (len(after) == 2 and after[0] in MEMBER_POSSESSIVES and after[1] in self.others)
            ):
                return True  # "does she need a referral", "does my son need one"
            if token.norm_ in self.others | {"el", "ella"} and after[0] in THIRD_PERSON_ASKS:
                return True  # "el necesita referido", "mi suegro ocupa referral"
            asked = any(t.norm_ in QUESTION_WORDS for t in doc[max(0, token.i - 3) : token.i])
            # "does her plan cover", "does my daughters plan cover"
            if (
                (token.norm_ in THEIR_WORDS or token.norm_ in self.others)
                and after[0] in PLAN_WORDS
                and asked
            ):
                return True
        return False

    def _says_no_plan(self, doc: Doc) -> bool:
        """True when the member says they have no plan ("I don't have insurance")."""
        norms = [t.norm_ for t in doc]
        return any(
            tuple(norms[i : i + len(phrase)]) == phrase for phrase in self.no_plan for i in range(len(norms))
        )

    def _is_members(self, doc: Doc, plan: Span) -> bool:
        """True when the member names the plan as theirs: "my Humana", "I'm on
        Cigna", "yo tengo Humana", "I'm on my husband's Kaiser" (fillers only
        between, or a cue or `still`: "I still have Cigna"); not "my husband's Kaiser" alone."""
        owner = self._owner_length(doc, plan.start)
        start = plan.start - owner
        if owner == 0 and start > 0 and doc[start - 1].norm_ in MEMBER_POSSESSIVES:
            return True
        for token in reversed(doc[max(0, start - MAX_FILLERS) : start]):
            if token.norm_ in MEMBER_WORDS or token.norm_ in MEMBER_PRONOUNS:
                return True
            if token.norm_ in self.others or token.norm_ not in self.member_walk:
                return False
        return False

    def _is_someone_elses(self, doc: Doc, plan: Span) -> bool:
        """True when another person holds the plan: "my brother's BCBSMT", "his
        BCBSIL", "my son (now) has BCBSTX", "mi esposo tiene BCBSTX" (fillers or cues only between)."""
        if self._owner_length(doc, plan.start):
            return True
        for token in reversed(doc[max(0, plan.start - MAX_FILLERS) : plan.start]):
            if token.norm_ in self.others:
                return True
            if token.norm_ in MEMBER_WORDS or token.norm_ not in self.owner_walk:
                return False
        return False

    def _is_coverage_program(self, ent: Span) -> bool:
        """True for a plan type named as coverage in its own right ("medicaid")."""
        return ent.label_ == PLAN_TYPE_LABEL and ent.ent_id_ in self.coverage_programs

    def _current_plan(
        self, doc: Doc, cue: int, starts: Dict[int, Span], ends: Dict[int, Span]
    ) -> Tuple[Optional[Span], int]:
        """The plan the cue names as the member's, and where the plans left end; (None, 0) if none.

        A switch ("switched to") names only the plan after it, never one
        after "from"/"de" ("cambiamos de Cigna a ..."), and in a swap the
        plan after the `swaps` word ("switched bcbsil for bcbsmt"). A time
        cue names the plan right before it when one is led into it and no
        plan follows in the same sentence ("I have Aetna now, my BCBSTX was
        cancelled"), else the plan after it, else one before it through
        filler words.
        """
        if doc[cue].norm_ in self.switches:
            return self._switched_to(doc, cue, starts)
        before = self._plan_before(doc, cue, ends)
        after = self._plan_after(doc, cue, starts, self.fillers)
        across = after is not None and any(t.norm_ in SENTENCE_MARKS for t in doc[cue + 1 : after.start])
        if before is not None and before.end == cue and (after is None or across):
            return before, before.start
        if after is not None:
            return after, cue
        return before, before.start if before is not None else 0

    def _switched_to(self, doc: Doc, switch: int, starts: Dict[int, Span]) -> Tuple[Optional[Span], int]:
        """The plan a switch names and where the plans left end; (None, 0) if none.

        "switched to A": A, the plans before the switch left. "switched A
        for B": B, A left too. "changed our insurance from A to B" /
        "cambio el seguro de A a B": B, A left; with no B after A, none.
        """
        for i in range(switch + 1, min(len(doc), switch + 2 + MAX_FILLERS)):
            if i in starts:
                swapped_for = self._swapped_for(doc, switch, starts[i], starts)
                if swapped_for is not None:
                    return swapped_for, swapped_for.start
                return starts[i], switch
            if doc[i].norm_ in self.past:
                left = self._plan_after(doc, i, starts, self.fillers)
                if left is None or left.end >= len(doc) or doc[left.end].norm_ not in SWITCH_DESTINATIONS:
                    return None, 0
                new = self._plan_after(doc, left.end, starts, self.fillers)
                return (new, new.start) if new is not None else (None, 0)
            owned = any(i + k in starts and self._owner_length(doc, i + k) >= k for k in (1, 2))
            if doc[i].norm_ not in self.switch_fillers and not owned:
                return None, 0
        return None, 0

    def _ends_at_a_time(self, doc: Doc, ent: Span, ents: List[Span]) -> bool:
        """True for a plan held until a time ("was my plan thru december",
        "hasta diciembre", "until end of feb") when the member speaks of it
        in the past or names a plan after it, and not "still" with it.

        Only fillers or `past` words may stand between the plan and the
        `until` word, and a `times` word, a number or a date must follow it
        (an article between at most): "BCBSTX through my job" is no time.
        """
        clause = _clause(doc[ent.end : ent.end + MAX_FILLERS])
        for k, token in enumerate(clause):
            if token.norm_ in self.until:
                after = [t for t in clause[k + 1 : k + 3] if t.norm_ not in ARTICLES]
                if not after or not (after[0].norm_ in self.times or any(c.isdigit() for c in after[0].text)):
                    return False
                break
            if token.norm_ not in self.fillers and token.norm_ not in self.past:
                return False
        else:
            return False
        before = _clause(reversed(doc[max(0, ent.start - CONTEXT_WINDOW) : ent.start]))
        if any(t.norm_ in self.still for t in before + clause):
            return False
        said_in_past = any(t.norm_ in self.past for t in before + clause)
        return said_in_past or any(
            other.start >= ent.end and not other._.negex and not self._is_to_come(doc, ent, other)
            for other in ents
        )

    def _is_to_come(self, doc: Doc, ent: Span, later: Span) -> bool:
        """True when a `future` word comes between a plan and a later one ("until
        June, then going to Oscar"; "then I think we will go on ... Humana")."""
        return any(t.norm_ in self.future for t in doc[ent.end : later.start])

    def _swapped_for(
        self, doc: Doc, switch: int, plan: Optional[Span], starts: Dict[int, Span]
    ) -> Optional[Span]:
        """In "switched A for B" / "cambie A por B", B; else None (also for "switched to A for ...")."""
        if plan is None or any(t.norm_ in SWITCH_DESTINATIONS for t in doc[switch + 1 : plan.start]):
            return None
        after = plan.end
        if after >= len(doc) or doc[after].norm_ not in self.swaps:
            return None
        return self._plan_after(doc, after, starts, self.fillers)

    def _is_past(self, doc: Doc, ent: Span, plan: Span) -> bool:
        """True when a `past` word comes within CONTEXT_WINDOW words before `ent`
        (after the current `plan`), or a `past_after` word within
        PAST_AFTER_WINDOW after it, in the same clause as `ent`; never for a plan joined
        to the current one by "and" ("now BCBSTX and Medicare was added")."""
        if ent.start == plan.end + 1 and doc[plan.end].norm_ in JOINING_WORDS:
            return False
        before = _clause(reversed(doc[max(plan.end, ent.start - CONTEXT_WINDOW) : ent.start]))
        after = _clause(doc[ent.end : ent.end + PAST_AFTER_WINDOW])
        return any(t.norm_ in self.past for t in before) or any(t.norm_ in self.past_after for t in after)

    def _other_person(self, doc: Doc, plan: Span, cue: int) -> Optional[int]:
        """Where another person comes within CONTEXT_WINDOW words before the plan or the cue; else None.

        None when the person owns the plan right before it ("my husband's
        Kaiser", "my husbands kaiser"), when the member is with them ("my
        wife and I"), or when a switch moved the member ("added me to"): the
        member is on that plan.
        """
        if doc[cue].norm_ in self.switches and cue + 1 < len(doc) and doc[cue + 1].norm_ in MEMBER_OBJECTS:
            return None
        owner = plan.start - self._owner_length(doc, plan.start)
        for token in doc[max(0, min(cue, plan.start) - CONTEXT_WINDOW) : owner]:
            with_member = any(t.norm_ in MEMBER_WORDS for t in doc[token.i + 1 : token.i + 3])
            if token.norm_ in self.others and not with_member:
                return self._first_mention(doc, token.i)
        return None

    def _first_mention(self, doc: Doc, person: int) -> int:
        """The earliest `others` word of the sentence before `person` with no
        member word between ("my wife had BCBSOK but she's on Aetna now": "wife")."""
        first = person
        for i in range(person - 1, doc[person].sent.start - 1, -1):
            if doc[i].norm_ in MEMBER_WORDS:
                break
            if doc[i].norm_ in self.others:
                first = i
        return first

    def _owner_length(self, doc: Doc, start: int) -> int:
        """Tokens right before `start` naming another person as the plan's owner ("husband 's"), or 0."""
        if start >= 2 and doc[start - 1].norm_ in POSSESSIVE_MARKS and doc[start - 2].norm_ in self.others:
            return 2
        if start >= 1 and doc[start - 1].norm_ in self.others and doc[start - 1].norm_.endswith("s"):
            return 1
        return 0

    def _is_added(self, doc: Doc, plan: Span) -> bool:
        """True when an addition word ("as secondary", "too") follows the plan closely."""
        after = _clause(doc[plan.end : plan.end + ADDITION_WINDOW])
        # "as of 1/1" is a date, not "as secondary".
        return any(
            token.norm_ in self.additions
            and not (token.norm_ == "as" and doc[token.i + 1 : token.i + 2].text == "of")
            for token in after
        )

    def _plan_before(self, doc: Doc, cue: int, ends: Dict[int, Span]) -> Optional[Span]:
        """The entity before the cue, filler words only between and one just before it; else None."""
        for i in range(cue, max(0, cue - 1 - MAX_FILLERS), -1):
            if i in ends:
                plan = ends[i]
                lead = plan.start - 1 - self._owner_length(doc, plan.start)
                # A plan that opens the message is led by nothing: "Aetna now, had BCBSTX".
                return plan if lead < 0 or doc[lead].norm_ in self.leads else None
            if doc[i - 1].norm_ not in self.fillers:
                return None
        return None

    def _plan_after(self, doc: Doc, cue: int, starts: Dict[int, Span], fillers: Set[str]) -> Optional[Span]:
        """The entity after the cue, with `fillers` (or its owner, "husband's") only between; else None.

        A plan type on the way is part of that plan ("now an HMO with BCBSTX"):
        it and PLAN_TYPE_JOINERS after it are passed over.
        """
        types = {e.start: e for e in doc.ents if e.label_ == PLAN_TYPE_LABEL and e.start not in starts}
        i, end = cue + 1, min(len(doc), cue + 2 + MAX_FILLERS)
        after_type = False
        while i < end:
            if i in starts:
                return starts[i]
            if i in types:
                end = min(len(doc), end + len(types[i]) + PLAN_TYPE_REACH)
                i, after_type = types[i].end, True
                continue
            owned = any(i + k in starts and self._owner_length(doc, i + k) >= k for k in (1, 2))
            joined = after_type and doc[i].norm_ in PLAN_TYPE_JOINERS
            if doc[i].norm_ not in fillers and not owned and not joined:
                return None
            i += 1
        return None


@Language.factory(
    "hcsc_current_plan",
    default_config={key: [] for key in ("ent_types", *CURRENT_PLAN_LISTS)},
)
def make_current_plan(
    nlp: Language,
    name: str,
    cues: List[str],
    fillers: List[str],
    ent_types: List[str],
    not_after: List[str],
    additions: List[str],
    leads: List[str],
    past: List[str],
    others: List[str],
    past_after: List[str],
    switches: List[str],
    switch_fillers: List[str],
    swaps: List[str],
    coverage_programs: List[str],
    until: List[str],
    times: List[str],
    still: List[str],
    no_plan: List[str],
    future: List[str],
    change_words: List[str],
    unsure_words: List[str],
) -> CurrentPlanCue:
    return CurrentPlanCue(
        cues,
        fillers,
        ent_types,
        not_after=not_after,
        additions=additions,
        leads=leads,
        past=past,
        others=others,
        past_after=past_after,
        switches=switches,
        switch_fillers=switch_fillers,
        swaps=swaps,
        coverage_programs=coverage_programs,
        until=until,
        times=times,
        still=still,
        no_plan=[" ".join(token.text for token in nlp.make_doc(phrase)) for phrase in no_plan],
        future=future,
        change_words=change_words,
        unsure_words=unsure_words,
    )


def current_plan_config(path: Path = NEGATION_PATH) -> Dict[str, Any]:
    """`hcsc_current_plan`'s config from the reviewed YAML (section `current_plan`)."""
    terms = yaml.safe_load(path.read_text(encoding="utf-8"))[CURRENT_PLAN_TERMS]
    return {
        "ent_types": PAST_INSURER_LABELS,
        **{key: [str(t) for t in terms[key]] for key in CURRENT_PLAN_LISTS},
    }


PLAN_CHANGES_TERMS = "plan_changes"
PLAN_CHANGES_LISTS = (
    "type_leads",
    "had_guards",
    "type_ends",
    "end_continuations",
    "modified_nouns",
    "moves",
    "moves_before_to",
    "held_moves",
    "future_times",
)
# Words after a plan type before a `type_ends` phrase ("my PPO plan expired").
PLAN_WORDS_AFTER_TYPE = {"plan", "insurance"}
# Words of a plan's name before its type ("my BCBS Medicare Advantage plan").
HCSC_WORDS = {"bcbs", "blue", "cross", "bluecross", "shield"}
# Words between a verb of moving and the plan ("switching to a new HMO", "get my own PPO").
DESTINATION_SKIPS = {"own", "new", "nuevo", "nueva"}
# "to" standing apart from its verb ("switching from an HMO to a PPO").
ENGLISH_TO = {"to", "into", "onto"}
# How far back in its clause a verb of moving may be from that "to".
MOVE_WINDOW = 8
# Words between a held move and the future word before it ("going to have", "vamos a tener").
HELD_MOVE_LINKS = {"to", "a"}
Phrases = List[Tuple[str, ...]]


def _phrases(words: Iterable[str]) -> Phrases:
    """Each phrase as a tuple of token norms, longest first."""
    return sorted((tuple(norm(w) for w in phrase.split()) for phrase in words), key=len, reverse=True)


def _phrase_ending_at(doc: Doc, end: int, phrases: Phrases) -> Optional[Tuple[str, ...]]:
    """The first of `phrases` whose last token is doc[end], or None."""
    for phrase in phrases:
        start = end - len(phrase) + 1
        if start >= 0 and tuple(t.norm_ for t in doc[start : end + 1]) == phrase:
            return phrase
    return None


def _phrase_starting_at(doc: Doc, start: int, phrases: Phrases) -> Optional[Tuple[str, ...]]:
    """The first of `phrases` that starts at doc[start], or None."""
    for phrase in phrases:
        if tuple(t.norm_ for t in doc[start : start + len(phrase)]) == phrase:
            return phrase
    return None


def plan_of_type(doc: Doc, plan_type: Span, plans: List[Span]) -> Optional[Span]:
    """The plan (insurer or state entity) a plan type is named as part of, or None.

    The nearest of `plans` on either side with at most PLAN_TYPE_REACH words
    between, all PLAN_TYPE_JOINERS ("BCBSTX HMO", "an HMO through BCBSTX");
    the one before wins a tie.
    """
    best: Optional[Tuple[int, int]] = None
    owner: Optional[Span] = None
    for plan in plans:
        before = plan.end <= plan_type.start
        between = doc[plan.end : plan_type.start] if before else doc[plan_type.end : plan.start]
        if len(between) > PLAN_TYPE_REACH or any(t.norm_ not in PLAN_TYPE_JOINERS for t in between):
            continue
        rank = (len(between), 0 if before else 1)
        if best is None or rank < best:
            best, owner = rank, plan
    return owner


class PlanChanges:
    """Marks plan types the member left and plans the member will move to.

    Runs after `hcsc_current_plan`, and only ever marks (`ent._.negex`). A
    plan type was left when a `type_leads` phrase comes right before it
    (articles, "my", "bcbs" between: "used to have an HMO", "my old PPO",
    "tenía PPO"; "had" not after `had_guards`: "I've always had an HMO") or a
    `type_ends` phrase right after it ("my PPO expired", not "ended up"). A
    plan of any kind is one to come, in a sentence with a `future_times` word,
    right after a `moves` phrase ("go to an HMO", "nos cambian a un HMO"),
    after "to" with a `moves_before_to` verb earlier in its clause ("switching
    from BCBSTX to Aetna next month"), or right after a `held_moves` word that
    a future word leads ("we will have an HMO", "might get a PPO"); never one
    the member calls theirs ("going to my HMO doctor"). A type named as part
    of a marked plan is marked ("I had BCBSTX HMO, now BCBSIL"), and a plan
    whose type is one to come ("going to an HMO through BCBSIL next year").
    A type that names a thing (`modified_nouns`: "an HMO doctor", "a PPO
    referral") is never marked here.
    """

    def __init__(
        self,
        type_leads: Iterable[str],
        had_guards: Iterable[str],
        type_ends: Iterable[str],
        end_continuations: Iterable[str],
        modified_nouns: Iterable[str],
        moves: Iterable[str],
        moves_before_to: Iterable[str],
        held_moves: Iterable[str],
        future_times: Iterable[str],
    ) -> None:
        self.type_leads = _phrases(type_leads)
        self.had_guards = {norm(w) for w in had_guards}
        self.type_ends = _phrases(type_ends)
        self.end_continuations = {norm(w) for w in end_continuations}
        self.modified_nouns = _phrases(modified_nouns)
        self.moves = _phrases(moves)
        self.moves_before_to = {norm(w) for w in moves_before_to}
        self.held_moves = _phrases(held_moves)
        self.future_times = _phrases(future_times)

    def __call__(self, doc: Doc) -> Doc:
        plans = [e for e in doc.ents if e.label_ in PAST_INSURER_LABELS]
        types = [e for e in doc.ents if e.label_ == PLAN_TYPE_LABEL and not self._names_a_thing(doc, e)]
        for plan_type in types:
            if self._was_had(doc, plan_type) or self._has_ended(doc, plan_type):
                plan_type._.set("negex", True)
        to_come = []
        for sent in doc.sents:
            if not any(_phrase_ending_at(doc, t.i, self.future_times) for t in sent):
                continue
            for ent in sent.ents:
                if ent in plans or ent in types:
                    if (
                        not ent._.negex
                        and not self._names_a_thing(doc, ent)
                        and self._is_to_come(doc, ent, sent.start)
                    ):
                        ent._.set("negex", True)
                        to_come.append(ent)
        for plan_type in types:
            owner = plan_of_type(doc, plan_type, plans)
            if owner is None:
                continue
            if owner._.negex:
                plan_type._.set("negex", True)
            elif plan_type in to_come:
                owner._.set("negex", True)
        return doc

    def _names_a_thing(self, doc: Doc, ent: Span) -> bool:
        after = [t.norm_ for t in doc[ent.end : ent.end + 3]]
        return bool(after) and (
            _phrase_starting_at(doc, ent.end, self.modified_nouns) is not None
            or (after[0] in {"in", "out"} and "network" in after[1:])  # "a BCBSTX in-network therapist"
        )

    def _was_had(self, doc: Doc, plan_type: Span) -> bool:
        lead = plan_type.start - 1
        while lead >= 0 and doc[lead].norm_ in ARTICLES | MEMBER_POSSESSIVES | HCSC_WORDS:
            lead -= 1
        phrase = _phrase_ending_at(doc, lead, self.type_leads) if lead >= 0 else None
        if phrase == ("had",) and any(t.norm_ in self.had_guards for t in doc[max(0, lead - 2) : lead]):
            return False  # "I've always had an HMO", "what if I had an HMO"
        return phrase is not None

    def _has_ended(self, doc: Doc, plan_type: Span) -> bool:
        after = plan_type.end
        while after < len(doc) and doc[after].norm_ in PLAN_WORDS_AFTER_TYPE:
            after += 1
        phrase = _phrase_starting_at(doc, after, self.type_ends)
        if phrase is None:
            return False
        following = after + len(phrase)
        return following >= len(doc) or doc[following].norm_ not in self.end_continuations

    def _is_to_come(self, doc: Doc, ent: Span, start: int) -> bool:
        lead = ent.start - 1
        while lead >= start and doc[lead].norm_ in ARTICLES | DESTINATION_SKIPS:
            lead -= 1
        if lead >= start and doc[lead].norm_ in MEMBER_POSSESSIVES:
            if doc[lead + 1].norm_ not in DESTINATION_SKIPS:
                return False  # "go to my HMO doctor": the member's own
            lead -= 1  # "get my own PPO", "switch to my new HMO"
        if lead < start:
            return False
        # A phrase may end on a skipped article too: "nos cambian a un HMO".
        if any(_phrase_ending_at(doc, i, self.moves) for i in range(lead, ent.start)):
            return True
        held = _phrase_ending_at(doc, lead, self.held_moves)
        if held:
            before = lead - len(held)
            ends = [before]
            if before >= start and doc[before].norm_ in HELD_MOVE_LINKS:
                ends.append(before - 1)  # "going to have", "vamos a tener", "about to get"
            return any(i >= start and _phrase_ending_at(doc, i, self.future_times) for i in ends)
        if doc[lead].norm_ not in ENGLISH_TO:
            return False
        for i in range(lead - 1, max(start, lead - 1 - MOVE_WINDOW) - 1, -1):
            if doc[i].norm_ in SENTENCE_MARKS:
                return False
            if doc[i].norm_ in self.moves_before_to:
                return True
        return False


@Language.factory("hcsc_plan_changes", default_config={key: [] for key in PLAN_CHANGES_LISTS})
def make_plan_changes(
    nlp: Language,
    name: str,
    type_leads: List[str],
    had_guards: List[str],
    type_ends: List[str],
    end_continuations: List[str],
    modified_nouns: List[str],
    moves: List[str],
    moves_before_to: List[str],
    held_moves: List[str],
    future_times: List[str],
) -> PlanChanges:
    # Phrases split as the tokenizer splits messages ("isnt" -> "is nt", "'ll").
    def split(words: List[str]) -> List[str]:
        return [" ".join(token.text for token in nlp.make_doc(phrase)) for phrase in words]

    return PlanChanges(
        split(type_leads),
        had_guards,
        split(type_ends),
        end_continuations,
        split(modified_nouns),
        split(moves),
        moves_before_to,
        split(held_moves),
        split(future_times),
    )


def plan_changes_config(path: Path = NEGATION_PATH) -> Dict[str, Any]:
    """`hcsc_plan_changes`'s config from the reviewed YAML (section `plan_changes`)."""
    terms = yaml.safe_load(path.read_text(encoding="utf-8"))[PLAN_CHANGES_TERMS]
    return {key: [str(t) for t in terms[key]] for key in PLAN_CHANGES_LISTS}


def negation_config(path: Path = NEGATION_PATH, section: str = "") -> Dict[str, Any]:
    """negspacy's config from the reviewed YAML: the qualifiers' termset, or the
    past insurers' when `section` is "past_insurer"."""
    all_terms = yaml.safe_load(path.read_text(encoding="utf-8"))
    terms = all_terms[section] if section else all_terms
    termset = {
        key: [str(t) for t in terms[key]]
        for key in ("pseudo_negations", "preceding_negations", "following_negations", "termination")
    }
    if section == PAST_INSURER_TERMS:
        return {
            "neg_termset": termset,
            "ent_types": PAST_INSURER_LABELS,
            "destination_words": sorted(DESTINATION_WORDS),
            # "i still have BCBSIL from my old job": a following cue does not reach it.
            "still_words": [str(t) for t in all_terms[CURRENT_PLAN_TERMS]["still"]],
        }
    return {
        "neg_termset": termset,
        "ent_types": QUALIFIER_LABELS,
        "adjacent_negations": [str(t) for t in terms.get("adjacent_negations", [])],
    }


def build(path: Path = PATTERNS_PATH) -> Language:
    """Build the pipeline (see the module docstring)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("hcsc_norm")
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    ruler.add_patterns(ruler_patterns(nlp, path))
    nlp.add_pipe("hcsc_unlisted_insurer")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("hcsc_negex", name="negex", config=negation_config())
    nlp.add_pipe("hcsc_negex", name="past_insurer_negex", config=negation_config(section=PAST_INSURER_TERMS))
    nlp.add_pipe("hcsc_current_plan", config=current_plan_config())
    nlp.add_pipe("hcsc_plan_changes", config=plan_changes_config())
    return nlp


def load(
    vocab: Any = True,
    disable: Iterable[str] = (),
    enable: Iterable[str] = (),
    exclude: Iterable[str] = (),
    config: Any = None,
) -> Language:
    """Entry point `spacy.load` calls for an installed pipeline package.

    As for any packaged pipeline, `exclude` leaves components out, `disable`
    builds them switched off and a non-empty `enable` switches off all others.
    `vocab` and `config` are accepted for spaCy's call; a pipeline built from
    the patterns file has no stored vocabulary or config to apply them to.
    """
    nlp = build()
    for name in set(exclude) & set(nlp.pipe_names):
        nlp.remove_pipe(name)
    enabled = set(enable)
    for name in list(nlp.pipe_names):
        if name in set(disable) or (enabled and name not in enabled):
            nlp.disable_pipe(name)
    # spaCy records where a pipeline came from, and Rasa's SpacyNLP rejects a
    # pipeline without that record as an unloaded stub: this one comes from
    # this package's own files.
    nlp._path = PATTERNS_PATH.parent
    return nlp
