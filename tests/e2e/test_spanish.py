"""End to end in Spanish: the trained assistant and the action server, on free ports, over REST.

The conversation's language is the slot `language`: set by a site's
`"metadata": {"lang": "es"}` (also on the widget's opening "/greet"), or by a
message clearly in one language; short or ambiguous messages keep it.
"""

import asyncio
import uuid
from typing import Any, Callable, Dict, List, Optional

import pytest

from launch.servers import Assistant
from plan_coverage.engine import PlanContext, load_rules
from rasa_server.nlg import response_text
from tests.support.socketio_client import ChatClient

pytestmark = pytest.mark.slow

Reply = List[Dict[str, Any]]
Send = Callable[..., Reply]
ENGLISH = load_rules()
SPANISH = load_rules(language="es")


def new_sender() -> str:
    return f"test-es-{uuid.uuid4().hex}"


def coverage_of(reply: Reply) -> Optional[Dict[str, Any]]:
    payloads = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
    assert len(payloads) <= 1, reply
    return payloads[0] if payloads else None


def texts_of(reply: Reply) -> List[str]:
    return [m["text"] for m in reply if m.get("text")]


def test_a_portal_asking_for_spanish_gets_the_spanish_answer_with_the_english_facts(send: Send) -> None:
    """Same rule ids, outcome and references as English; Spanish text and closing."""
    reply = send(
        new_sender(),
        "does my plan cover massage in physical therapy?",
        {"lang": "es", "state": "TX", "plan_type": "hmo"},
    )
    coverage = coverage_of(reply)
    assert coverage is not None, reply
    context = PlanContext(state="TX", plan_type="hmo", setting="physical_therapy")
    english = ENGLISH.answer(coverage["topic"], context)
    spanish = SPANISH.answer(coverage["topic"], context)
    assert coverage["language"] == "es"
    assert (coverage["rules"], coverage["outcome"], coverage["citations"]) == (
        list(english.rule_ids),
        english.outcome,
        list(english.citations),
    )
    assert texts_of(reply) == [spanish.text, SPANISH.closing]


def test_the_widgets_opening_greet_follows_the_pages_language(send: Send) -> None:
    reply = send(new_sender(), "/greet", {"lang": "es-US"})
    assert texts_of(reply) == [response_text("utter_greet", language="es")]
    assert [b["payload"] for b in reply[0]["buttons"]] == [
        b["payload"] for b in send(new_sender(), "/greet")[0]["buttons"]
    ]


def test_the_language_sticks_through_short_messages_and_changes_on_a_clear_one(send: Send) -> None:
    sender = new_sender()
    first = send(sender, "/greet", {"lang": "es"})
    assert texts_of(first) == [response_text("utter_greet", language="es")]
    # "HMO" and "97124" say nothing about the language: the conversation stays Spanish.
    plan = send(sender, "HMO")
    assert plan[0]["text"] == SPANISH.prompts["context_noted"].format(plan="plan HMO")
    assert [b["title"] for b in plan[0]["buttons"]] == list(SPANISH.prompts["suggested_topics"].values())
    # A clear English question switches to English.
    english = send(sender, "do i need a referral for massage therapy?")
    coverage = coverage_of(english)
    assert coverage is not None and coverage["language"] == "en", english
    assert texts_of(english)[-1] == ENGLISH.closing
    # And "ok" keeps English.
    assert response_text("utter_default", language="es") not in texts_of(send(sender, "ok"))


def test_a_spanish_conversation_gets_the_spanish_fallback(send: Send) -> None:
    """Replies from domain.yml (here: not understood, or out of scope) follow the slot too."""
    sender = new_sender()
    send(sender, "/greet", {"lang": "es"})
    reply = send(sender, "zzqx")
    assert texts_of(reply) in (
        [response_text("utter_default", language="es")],
        [response_text("utter_out_of_scope", language="es")],
    )


# Typed the way members type in Spanish (no accents, Spanglish); the answers
# come from the Spanish NLU (data/nlu/spanish.yml) and the Spanish entity words.
TYPED_SPANISH = [
    ("necesito referido para la terapia fisica con masaje? tengo un hmo de tejas", "referral", "required"),
    ("me cubren un masaje en el spa para relajarme?", "spa_wellness", "not_covered"),
    (
        "no es en un spa, mi fisio me da el masaje por una lesion, me lo cubren?",
        "therapy_massage",
        "conditional",
    ),
    ("tengo Molina, me cubren los masajes?", "non_hcsc_plan", "not_applicable"),
]


@pytest.mark.parametrize("text, topic, outcome", TYPED_SPANISH)
def test_a_typed_spanish_question_gets_the_spanish_answer_over_rest(
    send: Send, text: str, topic: str, outcome: str
) -> None:
    reply = send(new_sender(), text)
    coverage = coverage_of(reply)
    assert coverage is not None, reply
    assert (coverage["topic"], coverage["outcome"], coverage["language"]) == (topic, outcome, "es")
    assert texts_of(reply)[-1] in (SPANISH.closing, SPANISH.answer("non_hcsc_plan", PlanContext()).closing)


def test_a_typed_spanish_question_gets_the_spanish_answer_over_socketio(assistant: Assistant) -> None:
    def ends_with_spanish_closing(reply: List[Dict[str, Any]]) -> bool:
        return bool(reply) and reply[-1].get("text") == SPANISH.closing

    async def conversation() -> List[Dict[str, Any]]:
        client = ChatClient(assistant.base_url)
        try:
            session_id = await client.connect()
            text, _, _ = TYPED_SPANISH[0]
            return await client.ask(session_id, text, until=ends_with_spanish_closing)
        finally:
            await client.close()

    reply = asyncio.run(conversation())
    coverage = next(m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {}))
    assert (coverage["topic"], coverage["outcome"], coverage["language"]) == ("referral", "required", "es")
    context = PlanContext(state="TX", plan_type="hmo", setting="physical_therapy")
    assert reply[0]["text"] == SPANISH.answer("referral", context).text
