"""One member message through a member channel: the steps both the REST and
the socketio channel take around Rasa's own handling.

1. The text is prepared (channels/member_input.py): offered button payloads
   pass, other "/..." text becomes words, personal details are replaced.
2. When personal details were removed, the member is told once per
   conversation (`utter_personal_details_notice`), before the answer.
3. Rasa handles the message (its log and tracker store see only the prepared
   text and the plan-context metadata).
4. If that produced no bot message at all (a failure anywhere), the member
   still gets `utter_answer_unavailable`: the ID-card fallback, never silence.
"""

import logging
from typing import Any, Awaitable, Callable, Dict, FrozenSet, Iterable, Mapping, Optional, Text

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted

from channels.member_input import plan_context_metadata, prepare_member_text
from plan_coverage.engine import load_rules
from plan_coverage.replies import offered_payloads

logger = logging.getLogger(__name__)

PERSONAL_DETAILS_NOTICE = "utter_personal_details_notice"
ANSWER_UNAVAILABLE = "utter_answer_unavailable"
# Only if the server runs without a model (the agent has no domain to read
# utter_answer_unavailable from); the same words as that response.
ANSWER_UNAVAILABLE_WITHOUT_MODEL = (
    "Sorry, I can't look up coverage right now. Please call the customer "
    "service number on your Blue Cross and Blue Shield ID card."
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
# Commands the assistant's own user interfaces send besides button payloads:
# the chat widget opens each conversation with "/greet" (web/widget/widget.js).
INTERFACE_COMMANDS = frozenset({"/greet"})


class MemberRestOutput(CollectingOutputChannel):
    """Collects the bot's messages for one REST reply, and counts them."""

    @property
    def sent_count(self) -> int:
        """How many bot messages were sent so far."""
        return len(self.messages)


async def handle_member_message(
    agent: Optional[Agent],
    on_new_message: OnNewMessage,
    output: OutputChannel,
    sender_id: Text,
    raw_text: Text,
    metadata: Optional[Mapping[Text, Any]],
    input_channel: Text,
) -> None:
    """Run one member message through the steps in the module docstring."""
    domain = agent.domain if agent is not None else None
    prepared = prepare_member_text(raw_text, offered_commands(domain))
    if prepared.removed and agent is not None and agent.is_ready():
        # Kinds only: the log must not hold what was removed.
        logger.info("Removed personal details from a member message: %s", ", ".join(prepared.removed))
        try:
            await tell_once_about_personal_details(agent, sender_id, output)
        except Exception as error:  # noqa: BLE001 - the answer matters more than the notice
            logger.error("Telling the member about personal details failed: %s", type(error).__name__)

    sent_before = _sent_count(output)
    try:
        await on_new_message(
            UserMessage(
                prepared.text,
                output,
                sender_id,
                input_channel=input_channel,
                metadata=plan_context_metadata(metadata),
            )
        )
    except Exception as error:  # noqa: BLE001 - the member must get a reply whatever failed
        # The type only: an exception's text can quote the conversation.
        logger.error("Handling a member message failed: %s", type(error).__name__)
    if _sent_count(output) == sent_before:
        logger.warning("No reply to a member message; sending %s.", ANSWER_UNAVAILABLE)
        await output.send_text_message(sender_id, response_text(domain, ANSWER_UNAVAILABLE))


async def tell_once_about_personal_details(agent: Agent, sender_id: Text, output: OutputChannel) -> None:
    """Send the personal-details notice unless this conversation already had it.

    The notice is run as an action, so it is in the tracker (which makes
    "once" hold across restarts and servers); the action_listen after it keeps
    the next user turn where the rules expect it.
    """
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is not None and any(
            isinstance(event, ActionExecuted) and event.action_name == PERSONAL_DETAILS_NOTICE
            for event in tracker.events
        ):
            return
        for action in (PERSONAL_DETAILS_NOTICE, ACTION_LISTEN_NAME):
            await agent.execute_action(sender_id, action, output, policy=None, confidence=None)


def response_text(domain: Optional[Domain], response: Text) -> Text:
    """The text of a domain response's first variation."""
    variations = domain.responses.get(response) if domain is not None else None
    if variations and variations[0].get("text"):
        return str(variations[0]["text"])
    return ANSWER_UNAVAILABLE_WITHOUT_MODEL


_COMMANDS_BY_DOMAIN: Dict[int, FrozenSet[Text]] = {}


def offered_commands(domain: Optional[Domain]) -> FrozenSet[Text]:
    """Every command the assistant offers members: the buttons of the domain's
    responses and of the coverage action, and its interfaces' own commands."""
    if domain is None:
        return frozenset()
    key = id(domain)
    if key not in _COMMANDS_BY_DOMAIN:
        buttons = [
            button
            for variations in domain.responses.values()
            for variation in variations
            for button in variation.get("buttons") or []
        ]
        _COMMANDS_BY_DOMAIN[key] = (
            frozenset(_payloads(buttons)) | offered_payloads(load_rules()) | INTERFACE_COMMANDS
        )
    return _COMMANDS_BY_DOMAIN[key]


def _payloads(buttons: Iterable[Mapping[Text, Any]]) -> Iterable[Text]:
    for button in buttons:
        payload = button.get("payload")
        if isinstance(payload, str) and payload.strip():
            yield payload.strip()


def _sent_count(output: OutputChannel) -> int:
    """Bot messages an output channel has sent; both member outputs count them."""
    return int(output.sent_count)
