"""JSON from members' browsers and sites, read with bounded depth and size.

Python's json module recurses once per nesting level: a body of 100,000
"[" raises RecursionError (a 500 on REST, an exception and no reply on
socket.io). These helpers look at the depth first, in one linear pass, and
refuse what is deeper than the limit with an ordinary ValueError.
Pure Python, no Rasa imports.
"""

import json
from typing import Any, List, Tuple

from rasa_server.limits import MAX_JSON_DEPTH, MAX_METADATA_BYTES, MAX_METADATA_DEPTH


class JSONTooDeep(ValueError):
    """JSON nested deeper than allowed."""


def json_depth(text: str) -> int:
    """How deeply the arrays and objects in a JSON text nest (0 for a scalar).

    Brackets inside strings do not count. Linear in the length of the text.
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, refusing JSON nested deeper than max_depth with JSONTooDeep."""
    if json_depth(text) > max_depth:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)


def small_metadata(value: Any) -> bool:
    """True when decoded metadata is an object at most MAX_METADATA_DEPTH deep
    and MAX_METADATA_BYTES long as JSON. Iterative: any depth is safe to check."""
    if not isinstance(value, dict):
        return False
    stack: List[Tuple[Any, int]] = [(value, 1)]
    items = 0
    while stack:
        current, depth = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            return False
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            items += 1
            if items > MAX_METADATA_BYTES:
                return False
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    try:
        return len(json.dumps(value, ensure_ascii=False)) <= MAX_METADATA_BYTES
    except (TypeError, ValueError):
        return False


# The event a socket.io packet becomes when its JSON is too deep: no handler
# is registered for it, so python-socketio drops it without an exception.
DROPPED_EVENT = "malformed-packet-dropped"


class SocketIOPacketJSON:
    """The JSON module python-socketio decodes packets with (Packet.json):
    json itself, except that a packet nested too deeply becomes an event that
    is dropped, instead of RecursionError in the server's packet handler."""

    @staticmethod
    def dumps(*args: Any, **kwargs: Any) -> str:
        return json.dumps(*args, **kwargs)

    @staticmethod
    def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("utf-8", errors="replace")
        if json_depth(text) > MAX_JSON_DEPTH:
            return [DROPPED_EVENT]
        try:
            return json.loads(text, *args, **kwargs)
        except ValueError:
            return [DROPPED_EVENT]
