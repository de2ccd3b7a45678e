"""The base class of every channel members talk through.

A member channel cannot forget the member rules: `MemberChannel.blueprint`
wraps Rasa's `on_new_message` before a subclass sees it, so every message a
subclass hands on takes these steps:

1. The text is prepared (channels/member_input.py): offered button payloads
   pass, other "/..." text becomes words, personal details are replaced, and
   only the plan-context and language metadata is kept; a command carries
   the language the site asked for as an entity (`command_with_language`).
2. When personal details were removed, the member is told once per
   conversation (`utter_personal_details_notice`), before the answer.
3. Rasa handles the message; its log and tracker store see only the
   prepared text and metadata.
4. If that sent no bot message at all (a failure anywhere), the member still
   gets the ID-card fallback (rasa_server/always_a_reply.py), never silence.

0. Before any of that, a conversation that another channel started is
   refused (`ConversationOfAnotherChannel`): a REST caller cannot post into,
   or read the plan context of, a socket.io conversation, nor the other way
   round (SECURITY.md, "Conversations and their owners").

Subclasses implement `member_blueprint(on_member_message)` and build each
`UserMessage` from the raw request as usual.
"""

import json
import logging
from typing import Any, Awaitable, Callable, Dict, FrozenSet, Iterable, Mapping, Optional, Text, Tuple

from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from sanic import Blueprint, Sanic

from channels.member_input import command_with_language, plan_context_metadata, prepare_member_text
from nlu_components.language import detect_language, requested_language
from plan_coverage.engine import load_rules
from plan_coverage.replies import offered_payloads
from rasa_server.always_a_reply import reply_if_silent

logger = logging.getLogger(__name__)

PERSONAL_DETAILS_NOTICE = "utter_personal_details_notice"
# The conversation's language (domain.yml); responses have variations for it.
LANGUAGE_SLOT = "language"
# Commands the assistant's own user interfaces send besides button payloads:
# the chat widget opens each conversation with "/greet" (web/widget/widget.js).
INTERFACE_COMMANDS = frozenset({"/greet"})

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class MemberChannel(InputChannel):
    """An input channel for members: every message takes the member rules.

    Subclasses implement `member_blueprint`; defining `blueprint` themselves
    (which would hand them Rasa's own handler) raises TypeError.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "blueprint" in vars(cls):
            raise TypeError(
                f"{cls.__name__} must not define blueprint(): member channels implement "
                "member_blueprint(), so that every message takes the member rules."
            )

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The subclass's routes, handed a message handler with the member rules."""
        handler = MemberMessageHandler(on_new_message)

        async def on_member_message(message: UserMessage) -> None:
            # A closure, so the subclass cannot reach Rasa's handler through it.
            await handler.handle(message)

        blueprint = self.member_blueprint(on_member_message)

        @blueprint.listener("before_server_start")
        async def remember_app(app: Sanic, _loop: Any) -> None:
            handler.app = app  # the agent lives on the app; socket events get no request

        return blueprint

    def member_blueprint(self, on_member_message: OnNewMessage) -> Blueprint:
        """The channel's routes; they pass each member message to `on_member_message`."""
        raise NotImplementedError


class CountingOutputChannel(OutputChannel):
    """Passes every bot message on to the channel's own output, counting them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent_count = 0

    def name(self) -> Text:  # an instance's name: its inner channel's
        return self.inner.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.sent_count += 1
        await self.inner.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class ConversationOfAnotherChannel(Exception):
    """The conversation id belongs to a conversation another channel started."""


class MemberMessageHandler:
    """Applies the member rules (module docstring) around Rasa's `on_new_message`."""

    def __init__(self, on_new_message: OnNewMessage) -> None:
        self.on_new_message = on_new_message
        self.app: Optional[Sanic] = None
        # The commands offered by the domain of the model loaded now.
        self._commands: Tuple[Optional[Domain], FrozenSet[Text]] = (None, frozenset())

    @property
    def agent(self) -> Optional[Agent]:
        """The server's agent, once the server has started."""
        return getattr(self.app.ctx, "agent", None) if self.app is not None else None

    async def handle(self, message: UserMessage) -> None:
        """Run one member message through the member rules and Rasa."""
        agent = self.agent
        domain = agent.domain if agent is not None else None
        # First, bounded work on the text: cut, normalised, redacted, gated.
        prepared = prepare_member_text(message.text or "", self.offered_commands(domain))
        if agent is not None and agent.tracker_store is not None:
            owner = await conversation_channel(agent.tracker_store, message.sender_id)
            if owner is not None and owner != message.input_channel:
                logger.warning(
                    "Refused a %s message for a conversation of another channel.", message.input_channel
                )
                raise ConversationOfAnotherChannel()
        output = CountingOutputChannel(message.output_channel)
        if prepared.removed and agent is not None and agent.is_ready():
            # Kinds only: the log must not hold what was removed.
            logger.info("Removed personal details from a member message: %s", ", ".join(prepared.removed))
            # Channels that show the member's own message (the site widget)
            # show it as kept, so the notice's "not saved" holds there too.
            show_member_text = getattr(message.output_channel, "show_member_text", None)
            if show_member_text is not None:
                await show_member_text(message.sender_id, prepared.text)
            try:
                language = message_language(prepared.text, plan_context_metadata(message.metadata))
                await tell_once_about_personal_details(agent, message.sender_id, output, language)
            except Exception as error:  # noqa: BLE001 - the answer matters more than the notice
                logger.error("Telling the member about personal details failed: %s", type(error).__name__)
        notices = output.sent_count
        metadata = plan_context_metadata(message.metadata)
        try:
            await self.on_new_message(
                UserMessage(
                    command_with_language(prepared.text, requested_language(metadata)),
                    output,
                    message.sender_id,
                    input_channel=message.input_channel,
                    metadata=metadata,
                )
            )
        except Exception as error:  # noqa: BLE001 - the member must get a reply whatever failed
            # The type only: an exception's text can quote the conversation.
            logger.error("Handling a member message failed: %s", type(error).__name__)
        await reply_if_silent(domain, output, message.sender_id, output.sent_count - notices)

    def offered_commands(self, domain: Optional[Domain]) -> FrozenSet[Text]:
        """`offered_commands` of the loaded model's domain, worked out once per model."""
        if self._commands[0] is not domain:
            self._commands = (domain, offered_commands(domain))
        return self._commands[1]


