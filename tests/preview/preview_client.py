"""A client for the agent preview endpoint, shared by the preview tests."""

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

PreviewReply = Tuple[int, Dict[str, Any], bytes]


def post_preview(
    url: str, body: Any, authorization: Optional[str], raw: Optional[bytes] = None
) -> PreviewReply:
    """POST to the preview endpoint; return status, parsed JSON (or {}) and the raw body."""
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, raw if raw is not None else json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            content = response.read()
            return response.status, json.loads(content), content
    except urllib.error.HTTPError as error:
        content = error.read()
        try:
            parsed = json.loads(content) if content else {}
        except ValueError:
            parsed = {}
        return error.code, parsed, content


def post_json(url: str, body: Any) -> Any:
    """POST JSON without credentials (the members' REST channel); return the JSON reply."""
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
