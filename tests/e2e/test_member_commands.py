"""Slash commands from members: Rasa reads "/intent{...}" text as an intent
with entities. On the member channels only the payloads the assistant offers
(its buttons, the widget's "/greet") work that way; any other "/..." text is
ordinary words. Over REST and socketio, against the real servers."""

import asyncio
import uuid
from typing import Any, Callable, Dict, List, Optional

import pytest

from launch.servers import Assistant
from tests.support.socketio_client import ChatClient, ends_with_id_card_line
from tests.support.tracker_store import stored_events, user_events

pytestmark = pytest.mark.slow

Reply = List[Dict[str, Any]]
GREETING_START = "Hi! I can tell you how Blue Cross and Blue Shield plans"
REFERRAL_QUESTION = "do i need a referral for massage therapy?"
# Offered: a greeting button and a plan-type button of a coverage answer.
OFFERED_TOPIC = "/ask_spa_wellness"
OFFERED_PLAN_TYPE = '/inform{"plan_type": "hmo"}'
OFFERED_PPO = '/inform{"plan_type": "ppo"}'
# Not offered: they would restart the conversation, start a new session,
# force an intent or end the conversation.
NOT_OFFERED = ["/restart", "/session_start", "/ask_spa_wellness@0.99", "/goodbye", " //restart", "/"]
# Not offered, with entities no button sets: only the intent's name is kept
# as words, so nothing of its "{...}" part can fill a slot.
NOT_OFFERED_WITH_ENTITIES = '/inform{"state": "NM", "plan_type": "ppo"}'
FORCED_BY_RASA = "RegexMessageHandler"  # the extractor Rasa names for "/intent{...}" entities


def coverage_of(reply: Reply) -> Optional[Dict[str, Any]]:
    payloads = [m["custom"]["coverage"] for m in reply if "coverage" in (m.get("custom") or {})]
    return payloads[-1] if payloads else None


def new_sender() -> str:
    return f"commands-{uuid.uuid4().hex[:12]}z"


def test_offered_buttons_work_as_commands_over_rest(send: Callable[..., Reply]) -> None:
    sender = new_sender()
    assert send(sender, "/greet")[0]["text"].startswith(GREETING_START)
    spa = coverage_of(send(sender, OFFERED_TOPIC))
    assert spa is not None and spa["topic"] == "spa_wellness"
    send(sender, "I'm in Texas")
    coverage = coverage_of(send(sender, OFFERED_PLAN_TYPE))
    assert coverage is not None and (coverage["state"], coverage["plan_type"]) == ("TX", "hmo")


@pytest.mark.parametrize("command", NOT_OFFERED)
def test_other_commands_are_ordinary_text_over_rest(
    assistant: Assistant, send: Callable[..., Reply], command: str
) -> None:
    sender = new_sender()
    send(sender, "I have a Texas HMO")
    assert send(sender, command), "every member message gets a reply"
    # Not a restart, not a new plan context: the next question is answered
    # for the plan the member gave.
    coverage = coverage_of(send(sender, REFERRAL_QUESTION))
    assert coverage is not None
    assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", "hmo", "required")

    events = stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [sender])
    command_event = user_events(events)[1]
    assert command_event["text"] == command.strip().lstrip("/").strip()
    assert not any(event["event"] == "restart" for event in events)
    assert sum(event["event"] == "session_started" for event in events) == 1


def test_offered_commands_are_stored_as_sent(assistant: Assistant, send: Callable[..., Reply]) -> None:
    sender = new_sender()
    send(sender, OFFERED_TOPIC)
    [event] = user_events(stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [sender]))
    assert (event["text"], event["parse_data"]["intent"]["name"]) == (OFFERED_TOPIC, "ask_spa_wellness")


def test_entities_in_unoffered_commands_are_not_forced(
    assistant: Assistant, send: Callable[..., Reply]
) -> None:
    sender = new_sender()
    send(sender, NOT_OFFERED_WITH_ENTITIES)
    send(sender, OFFERED_PLAN_TYPE)
    unoffered, offered = user_events(stored_events(assistant.rasa_server.env["TRACKER_STORE_URL"], [sender]))
    assert unoffered["text"] == "inform"
    assert all(entity.get("extractor") != FORCED_BY_RASA for entity in unoffered["parse_data"]["entities"])
    # The offered payload is read as Rasa's command, entities and all.
    assert [(e["entity"], e["value"], e["extractor"]) for e in offered["parse_data"]["entities"]] == [
        ("plan_type", "hmo", FORCED_BY_RASA)
    ]


def answered_about(topic: str) -> Callable[[Reply], bool]:
    """A reply is complete once an answer on `topic` has been closed by the ID-card line.

    Messages before it may be the reply to an earlier message (a command).
    """

    def complete(reply: Reply) -> bool:
        answers = [i for i, m in enumerate(reply) if (coverage_of([m]) or {}).get("topic") == topic]
        return bool(answers) and ends_with_id_card_line(reply[answers[-1] :])

    return complete


def test_commands_over_socketio(assistant: Assistant) -> None:
    async def conversation() -> List[Reply]:
        client = ChatClient(assistant.base_url, origin=assistant.site_origins[0])
        try:
            session_id = await client.connect()
            greeting = await client.ask(session_id, "/greet", until=bool)
            await client.ask(session_id, "I have a Texas HMO", until=bool)
            replies = [greeting]
            for command in ("/restart", "/session_start", "/goodbye"):
                await client.sio.emit("user_uttered", {"message": command, "session_id": session_id})
                replies.append(
                    await client.ask(session_id, REFERRAL_QUESTION, until=answered_about("referral"))
                )
            replies.append(await client.ask(session_id, OFFERED_PPO, until=answered_about("referral")))
            return replies
        finally:
            await client.close()

    greeting, *after_commands, after_offered_ppo = asyncio.run(conversation())
    assert greeting[0]["text"].startswith(GREETING_START)
    for reply in after_commands:
        coverage = coverage_of(reply)
        assert coverage is not None
        assert (coverage["state"], coverage["plan_type"], coverage["outcome"]) == ("TX", "hmo", "required")
    offered = coverage_of(after_offered_ppo)
    assert offered is not None and (offered["state"], offered["plan_type"]) == ("TX", "ppo")
