"""The web origins (member sites) allowed to use the assistant from a browser.

Pure Python, so the launchers can check SITE_ORIGINS before starting Rasa.
"""

import re
from typing import List, Sequence, Union

# scheme://host[:port] and nothing else. Sanic-Cors (Rasa's --cors) reads an
# origin holding `*`, `?`, `\` or `]` as an unanchored regular expression
# (SECURITY.md): "https://*.example" would also admit "https://evil.example.attacker".
# Such origins are refused outright rather than half-matched.
ORIGIN_PATTERN = re.compile(r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")


def parse_origins(value: Union[None, str, Sequence[str]]) -> List[str]:
    """Origins from a list, or one string separated by commas or spaces.

    Raises ValueError naming any entry that is not scheme://host[:port].
    """
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    origins = [
        part.strip().rstrip("/") for item in items for part in re.split(r"[,\s]+", str(item)) if part.strip()
    ]
    invalid = [origin for origin in origins if not ORIGIN_PATTERN.match(origin)]
    if invalid:
        raise ValueError(f"not a web origin (scheme://host[:port], no wildcards): {', '.join(invalid)}")
    return origins