def message_language(text: Text, metadata: Dict[Text, Any]) -> Optional[Text]:
    """The language this message sets for the conversation, as NLU will find it
    (nlu_components/language_detector.py): the site's, else a clear message's."""
    detection = detect_language(text)
    return requested_language(metadata) or (detection.language if detection.clear else None)


async def tell_once_about_personal_details(
    agent: Agent, sender_id: Text, output: OutputChannel, language: Optional[Text] = None
) -> None:
    """Send the personal-details notice unless this conversation already had it.

    The notice is run as an action, so it is in the tracker (which makes
    "once" hold across restarts and servers); the action_listen after it keeps
    the next user turn where the rules expect it. It comes before NLU has read
    the message, so the message's `language` (if it sets one) is set first:
    a first message in Spanish gets the notice in Spanish.
    """
    async with agent.lock_store.lock(sender_id):
        if await conversation_had_action(agent.tracker_store, sender_id, PERSONAL_DETAILS_NOTICE):
            return
        if language is not None and agent.processor is not None:
            tracker = await agent.processor.fetch_tracker_with_initial_session(sender_id, output)
            if tracker.get_slot(LANGUAGE_SLOT) != language:
                tracker.update(SlotSet(LANGUAGE_SLOT, language))
                await agent.processor.save_tracker(tracker)
        for action in (PERSONAL_DETAILS_NOTICE, ACTION_LISTEN_NAME):
            await agent.execute_action(sender_id, action, output, policy=None, confidence=None)


async def conversation_had_action(tracker_store: TrackerStore, sender_id: Text, action_name: Text) -> bool:
    """True when the action ran in any session of the conversation.

    On the SQL tracker store one index seek (rasa_server/tracker_store.py
    adds the index), whatever the conversation's length; on others the
    tracker (its current session) is loaded.
    """
    sql_store = _sql_store(tracker_store)
    if sql_store is not None:
        table = sql_store.SQLEvent
        with sql_store.session_scope() as session:
            row = (
                session.query(table.id)
                .filter(
                    table.sender_id == sender_id,
                    table.type_name == ActionExecuted.type_name,
                    table.action_name == action_name,
                )
                .first()
            )
        return row is not None
    tracker = await tracker_store.retrieve(sender_id)
    return tracker is not None and any(
        isinstance(event, ActionExecuted) and event.action_name == action_name for event in tracker.events
    )


def _sql_store(store: Optional[TrackerStore]) -> Optional[SQLTrackerStore]:
    """The SQL tracker store inside Rasa's wrappers (AwaitableTrackerStore, ...), if any."""
    for _ in range(5):
        if isinstance(store, SQLTrackerStore):
            return store
        store = getattr(store, "_tracker_store", None)
    return None


async def conversation_channel(tracker_store: TrackerStore, sender_id: Text) -> Optional[Text]:
    """The input channel of a conversation's first member message; None for a new one.

    On the SQL tracker store one indexed query reads a single event, whatever
    the conversation's length; on others the tracker is loaded.
    """
    sql_store = _sql_store(tracker_store)
    if sql_store is not None:
        table = sql_store.SQLEvent
        with sql_store.session_scope() as session:
            row = (
                session.query(table.data)
                .filter(table.sender_id == sender_id, table.type_name == "user")
                .order_by(table.id)
                .first()
            )
        if row is None:
            return None
        channel = json.loads(row[0]).get("input_channel")
        return channel if isinstance(channel, str) else None
    tracker = await tracker_store.retrieve(sender_id)
    if tracker is None:
        return None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            return event.input_channel
    return None


def offered_commands(domain: Optional[Domain]) -> FrozenSet[Text]:
    """Every command the assistant offers members: the buttons of the domain's
    responses and of the coverage replies, and its interfaces' own commands."""
    if domain is None:
        return frozenset()
    buttons = [
        button
        for variations in domain.responses.values()
        for variation in variations
        for button in variation.get("buttons") or []
    ]
    return frozenset(_payloads(buttons)) | offered_payloads(load_rules()) | INTERFACE_COMMANDS


def _payloads(buttons: Iterable[Mapping[Text, Any]]) -> Iterable[Text]:
    for button in buttons:
        payload = button.get("payload")
        if isinstance(payload, str) and payload.strip():
            yield payload.strip()
