"""Fixtures for the agent preview tests: ask the preview endpoint of a running server."""

from typing import Any, Callable, Dict, Optional

import pytest

from launch.servers import Assistant
from tests.preview.preview_client import post_preview


@pytest.fixture(scope="session")
def preview(assistant: Assistant) -> Callable[..., Dict[str, Any]]:
    """Ask the session's assistant for a preview with the agent token; expect 200."""

    def ask(
        text: str,
        state: Optional[str] = None,
        plan_type: Optional[str] = None,
        history: Optional[list] = None,
        language: Optional[str] = None,
    ) -> Dict[str, Any]:
        body = {"text": text, "state": state, "plan_type": plan_type, "history": history or []}
        if language is not None:
            body["language"] = language
        status, answer, content = post_preview(assistant.preview_url, body, f"Bearer {assistant.agent_token}")
        assert status == 200, content[:500]
        return answer

    return ask
