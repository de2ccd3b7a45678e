"""Custom action: a thin adapter from the Rasa tracker to the coverage domain.

It reads the tracker (intent, this message's entities, slots, portal
metadata), asks `plan_coverage` for the answers and sends the messages
`plan_coverage.replies` builds. No coverage logic lives here.
"""

from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from plan_coverage.engine import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    CoverageAnswer,
    CoverageRules,
    PlanContext,
    load_rules,
)
from plan_coverage.followups import (
    GENERIC_TOPIC,
    asked_on_its_own,
    asks_about_money,
    first_cue,
    last_sentence,
    names_it,
    names_massage,
    order_as_asked,
    question_sentence,
    question_sentences,
    question_spans,
    refers_back,
)
from plan_coverage.replies import (
    NOT_UNDERSTOOD_RESPONSE,
    TOPIC_SEPARATOR,
    Message,
    answers_messages,
    context_noted_messages,
    topics_for_intent,
)

# Entities that tell the assistant about the member's plan.
CONTEXT_ENTITIES = {"state", "plan_type", "insurer"}
# Qualifier entities (and their slots, same names) -> the engine's context keys.
QUALIFIER_ENTITIES = {"care_setting": "setting", "purpose": "purpose", "stage": "stage"}
# Of several values of one qualifier in one message, the first listed here
# decides: a spa, massage clinic or wellness center is never a therapy
# setting ("massage at a spa as part of my PT benefits" is a spa massage), but
# "a massage therapist at my PT clinic" is therapy; relaxation is not covered
# only "without a qualifying medical diagnosis"; "I was improving but now it
# has plateaued" is maintenance.
PREFERRED = {
    "care_setting": ("spa", "massage_clinic", "wellness_center", "physical_therapy"),
    "purpose": ("medical",),
    "stage": ("maintenance",),
}
# The insurer value for a plan in another state ("I live in Georgia"): no other plan.
OUT_OF_AREA = "out_of_area"
# A button's payload or a typed command ("/ask_spa_wellness"), not words.
COMMAND_PREFIX = "/"
# Questions about the plan, not about a massage.
PLAN_TOPICS = ("plan_lookup", "about_hcsc")
# Topics that are a qualifier's own question ("is a spa massage covered?"),
# with the entities that name that qualifier.
QUALIFIER_TOPICS = {"spa_wellness": ("care_setting", "purpose"), "maintenance_care": ("stage",)}
# The question about massage in therapy, and the care setting that is therapy.
THERAPY_TOPIC = "therapy_massage"
THERAPY_SETTING = "physical_therapy"
# Set by RulerEntityExtractor (nlu_components/entity_value_normalizer.py) on a
# qualifier the member denies ("not at a spa") or an insurer they no longer
# have; and on a state named as an HCSC plan ("BCBSTX").
NEGATED = "negated"
HCSC_PLAN = "hcsc_plan"
PORTAL_SLOT = "portal_context"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
OUT_OF_SCOPE_RESPONSE = "utter_out_of_scope"
# Requests about something other than health care (entity_patterns.yml,
# `other_domain`); dental and vision care are other Blue Cross services.
OTHER_DOMAIN = "other_domain"
# Things sold for massage ("a massage chair") are other services too.
MASSAGE_PRODUCTS = "massage_products"
OTHER_SERVICE_DOMAINS = ("dental", "vision", MASSAGE_PRODUCTS)
# Massage or therapy for an animal, and things sold for massage, are not the
# member's massage therapy however they are asked.
ANIMAL_CARE = "animal_care"
NOT_MASSAGE_THERAPY = (ANIMAL_CARE, MASSAGE_PRODUCTS)
OTHER_SERVICE_RESPONSE = "utter_other_service"
# The domain's reply to questions about costs, claims and accounts (domain.yml).
ACCOUNT_QUESTION_RESPONSE = "utter_account_question"
INFORM_INTENT = "inform"
GENERIC_INTENT = f"ask_{GENERIC_TOPIC}"
# Plan context alone is short ("my plan is through my employer in oklahoma, ppo").
INFORM_MAX_WORDS = 15
# The conversation's language (domain.yml; set from nlu_components/language_detector.py).
LANGUAGE_SLOT = "language"


