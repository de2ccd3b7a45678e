"""Limits of the Rasa server process, defined once.

No Rasa imports: the launchers and the nginx configuration read these
without loading Rasa.
"""

# Sanic's default is 100 MB. A member message is at most a few kilobytes; the
# largest legitimate body (10,000 characters, each escaped as a JSON surrogate
# pair) is about 120 KB. nginx (deploy/nginx) gets the same limit.
MAX_REQUEST_BODY_BYTES = 256 * 1024
# Seconds the Rasa server waits for a custom action when endpoints.yml names
# no `timeout` (Rasa's own limit is 300 s); the launchers export it as
# ACTION_TIMEOUT_S for endpoints.yml.
DEFAULT_ACTION_TIMEOUT_S = 10.0
# How long the chat widget waits for a reply before it says the assistant is
# slow: longer than the action time limit, so the server's own ID-card
# fallback reaches the member first (written into widget.js by `make`).
WIDGET_REPLY_TIMEOUT_S = DEFAULT_ACTION_TIMEOUT_S + 5.0


def nginx_size(size_bytes: int) -> str:
    """A byte count as nginx writes sizes: "256k"."""
    return f"{size_bytes // 1024}k" if size_bytes % 1024 == 0 else str(size_bytes)


# JSON a member channel accepts (a REST body, a socket.io packet, metadata
# sent as a string): at most this deep. Python's json module raises
# RecursionError on about 1,000 levels; nothing a member site sends needs
# more than a few.
MAX_JSON_DEPTH = 32
# Message metadata (REST `metadata`, socket.io `customData`): a small object.
# Only the plan context (`state`, `plan_type`) is kept; larger or deeper
# metadata is dropped and the message answered without it.
MAX_METADATA_DEPTH = 4
MAX_METADATA_BYTES = 4096
