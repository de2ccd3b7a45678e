"""Rasa's HTTP API, opened only with a token taken from the environment.

`run` with a non-empty RASA_API_TOKEN opens the API for requests carrying that
token (`--enable-api --auth-token`). The entry point adds the flags inside the
process, so the token never shows on a command line (`ps` shows those to every
local user); without the variable the API stays off.
"""

from typing import List, Mapping

API_TOKEN_ENV = "RASA_API_TOKEN"


def with_api_token(argv: List[str], env: Mapping[str, str]) -> List[str]:
    """`rasa` arguments, with the HTTP API flags added when `run` has a token."""
    token = env.get(API_TOKEN_ENV, "").strip()
    if not token or argv[1:2] != ["run"] or "--enable-api" in argv:
        return argv
    # One "--auth-token=..." argument: a token may start with "-", which
    # argparse would read as the next option.
    return [*argv, "--enable-api", f"--auth-token={token}"]