class ActionAnswerCoverage(Action):
    """Answers the member's coverage question(s) for their plan context."""

    def name(self) -> Text:
        return "action_answer_coverage"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        events = self.respond(dispatcher, tracker)
        # Rasa filled the plan slots from every entity, denied ones too; a
        # reply that sets none of them must still not keep a plan the member left.
        set_here = {event.get("name") for event in events if event.get("event") == "slot"}
        return [*left_plan_corrections(tracker, set_here), *events]

    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """The replies to this message, sent to `dispatcher`, and the slot events they set."""
        rules = load_rules(language=answer_language(tracker))
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = str(tracker.latest_message.get("text") or "")
        intent = question_in_a_story(tracker, intent, text, rules)
        if intent == OUT_OF_SCOPE_INTENT:
            # Out of scope, and not a story about massage with a question in it.
            dispatcher.utter_message(response=OUT_OF_SCOPE_RESPONSE)
            return []
        other_domain = about_something_else(tracker, text)
        if other_domain is not None:
            # "can I get a referral to a good lawyer", "my dog needs prior
            # approval": referral and approval words, but not health care.
            dispatcher.utter_message(
                response=OTHER_SERVICE_RESPONSE
                if other_domain in OTHER_SERVICE_DOMAINS
                else OUT_OF_SCOPE_RESPONSE
            )
            return []
        intent = with_second_question(tracker, intent, text, rules)
        asked = order_as_asked(topics_for_intent(intent, rules), text)
        beside_money = topics_beside_money(asked, text) if asked else None
        if beside_money is not None:
            # "how many dollars will my plan pay for massage": an amount, which
            # the assistant cannot see. Say so; answer only what else was asked.
            dispatcher.utter_message(response=ACCOUNT_QUESTION_RESPONSE)
            asked = beside_money
            if not asked:
                return []
        pending = [t for t in (tracker.get_slot("topic") or "").split(TOPIC_SEPARATOR) if t in rules.topics]
        topics = asked or pending
        entities = latest_entities(tracker)
        said = entities.keys() | denied_entities(tracker)
        if intent == FALLBACK_INTENT:
            if "insurer" not in entities or names_hcsc_plan(tracker):
                dispatcher.utter_message(response=NOT_UNDERSTOOD_RESPONSE)
                return []
            # Not understood, but another insurer is named: HCSC's rules are not theirs.
            insurer = entities["insurer"][0]
            answer = rules.answer("coverage_overview", PlanContext(insurer=insurer))
            send(dispatcher, answers_messages(rules, [answer]))
            return [SlotSet("insurer", insurer)]
        if not asked and not (CONTEXT_ENTITIES | QUALIFIER_ENTITIES.keys()) & said:
            # "inform" without any plan context is a guess at a short or odd
            # message ("hmm"): say so rather than repeat the last answer.
            dispatcher.utter_message(response=NOT_UNDERSTOOD_RESPONSE)
            return []
        context = rules.clean_context(plan_context(tracker, bool(asked), topics))
        if not text.startswith(COMMAND_PREFIX):
            topics = without_unsaid_qualifier_topics(tracker, text, rules, topics, context)
        events: List[EventType] = [
            SlotSet(key, context.get(key)) for key in ("state", "plan_type", "insurer")
        ]
        events.append(SlotSet(PORTAL_SLOT, portal_key(tracker) or tracker.get_slot(PORTAL_SLOT)))

        if not topics and context.insurer is None:
            # Plan context alone, and nothing asked yet: note it, ask what they want.
            send(dispatcher, context_noted_messages(rules, context))
            return events

        each = answer_each_question(rules, tracker, topics or ["coverage_overview"], context)
        if each is None:
            answers = answer_all(rules, topics or ["coverage_overview"], context)
        else:
            answers, context = each
        # "I have Cigna and BCBSTX": answered for the HCSC plan, with a word on the other.
        other_plan_too = names_hcsc_plan(tracker) and any(
            v != OUT_OF_AREA for v in entities.get("insurer", [])
        )
        send(dispatcher, answers_messages(rules, answers, other_plan_too=other_plan_too))
        return events + [
            SlotSet("topic", TOPIC_SEPARATOR.join(topics) or None),
            *(SlotSet(slot, context.get(key)) for slot, key in QUALIFIER_ENTITIES.items()),
        ]


