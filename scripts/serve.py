"""`make run`: start the action server and the Rasa server in the foreground.

Ports: RASA_PORT (default 5005) and ACTION_PORT (default 5055). RASA_HOST sets
the interface the Rasa server listens on (default 127.0.0.1; 0.0.0.0 for all).
Ctrl-C stops both servers.
The agent preview needs a token: AGENT_TOKEN when set, otherwise one made for
this run and printed with the agent page URL.
"""
import os
import signal
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.assistant_servers import MODEL_PATH, Assistant, port_in_use  # noqa: E402

EXAMPLE = "does my texas hmo cover massage as part of physical therapy?"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Start the assistant, print where to talk to it, run until Ctrl-C."""
    # A closed terminal or `kill` stops the servers as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    action_port = int(os.environ.get("ACTION_PORT", "5055"))
    host = os.environ.get("RASA_HOST", "127.0.0.1")
    if not MODEL_PATH.exists():
        print(f"error: no trained model at {MODEL_PATH}; run `make run`.", file=sys.stderr)
        return 1
    for name, port in (("RASA_PORT", rasa_port), ("ACTION_PORT", action_port)):
        if port_in_use(port):
            print(f"error: port {port} is in use; choose another with {name}=...", file=sys.stderr)
            return 1

    print(f"Starting the action server on port {action_port} and the assistant on port {rasa_port}...")
    agent_token = os.environ.get("AGENT_TOKEN", "").strip()
    token_note = "the value of AGENT_TOKEN"
    if not agent_token:
        agent_token = secrets.token_urlsafe(24)
        token_note = f"{agent_token}  (made for this run; set AGENT_TOKEN to choose one)"
    assistant = Assistant(
        rasa_port=rasa_port, action_port=action_port, host=host, agent_token=agent_token
    )
    try:
        assistant.start()
        print(
            "\nThe assistant is ready.\n"
            f"  REST channel: POST {assistant.rest_url}\n"
            f"  Try: curl -s -X POST {assistant.rest_url} -H 'Content-Type: application/json' \\\n"
            f"         -d '{{\"sender\": \"member-1\", \"message\": \"{EXAMPLE}\"}}'\n"
            f"  Agent preview page: {assistant.agent_page_url}\n"
            f"  Agent token: {token_note}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        assistant.wait()
        print("A server stopped; stopping the other.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...")
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        assistant.stop()


if __name__ == "__main__":
    sys.exit(main())
