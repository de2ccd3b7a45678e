"""`make run`: start the action server, the Rasa server and the web server for
the chat widget's demo page, in the foreground.

Ports: RASA_PORT (default 5005), ACTION_PORT (default 5055) and WEB_PORT
(default 8000). RASA_HOST sets the interface the Rasa server and the web server
listen on (default 127.0.0.1; 0.0.0.0 for all). SITE_ORIGINS lists the web
pages allowed to use the assistant from a browser, separated by commas
(default: the demo page's, http://127.0.0.1:WEB_PORT and http://localhost:WEB_PORT).
The agent preview needs a token: AGENT_TOKEN when set, otherwise one made for
this run and printed with the agent page URL.

Rasa's HTTP API (/status, /conversations/..., /model/...) is off. Set
RASA_API_TOKEN to turn it on for requests that carry that token
(`?token=...`); it is never on without one. Ctrl-C stops all three servers.
"""

import os
import sys
from typing import Mapping

from launch.servers import (
    API_TOKEN_ENV,
    MODEL_PATH,
    Assistant,
    port_in_use,
    run_in_foreground,
)

EXAMPLE = "does my texas hmo cover massage as part of physical therapy?"


def assistant_from_env(env: Mapping[str, str]) -> Assistant:
    """The assistant `make run` starts, set up from the environment (see above)."""
    site_origins = env["SITE_ORIGINS"].replace(",", " ").split() if "SITE_ORIGINS" in env else None
    return Assistant(
        rasa_port=int(env.get("RASA_PORT", "5005")),
        action_port=int(env.get("ACTION_PORT", "5055")),
        web_port=int(env.get("WEB_PORT", "8000")),
        host=env.get("RASA_HOST", "127.0.0.1"),
        site_origins=site_origins,
        # Without AGENT_TOKEN the Assistant makes one for this run.
        agent_token=env.get("AGENT_TOKEN", "").strip() or None,
        api_token=env.get(API_TOKEN_ENV, "").strip() or None,
    )


def main() -> int:
    """Start the assistant, print where to talk to it, run until Ctrl-C."""
    try:
        assistant = assistant_from_env(os.environ)
    except ValueError as error:
        print(f"error: SITE_ORIGINS: {error}", file=sys.stderr)
        return 1
    rasa_port, action_port, web_port = assistant.rasa_port, assistant.action_port, assistant.web_port
    if not MODEL_PATH.exists():
        print(f"error: no trained model at {MODEL_PATH}; run `make run`.", file=sys.stderr)
        return 1
    for name, port in (("RASA_PORT", rasa_port), ("ACTION_PORT", action_port), ("WEB_PORT", web_port)):
        if port is not None and port_in_use(port):
            print(f"error: port {port} is in use; choose another with {name}=...", file=sys.stderr)
            return 1

    token_note = "the value of AGENT_TOKEN"
    if not os.environ.get("AGENT_TOKEN", "").strip():
        token_note = f"{assistant.agent_token}  (made for this run; set AGENT_TOKEN to choose one)"
    print(
        f"Starting the action server on port {action_port}, the assistant on port {rasa_port} "
        f"and the web server on port {web_port}..."
    )
    return run_in_foreground(
        assistant,
        lambda: (
            "\nThe assistant is ready.\n"
            f"  Chat widget demo page: {assistant.demo_url}\n"
            f"  Web pages allowed to use it: {', '.join(assistant.site_origins) or 'none'}\n"
            f"  REST channel: POST {assistant.rest_url}\n"
            f"  Try: curl -s -X POST {assistant.rest_url} -H 'Content-Type: application/json' \\\n"
            f'         -d \'{{"sender": "member-1", "message": "{EXAMPLE}"}}\'\n'
            f"  Agent preview page: {assistant.agent_page_url}\n"
            f"  Agent token: {token_note}\n"
            f"  {api_note(assistant)}\n"
            "Press Ctrl-C to stop.\n"
        ),
    )


def api_note(assistant: Assistant) -> str:
    """One line saying whether Rasa's HTTP API is on, never with the token itself."""
    if assistant.api_token:
        return (
            f"Rasa HTTP API: ON at {assistant.base_url}, for requests with "
            f"?token=<the value of {API_TOKEN_ENV}>"
        )
    return f"Rasa HTTP API: off (set {API_TOKEN_ENV} to turn it on with that token)"


if __name__ == "__main__":
    sys.exit(main())