def topics_beside_money(topics: Sequence[str], text: Text) -> Optional[List[str]]:
    """Of the topics asked, those asked outside a question about money; None when
    the message asks nothing about money.

    "what is my copay for massage in PT" keeps none; "is massage covered? and
    what's my copay?" keeps the coverage question.
    """
    spans = question_spans(text)
    plain = [text[start:end] for start, end in spans if not asks_about_money(text[start:end])]
    if len(plain) == len(spans):
        return None
    return [t for t in topics if any(first_cue(t, part) is not None for part in plain)]


def answer_language(tracker: Tracker) -> Text:
    """The language to answer in: the conversation's (slot `language`), English when unset."""
    language = tracker.get_slot(LANGUAGE_SLOT)
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def question_in_a_story(tracker: Tracker, intent: Text, text: Text, rules: CoverageRules) -> Text:
    """The question a long story asks (a story of more than INFORM_MAX_WORDS words).

    When NLU read a story with a "?" as `inform`, it is not plan context
    alone: the best-ranked coverage question is what the member asks. When
    NLU's question has no words in the question sentence (the last one with a
    "?", else the last sentence: members often leave the "?" out) but a
    runner-up does ("...the physical therapist does massage... How many of
    these sessions will the plan cover?"), the story's words misled it: the
    runner-up is what is asked. So it is when the story's words left NLU
    unsure (`nlu_fallback`), or made a story about massage or therapy look
    out of scope, and a runner-up has words in the question sentence.
    """
    if len(text.split()) <= INFORM_MAX_WORDS:
        return intent
    questions = [name for name in ranked_intents(tracker) if topics_for_intent(name, rules)]
    if intent in (INFORM_INTENT, FALLBACK_INTENT) and "?" not in text:
        # Plan context told at length, or words NLU could not place: no question to find.
        return intent
    sentence = question_sentence(text) if "?" in text else last_sentence(text)
    if intent == INFORM_INTENT:
        return best_question_in(sentence, questions, rules)
    asked = topics_for_intent(intent, rules)
    unplaced = intent == FALLBACK_INTENT or (
        intent == OUT_OF_SCOPE_INTENT and names_massage_or_therapy(tracker, text)
    )
    if not unplaced and (not asked or any(first_cue(t, sentence) is not None for t in asked)):
        return intent
    single = [name for name in questions[:3] if len(topics_for_intent(name, rules)) == 1]
    return cued_question(single, sentence, rules) or intent


def ranked_intents(tracker: Tracker) -> List[Text]:
    """NLU's intent names for the latest message, best first (its `intent_ranking`)."""
    return [str(i.get("name") or "") for i in tracker.latest_message.get("intent_ranking") or []]


def cued_question(names: Sequence[Text], text: Text, rules: CoverageRules) -> Optional[Text]:
    """The first of these intent names whose topics all have words in `text`; None when none does."""
    for name in names:
        topics = topics_for_intent(name, rules)
        if topics and all(first_cue(topic, text) is not None for topic in topics):
            return name
    return None


def about_something_else(tracker: Tracker, text: Text) -> Optional[Text]:
    """What the message is about when that is not health care ("pets", "legal",
    "dental": the entity `other_domain`) and it names no massage, no care
    setting and no plan; None otherwise ("I hurt my back at the gym, is PT
    massage covered?", "I work at a bank, does my HMO need a referral?"). Massage
    for an animal ("does my BCBS TX plan cover massage for my dog") and things
    sold for massage ("a massage chair") are always something else."""
    entities = latest_entities(tracker)
    for domain in entities.get(OTHER_DOMAIN, []):
        if domain in NOT_MASSAGE_THERAPY:
            return domain
    if names_massage_or_therapy(tracker, text) or {"state", "plan_type"} & entities.keys():
        return None
    domains = entities.get(OTHER_DOMAIN, [])
    return domains[0] if domains else None


def names_massage_or_therapy(tracker: Tracker, text: Text) -> bool:
    """True when the message says "massage" or names a care setting ("my physical therapist")."""
    return names_massage(text) or "care_setting" in latest_entities(tracker)


