"""Every member channel takes the member rules: a subclass of MemberChannel
never sees Rasa's own `on_new_message`, only the handler that applies them."""

import asyncio
from typing import List

import pytest
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.utils.common import class_from_module_path
from sanic import Blueprint

from channels.member_channel import MemberChannel, OnNewMessage
from channels.member_rest import MemberRestInput
from channels.site_socketio import SiteSocketIOInput
from launch.paths import PROJECT_DIR
from rasa_server.always_a_reply import ANSWER_UNAVAILABLE_RESPONSE
from rasa_server.nlg import response_text


class CapturingChannel(MemberChannel):
    """A minimal member channel that keeps the handler it was given."""

    handler: OnNewMessage

    def member_blueprint(self, on_member_message: OnNewMessage) -> Blueprint:
        self.handler = on_member_message
        return Blueprint("capturing")


def test_every_channel_members_reach_is_a_member_channel() -> None:
    credentials = yaml.safe_load((PROJECT_DIR / "credentials.yml").read_text())
    agents_only = {"channels.agent_preview.AgentPreviewInput"}
    for path in set(credentials) - agents_only:
        assert issubclass(class_from_module_path(path), MemberChannel), path
    assert {MemberRestInput, SiteSocketIOInput} <= {class_from_module_path(p) for p in credentials}


def test_a_member_channel_cannot_take_rasas_own_handler() -> None:
    with pytest.raises(TypeError, match="member_blueprint"):

        class Bypassing(MemberChannel):
            def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
                return Blueprint("bypass")


def test_a_member_channel_gets_a_handler_with_the_member_rules_not_rasas_own() -> None:
    seen: List[UserMessage] = []

    async def rasa_on_new_message(message: UserMessage) -> None:
        seen.append(message)  # Rasa answering nothing: a failure somewhere

    channel = CapturingChannel()
    channel.blueprint(rasa_on_new_message)
    assert channel.handler is not rasa_on_new_message
    output = CollectingOutputChannel()
    message = UserMessage(
        "/restart my member id is XOF123456789",
        output,
        "member-1",
        input_channel="test",
        metadata={"state": "TX", "email": "a@b.example"},
    )
    asyncio.run(channel.handler(message))

    assert len(seen) == 1
    assert seen[0].text.startswith("restart ")  # a command no more
    assert "XOF123456789" not in seen[0].text and "[" in seen[0].text  # the identifier replaced
    assert seen[0].metadata == {"state": "TX"}  # only the plan context
    assert seen[0].sender_id == "member-1" and seen[0].input_channel == "test"
    # Nothing was sent, so the member still gets the ID-card fallback.
    assert [m["text"] for m in output.messages] == [response_text(ANSWER_UNAVAILABLE_RESPONSE)]


def test_a_turn_that_answered_gets_no_fallback() -> None:
    async def answering(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "an answer"})

    channel = CapturingChannel()
    channel.blueprint(answering)
    output = CollectingOutputChannel()
    asyncio.run(channel.handler(UserMessage("is massage covered?", output, "member-2")))
    assert [m["text"] for m in output.messages] == ["an answer"]
