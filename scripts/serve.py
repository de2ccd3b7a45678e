"""`make run`: start the action server, the Rasa server and the web server for
the chat widget's demo page, in the foreground.

Ports: RASA_PORT (default 5005), ACTION_PORT (default 5055) and WEB_PORT
(default 8000). RASA_HOST sets the interface the Rasa server and the web server
listen on (default 127.0.0.1; 0.0.0.0 for all). SITE_ORIGINS lists the web
pages allowed to use the assistant from a browser, separated by commas
(default: the demo page's, http://127.0.0.1:WEB_PORT and http://localhost:WEB_PORT).
The agent preview needs a token: AGENT_TOKEN when set, otherwise one made for
this run and printed with the agent page URL. Ctrl-C stops all three servers.
"""
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.assistant_servers import MODEL_PATH, Assistant, port_in_use, run_in_foreground  # noqa: E402

EXAMPLE = "does my texas hmo cover massage as part of physical therapy?"


def main() -> int:
    """Start the assistant, print where to talk to it, run until Ctrl-C."""
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    web_port = int(os.environ.get("WEB_PORT", "8000"))
    host = os.environ.get("RASA_HOST", "127.0.0.1")
    site_origins = os.environ["SITE_ORIGINS"].replace(",", " ").split() if "SITE_ORIGINS" in os.environ else None
    if not MODEL_PATH.exists():
        print(f"error: no trained model at {MODEL_PATH}; run `make run`.", file=sys.stderr)
        return 1
    for name, port in (("RASA_PORT", rasa_port), ("ACTION_PORT", action_port), ("WEB_PORT", web_port)):
        if port_in_use(port):
            print(f"error: port {port} is in use; choose another with {name}=...", file=sys.stderr)
            return 1

    agent_token = os.environ.get("AGENT_TOKEN", "").strip()
    token_note = "the value of AGENT_TOKEN"
    if not agent_token:
        agent_token = secrets.token_urlsafe(24)
        token_note = f"{agent_token}  (made for this run; set AGENT_TOKEN to choose one)"
    print(f"Starting the action server on port {action_port}, the assistant on port {rasa_port} "
          f"and the web server on port {web_port}...")
    assistant = Assistant(rasa_port=rasa_port, action_port=action_port, host=host,
                          web_port=web_port, site_origins=site_origins, agent_token=agent_token)
    return run_in_foreground(assistant, lambda: (
        "\nThe assistant is ready.\n"
        f"  Chat widget demo page: {assistant.demo_url}\n"
        f"  Web pages allowed to use it: {', '.join(assistant.site_origins) or 'none'}\n"
        f"  REST channel: POST {assistant.rest_url}\n"
        f"  Try: curl -s -X POST {assistant.rest_url} -H 'Content-Type: application/json' \\\n"
        f"         -d '{{\"sender\": \"member-1\", \"message\": \"{EXAMPLE}\"}}'\n"
        f"  Agent preview page: {assistant.agent_page_url}\n"
        f"  Agent token: {token_note}\n"
        "Press Ctrl-C to stop.\n"
    ))


if __name__ == "__main__":
    sys.exit(main())