def best_question_in(sentence: Text, questions: Sequence[Text], rules: CoverageRules) -> Text:
    """Of NLU's best-ranked questions (intent names), the first of the top 3 whose
    topics all have words in `sentence`; else the plain coverage question when
    the sentence asks about coverage ("...I'm asking about my own plan, will mine
    cover it?"); else the best-ranked one ("inform" when there is none)."""
    cued = cued_question(questions[:3], sentence, rules)
    if cued is not None:
        return cued
    if first_cue(GENERIC_TOPIC, sentence) is not None:
        return GENERIC_INTENT
    return questions[0] if questions else INFORM_INTENT


def without_unsaid_qualifier_topics(
    tracker: Tracker, text: Text, rules: CoverageRules, topics: Sequence[str], context: PlanContext
) -> List[str]:
    """The topics to answer when NLU read a spa or maintenance question the message
    does not bear out.

    With no qualifier said at all ("is a deep tissue massage covered?", "not
    for relaxing, it's for my torn rotator cuff"), such a topic is a plain
    coverage question, whose answer says what is not covered. With its own
    qualifier denied and nothing not covered said ("not maintenance, I just
    had surgery. how many visits do I get?"), it is NLU's runner-up question,
    else that plain one. Otherwise NLU's reading stands: "I'm done with PT but
    want massage to stay loose" is maintenance in words no entity names. A
    redirect the rules make for what is said ("not a spa, my PT") applies
    first. (The greeting's "Massage at a spa" button, /ask_spa_wellness, is
    what it says.)

    Likewise a question about massage in therapy whose therapy the member
    denies ("is massage covered if it's not part of PT") is the plain coverage
    question: its answer says when massage is covered and when not.
    """
    if rules.deciding_qualifier(GENERIC_TOPIC, context) is not None:
        return list(topics)
    denied = denied_entities(tracker)
    kept: List[str] = []
    for topic in topics:
        if topic == THERAPY_TOPIC and denies_therapy(tracker):
            kept.append(GENERIC_TOPIC)
        elif topic not in QUALIFIER_TOPICS or rules.resolve_topic(topic, context)[0] != topic:
            kept.append(topic)
        elif not context.qualifiers():
            kept.append(GENERIC_TOPIC)
        elif denied & set(QUALIFIER_TOPICS[topic]):
            kept += runner_up_topics(tracker, text, rules)
        else:
            kept.append(topic)
    return list(dict.fromkeys(kept))


def denies_therapy(tracker: Tracker) -> bool:
    """True when the latest message denies a therapy setting ("not part of PT")
    and names none as the member's."""
    settings = {
        (str(e.get("value")), bool(e.get(NEGATED)))
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == "care_setting"
    }
    return (THERAPY_SETTING, True) in settings and (THERAPY_SETTING, False) not in settings


def runner_up_topics(tracker: Tracker, text: Text, rules: CoverageRules) -> List[str]:
    """Topics of NLU's best-ranked runner-up question that is not a qualifier's own
    and has words of its own in the message for each topic; [GENERIC_TOPIC] when none."""
    runners_up = [
        name
        for name in ranked_intents(tracker)[1:4]
        if not set(topics_for_intent(name, rules)) & set(QUALIFIER_TOPICS)
    ]
    cued = cued_question(runners_up, text, rules)
    return topics_for_intent(cued, rules) if cued is not None else [GENERIC_TOPIC]


def with_second_question(tracker: Tracker, intent: Text, text: Text, rules: CoverageRules) -> Text:
    """A single question whose message asks another in a clause of its own
    ("necesito referido para el spa y cuantos me dan?"): NLU's runner-up
    multi-intent that holds it ("ask_referral+ask_visit_limits"), when the
    other topic has words of its own there. "Is it covered" is never added:
    "cover" is also the verb of other questions. In a long story only its
    questions count: "...the therapist said that's the max. would my ppo pay
    for more massage?" asks nothing about visit limits."""
    topics = topics_for_intent(intent, rules)
    if len(topics) != 1:
        return intent
    if len(text.split()) > INFORM_MAX_WORDS:
        text = question_sentences(text)
    for name in ranked_intents(tracker)[1:4]:
        both = topics_for_intent(name, rules)
        others = [t for t in both if t != topics[0]]
        if len(both) == 2 and len(others) == 1 and others[0] != GENERIC_TOPIC:
            if asked_on_its_own(others[0], both, text):
                return name
    return intent


