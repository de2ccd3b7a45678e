"""Always a reply: the one place that decides what a member gets when
something fails, and makes sure they get it.

Two failures, one answer (`utter_answer_unavailable`, the ID-card line):

- the custom action call fails (no connection, too slow, an error status, an
  invalid response): `run_remote_action_or_answer_unavailable` replaces
  `RemoteAction.run` (installed by rasa_server.fixes.apply_fixes), so the
  answer is an ordinary bot utterance that every channel sends and the
  tracker store records;
- anything else leaves a member's message without any bot message: every
  member channel (channels/member_channel.py) calls `reply_if_silent`.

Logs name the kind of failure, never conversation content.
"""

import asyncio
import json
import logging
import math
from typing import List, Optional, Text

import aiohttp
from rasa.core.actions.action import ActionBotResponse, ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import OutputChannel
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from rasa_server.limits import DEFAULT_ACTION_TIMEOUT_S
from rasa_server.nlg import response_text

# The domain response a member gets whenever their answer cannot be given.
ANSWER_UNAVAILABLE_RESPONSE = "utter_answer_unavailable"

logger = logging.getLogger(__name__)


def action_timeout_s(action_endpoint: Optional[EndpointConfig]) -> float:
    """Seconds a custom action call may take: `timeout` of `action_endpoint`.

    Rasa keeps keys it does not know in EndpointConfig.kwargs; the value comes
    from endpoints.yml (a string when it is an environment variable). Raises
    RasaException for anything but a number above 0 and at most Rasa's 300 s.
    """
    value = action_endpoint.kwargs.get("timeout") if action_endpoint else None
    if value is None or str(value).strip() == "":
        return DEFAULT_ACTION_TIMEOUT_S
    try:
        timeout_s = float(value)
    except (TypeError, ValueError):
        timeout_s = math.nan
    if not (math.isfinite(timeout_s) and 0 < timeout_s <= DEFAULT_REQUEST_TIMEOUT):
        raise RasaException(
            f"action_endpoint timeout in endpoints.yml must be a number of seconds "
            f"above 0 and at most {DEFAULT_REQUEST_TIMEOUT}, not {value!r}."
        )
    return timeout_s


_rasa_remote_action_run = RemoteAction.run


async def run_remote_action_or_answer_unavailable(
    self: RemoteAction,
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    tracker: DialogueStateTracker,
    domain: Domain,
) -> List[Event]:
    """Rasa's custom action call, in a time limit, with an answer when it fails.

    Rasa waits up to 300 s for the action server, and when the call fails
    (no connection, an error status, an invalid response) it logs the
    exception and the member gets nothing. Worse, for an error status its
    log holds the action server's answer, which with rasa_sdk includes the
    whole conversation. Here the call may take `action_timeout_s`; on any
    failure the member gets `utter_answer_unavailable` as an ordinary bot
    utterance, and the log names the action and the kind of failure.
    ActionExecutionRejection (a form rejecting its turn) still reaches Rasa,
    as before. Like Rasa, the failed action's events are lost.
    """
    timeout_s: Optional[float] = None
    try:
        timeout_s = action_timeout_s(self.action_endpoint)
        return await asyncio.wait_for(
            _rasa_remote_action_run(self, output_channel, nlg, tracker, domain), timeout_s
        )
    except ActionExecutionRejection:
        raise
    except Exception as error:  # noqa: BLE001 - every failure gets the same answer
        logger.error(
            "Custom action '%s' failed: %s. The member gets '%s'.",
            self.name(),
            describe_action_failure(error, timeout_s),
            ANSWER_UNAVAILABLE_RESPONSE,
        )
    return await ActionBotResponse(ANSWER_UNAVAILABLE_RESPONSE).run(output_channel, nlg, tracker, domain)


def describe_action_failure(error: BaseException, timeout_s: Optional[float]) -> str:
    """What went wrong with an action call, without anything from the conversation.

    Exception messages are not used: Rasa's carry the action server's
    answer, and jsonschema's the invalid events, slot values included.
    """
    from jsonschema.exceptions import ValidationError

    seen: List[BaseException] = []
    cause: Optional[BaseException] = error
    while cause is not None and not any(cause is earlier for earlier in seen):
        seen.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in seen:
        if isinstance(cause, ClientResponseError):
            return f"the action server answered HTTP {cause.status}"
        if isinstance(cause, aiohttp.ClientConnectionError):
            return "could not connect to the action server"
        if isinstance(cause, asyncio.TimeoutError):
            return f"no answer within {timeout_s:g} s" if timeout_s else "timed out"
        if isinstance(cause, (ValidationError, json.JSONDecodeError)):
            return "the action server's response is not valid"
    return f"{type(error).__name__} (details left out: they may hold conversation content)"


async def reply_if_silent(
    domain: Optional[Domain], output: OutputChannel, sender_id: Text, sent_count: int
) -> None:
    """Send `utter_answer_unavailable` when handling a member message sent nothing.

    `sent_count` is how many bot messages the turn sent. Without a model
    (no domain) the text comes from domain.yml on disk.
    """
    if sent_count:
        return
    logger.warning("No reply to a member message; sending %s.", ANSWER_UNAVAILABLE_RESPONSE)
    await output.send_text_message(sender_id, response_text(ANSWER_UNAVAILABLE_RESPONSE, domain))
