"""The assistant's coverage replies as plain message dicts, and the button
payloads it offers.

One definition for everyone who shows or checks a reply: the coverage action
sends these messages, the member channels accept exactly these payloads as
commands, and the agent preview and the answer catalogue show them. A message
is a dict with any of `text` (str), `buttons` (list of {"title", "payload"})
and `custom` (the coverage payload), in the shape Rasa's channels deliver.

An answer with numbered steps carries them structured too: its custom
payload holds, next to `coverage` (unchanged), `blocks`: the answer's text
as [{"text": str} | {"steps": [str, ...]}], whose plain form (steps numbered
"1. " in line) is exactly the text message. Channels that can show a list
(the chat widget, web/widget/render.js) show that; others show the text.
"""

from typing import Any, Dict, FrozenSet, List, Sequence

from plan_coverage.engine import CoverageAnswer, CoverageRules, PlanContext
from plan_coverage.feedback import feedback_payloads

Message = Dict[str, Any]
Button = Dict[str, str]
# Intents named ask_<topic> ask about that topic (domain.yml, data/nlu).
QUESTION_PREFIX = "ask_"
INFORM_INTENT = "inform"
# The domain response for a message the assistant did not understand; Rasa's
# fallbacks send it too (data/rules.yml).
NOT_UNDERSTOOD_RESPONSE = "utter_default"
# Rasa's multi-intent names join intents with "+" ("ask_referral+ask_visit_limits",
# config.yml); the `topic` slot keeps several pending topics the same way.
INTENT_SEPARATOR = "+"
TOPIC_SEPARATOR = "+"


def answer_messages(rules: CoverageRules, answer: CoverageAnswer) -> List[Message]:
    """An answer as sent: its text, its coverage payload, the plan-type question
    when the plan type would make it more exact, and the closing line last."""
    messages: List[Message] = [{"text": answer.text}, {"custom": answer_custom(answer)}]
    if answer.ask_plan_type:
        messages.append({"text": rules.prompts["plan_type_question"], "buttons": plan_type_buttons(rules)})
    messages.append({"text": answer.closing})
    return messages


def answers_messages(
    rules: CoverageRules, answers: Sequence[CoverageAnswer], other_plan_too: bool = False
) -> List[Message]:
    """Several answers as sent: each text with its own coverage payload, in the
    order asked; the `other_plan_too` prompt when the member also named another
    insurer; then the plan-type question once, if any answer wants it; and the
    closing line once, last. Answers decided by the same qualifier say it once:
    "No. A massage at a spa is not covered." opens the first of them only."""
    messages: List[Message] = []
    leads_said = set()
    for answer in answers:
        text = answer.text
        if answer.lead in leads_said and not answer.has_steps:
            text = text[len(answer.lead) :].lstrip()
        leads_said.add(answer.lead)
        messages += [{"text": text}, {"custom": answer_custom(answer)}]
    if other_plan_too:
        messages.append({"text": rules.prompts["other_plan_too"]})
    if any(answer.ask_plan_type for answer in answers):
        messages.append({"text": rules.prompts["plan_type_question"], "buttons": plan_type_buttons(rules)})
    for closing in dict.fromkeys(answer.closing for answer in answers):
        messages.append({"text": closing})
    return messages


def answer_custom(answer: CoverageAnswer) -> Dict[str, Any]:
    """The custom payload sent after an answer's text: {"coverage": {...}}, and
    {"blocks": [...]} next to it when the text has numbered steps."""
    custom = answer.payload()
    if answer.has_steps:
        custom["blocks"] = [block.as_json() for block in answer.blocks]
    return custom


def context_noted_messages(rules: CoverageRules, context: PlanContext) -> List[Message]:
    """The reply to a plan context given before any question: noted, and what next."""
    text = rules.prompts["context_noted"].format(plan=rules.describe_plan(context))
    return [{"text": text, "buttons": topic_buttons(rules)}]


def plan_type_buttons(rules: CoverageRules) -> List[Button]:
    """Quick replies that tell the assistant the member's plan type."""
    return [
        {"title": label, "payload": f'/{INFORM_INTENT}{{"plan_type": "{value}"}}'}
        for value, label in rules.context_values["plan_type"].items()
    ]


def topic_buttons(rules: CoverageRules) -> List[Button]:
    """Quick replies for the questions members ask most."""
    return [
        {"title": title, "payload": f"/{QUESTION_PREFIX}{topic}"}
        for topic, title in rules.prompts["suggested_topics"].items()
    ]


def offered_payloads(rules: CoverageRules) -> FrozenSet[str]:
    """Every button payload a coverage reply can offer a member: its buttons and
    the answer-feedback choices the widget shows under each answer."""
    buttons = frozenset(button["payload"] for button in plan_type_buttons(rules) + topic_buttons(rules))
    return buttons | feedback_payloads()


def topic_for_intent(intent: str, rules: CoverageRules) -> "str | None":
    """The coverage topic an `ask_<topic>` intent asks about, else None."""
    topic = intent[len(QUESTION_PREFIX) :] if intent.startswith(QUESTION_PREFIX) else None
    return topic if topic in rules.topics else None


def topics_for_intent(intent: str, rules: CoverageRules) -> List[str]:
    """The topics a (multi-)intent asks about, in order: "ask_referral+ask_visit_limits"
    -> ["referral", "visit_limits"]. Parts that are not questions ("greet") are
    left out; a topic asked twice counts once."""
    topics = (topic_for_intent(part, rules) for part in intent.split(INTENT_SEPARATOR))
    return list(dict.fromkeys(topic for topic in topics if topic))