def answer_all(rules: CoverageRules, topics: Sequence[str], context: PlanContext) -> List[CoverageAnswer]:
    """One answer per topic asked, in order; an answer given twice is given once."""
    answers: List[CoverageAnswer] = []
    for topic in topics:
        answer = rules.answer(topic, context)
        if all((a.topic, a.text) != (answer.topic, answer.text) for a in answers):
            answers.append(answer)
    return answers


def answer_each_question(
    rules: CoverageRules, tracker: Tracker, topics: Sequence[str], context: PlanContext
) -> Optional[Tuple[List[CoverageAnswer], PlanContext]]:
    """Answers, in order, to a message whose questions are about different massages.

    "my PT does massage, is that covered? and also what about a massage for
    relaxation after" asks twice: each question gets the qualifiers it names
    and, unless it names a care setting without calling the massage "it"
    (another massage), those of the question before it that it does not
    replace. `topics`
    are all the topics asked; each question answers those it has words for
    (else those of the question before it). Returns (answers, the last
    question's context, which follow-ups refer to), or None when at most one
    set of qualifiers is named: then one context serves the whole message,
    so a spa named anywhere decides every topic.
    """
    text = str(tracker.latest_message.get("text") or "")
    spans = question_spans(text)
    named = [own_qualifiers(tracker, span) for span in spans]
    if len({tuple(sorted(q.items())) for q in named if q}) < 2:
        return None
    # The first question may refer to the last message's massage ("is that covered?").
    carried = (
        {key: tracker.get_slot(slot) for slot, key in QUALIFIER_ENTITIES.items()}
        if refers_back(text[slice(*spans[0])])
        else {}
    )
    answers: List[CoverageAnswer] = []
    asked: Sequence[str] = topics
    for (start, end), own in zip(spans, named, strict=True):
        cued = order_as_asked(
            [t for t in topics if first_cue(t, text[start:end]) is not None], text[start:end]
        )
        asked = cued or asked
        # A question naming a care setting is about another massage ("...for
        # stress? and how about one my PT does?"), unless it calls the massage
        # "it" ("what about if my PT does it?"); one naming only a purpose or
        # stage keeps the setting before it ("a spa? what about for my injury?").
        another = bool(own.get("setting")) and not names_it(text[start:end])
        carried = {**({} if another else carried), **own}
        context = rules.clean_context(
            replace(context, **{k: carried.get(k) for k in QUALIFIER_ENTITIES.values()})
        )
        for answer in answer_all(rules, asked, context):
            if all((a.topic, a.text) != (answer.topic, answer.text) for a in answers):
                answers.append(answer)
    return answers, context


def own_qualifiers(tracker: Tracker, span: Tuple[int, int]) -> Dict[str, Optional[str]]:
    """The qualifiers named inside one question (context keys): value, or None when denied there."""
    named: Dict[Text, List[Text]] = {}
    denied = set()
    for entity in tracker.latest_message.get("entities") or []:
        name = entity.get("entity")
        if name not in QUALIFIER_ENTITIES or not span[0] <= int(entity.get("start") or 0) < span[1]:
            continue
        if entity.get(NEGATED):
            denied.add(QUALIFIER_ENTITIES[name])
        else:
            named.setdefault(name, []).append(str(entity.get("value")))
    values: Dict[str, Optional[str]] = {key: None for key in denied}
    values.update({QUALIFIER_ENTITIES[name]: preferred(name, found) for name, found in named.items()})
    return values


def preferred(entity: Text, values: Sequence[Text]) -> Text:
    """Of several values of one qualifier entity, the one that decides (PREFERRED)."""
    return next((v for v in PREFERRED[entity] if v in values), values[0])


def send(dispatcher: CollectingDispatcher, messages: List[Message]) -> None:
    """Hand plain message dicts to rasa_sdk's dispatcher, in order."""
    for message in messages:
        dispatcher.utter_message(
            text=message.get("text"),
            buttons=message.get("buttons") or [],
            json_message=message.get("custom"),
        )


def plan_context(tracker: Tracker, is_new_question: bool, topics: Sequence[str] = ()) -> PlanContext:
    """The member's plan context for this turn.

    Slots already hold what the member said (Rasa fills them from entities).
    Metadata from a member portal fills what the member has not said, and
    replaces the plan context when it changes (the member switched plan or
    account). Naming an HCSC plan ends an earlier "I have Aetna" ("I have
    Cigna and BCBSTX" is answered for BCBSTX), and an insurer the member no
    longer has ("I used to have Cigna") is none.
    Rasa fills the slots from denied entities too: a state the member denies
    ("I used to have BCBSIL") gives way to the one held before the message or
    the portal's (`held_before`); a plan type denied leaves the type unknown,
    as do two plan types named with neither denied ("not an HMO, it's a PPO").
    Qualifiers (care setting, purpose, stage) belong to the massage the
    conversation is on: a question naming none, or referring back ("those",
    "what about..."), keeps them; one naming another massage starts from it;
    a qualifier the member denies is dropped.
    """
    entities = latest_entities(tracker)
    denied = denied_values(tracker)
    portal = portal_plan(tracker)
    state = tracker.get_slot("state")
    plan_type = tracker.get_slot("plan_type")
    insurer = tracker.get_slot("insurer")
    seen = tracker.get_slot(PORTAL_SLOT)
    portal_changed = bool(portal and seen and portal_key(tracker) != seen)
    if portal_changed:
        # The portal now sends another plan: it replaces the old one, except
        # for what the member says in this very message.
        state = state if "state" in entities else portal.get("state")
        plan_type = plan_type if "plan_type" in entities else portal.get("plan_type")
        insurer = insurer if "insurer" in entities else None
    else:
        state = state or portal.get("state")
        plan_type = plan_type or portal.get("plan_type")
    if "state" in entities and "insurer" not in entities:
        insurer = None
    if names_hcsc_plan(tracker):
        # "I have Cigna and BCBSTX": the HCSC plan named is the one asked about.
        insurer = None
    if "insurer" in denied and "insurer" not in entities:
        # "I used to have Cigna", "switched from Aetna": Rasa filled the slot
        # from the entity, but that insurer is not the member's plan now.
        insurer = None
    if "state" in denied:
        # "my old plan was BCBSTX", "moved from Texas": Rasa filled the slot
        # from that entity too, but it is not the member's plan now.
        state = (
            entities["state"][0]
            if "state" in entities
            else held_before(tracker, "state", denied, portal, portal_changed)
        )
    said_types = list(dict.fromkeys(entities.get("plan_type", [])))
    if len(said_types) > 1:
        # "HMO or PPO?", "not an HMO, it's a PPO": which type is the member's
        # is not known, and each has its own rules.
        plan_type = None
    elif said_types:
        # Rasa fills the slot from the last plan type named, a left one too.
        plan_type = said_types[0]
    elif "plan_type" in denied:
        # A plan type is judged left from the words next to it, which a
        # report can mislead ("they said I had an HMO"): never answer for an
        # earlier or portal type instead; the answer is for any plan type.
        plan_type = None
    qualifiers = question_qualifiers(tracker, is_new_question, topics)
    return PlanContext(state=state, plan_type=plan_type, insurer=insurer, **qualifiers)


def question_qualifiers(
    tracker: Tracker, is_new_question: bool, topics: Sequence[str] = ()
) -> Dict[str, Optional[str]]:
    """The care setting, purpose and stage this question is about (context keys).

    A question that leaves out what it is about is about the massage the
    conversation is on: after "is a spa massage covered?", "and out of
    network?" and "do I need prior authorization?" are still about the spa
    massage (a "maybe" would be wrong). A question about massage in general
    ("do I need a referral for massage therapy?") or naming another
    ("...for physical therapy?") starts from what it names, unless it refers
    back ("what about for relaxation?"). So does a question about the plan
    itself ("how can I find out what my plan covers?").
    """
    entities = latest_entities(tracker)
    denied = denied_entities(tracker)
    text = str(tracker.latest_message.get("text") or "")
    names_one = (
        bool(QUALIFIER_ENTITIES.keys() & (entities.keys() | denied))
        or names_massage(text)
        or bool(topics and set(topics) <= set(PLAN_TOPICS))
    )
    keep_previous = not is_new_question or not names_one or refers_back(text)
    values: Dict[str, Optional[str]] = {}
    for entity, key in QUALIFIER_ENTITIES.items():
        named = entities.get(entity, [])
        if named:
            values[key] = preferred(entity, named)
        elif entity in denied or not keep_previous:
            values[key] = None
        else:
            values[key] = tracker.get_slot(entity)
    return values


def latest_entities(tracker: Tracker) -> Dict[Text, List[Text]]:
    """Entity values of the latest message, by entity name, in message order; denied ones left out."""
    values: Dict[Text, List[Text]] = {}
    for entity in tracker.latest_message.get("entities") or []:
        if not entity.get(NEGATED):
            values.setdefault(entity["entity"], []).append(str(entity.get("value")))
    return values


def names_hcsc_plan(tracker: Tracker) -> bool:
    """True when the latest message names an HCSC plan ("BCBSTX") the member has, not only a state."""
    return any(e.get(HCSC_PLAN) and not e.get(NEGATED) for e in tracker.latest_message.get("entities") or [])


def denied_entities(tracker: Tracker) -> set:
    """Names of the entities the member denied in the latest message ("not at a spa")."""
    return set(denied_values(tracker))


def denied_values(tracker: Tracker) -> Dict[Text, set]:
    """Values of the entities denied in the latest message, by entity name ({"state": {"TX"}})."""
    values: Dict[Text, set] = {}
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get(NEGATED):
            values.setdefault(entity["entity"], set()).add(str(entity.get("value")))
    return values


def held_before(
    tracker: Tracker,
    slot: Text,
    denied: Dict[Text, set],
    portal: Dict[Text, Text],
    portal_changed: bool = False,
) -> Optional[Text]:
    """The plan value the member had before this message denied one ("I used to have an HMO").

    Rasa filled the slot from the denied entity, so the value from before the
    message counts, then the portal's (the portal's first when it has just
    sent another plan); either only if not the one denied. None when neither
    is left.
    """
    earlier = slot_before_message(tracker, slot)
    for value in (portal.get(slot), earlier) if portal_changed else (earlier, portal.get(slot)):
        if value and str(value) not in denied.get(slot, set()):
            return str(value)
    return None


def left_plan_corrections(tracker: Tracker, set_here: set) -> List[EventType]:
    """Slot events undoing Rasa's fill of a plan slot from a denied entity, for
    slots the reply does not set itself (names in `set_here`): the values the
    answer would have used (`plan_context`)."""
    denied = denied_values(tracker)
    slots = [slot for slot in ("state", "plan_type", "insurer") if slot in denied and slot not in set_here]
    if not slots:
        return []
    context = plan_context(tracker, is_new_question=False)
    return [SlotSet(slot, getattr(context, slot)) for slot in slots]


def slot_before_message(tracker: Tracker, slot: Text) -> Optional[Any]:
    """The slot's value before the latest user message (None if not set in this session)."""
    events = tracker.events or []
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    for event in reversed(events[: users[-1]] if users else []):
        if event.get("event") in ("restart", "session_started"):
            return None
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def portal_plan(tracker: Tracker) -> Dict[Text, Text]:
    """The plan context a member portal sent with this message, cleaned."""
    metadata = tracker.latest_message.get("metadata") or {}
    values = {
        "state": _clean(metadata.get("state"), str.upper),
        "plan_type": _clean(metadata.get("plan_type"), str.lower),
    }
    return {key: value for key, value in values.items() if value}


def portal_key(tracker: Tracker) -> Optional[Text]:
    """The portal's plan as one slot value ("TX|hmo"), to see when it changes; None without one."""
    portal = portal_plan(tracker)
    return f"{portal.get('state', '')}|{portal.get('plan_type', '')}" if portal else None


def _clean(value: Any, normalise: Any) -> Optional[Text]:
    # Metadata comes from a web page: accept short strings only; the engine
    # drops any value it does not know.
    if isinstance(value, str) and 0 < len(value) <= 40:
        return str(normalise(value.strip()))
    return None
