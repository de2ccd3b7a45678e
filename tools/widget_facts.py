"""Write the facts the chat widget carries copies of, from where they are defined.

The widget must work when it cannot reach the assistant, so widget.js holds
copies of two facts defined elsewhere: the ID-card line (plan_coverage/rules.yml,
`phrases`) and how long to wait for a reply (rasa_server/limits.py, longer
than the server's own action time limit, so the server's fallback arrives
first). `make` runs this tool, which rewrites the lines of widget.js marked
`// phrase: <name>` or `// limit: <name>`; with `--check` (used by a test)
it only reports whether they are current.
"""

import argparse
import json
import re
import sys
from typing import List, Mapping, Optional

from launch.paths import PROJECT_DIR
from plan_coverage.engine import load_rules
from rasa_server.limits import WIDGET_REPLY_TIMEOUT_S

WIDGET_JS = PROJECT_DIR / "web" / "widget" / "widget.js"
# `    idCard: "For help now, call ... ID card.", // phrase: id_card`
PHRASE_LINE = re.compile(
    r'^(?P<indent>\s*)(?P<key>\w+): (?P<value>"(?:[^"\\]|\\.)*"),\s*// phrase: (?P<name>\w+)$', re.M
)
# `  const REPLY_TIMEOUT_MS = 15000; // limit: widget_reply_timeout`
LIMIT_LINE = re.compile(r"^(?P<indent>\s*)const (?P<key>\w+) = \d+;\s*// limit: (?P<name>\w+)$", re.M)
# How each widget entry uses its phrase.
WIDGET_SENTENCES = {"idCard": "For help now, {}."}
LIMITS_MS: Mapping[str, int] = {"widget_reply_timeout": round(WIDGET_REPLY_TIMEOUT_S * 1000)}


def widget_source_with_facts(
    source: str, phrases: Mapping[str, str], limits_ms: Mapping[str, int] = LIMITS_MS
) -> str:
    """widget.js source with every marked line written from the phrases and limits.

    Raises KeyError for a marked line whose phrase, sentence or limit is unknown.
    """

    def phrase_line(match: "re.Match[str]") -> str:
        text = WIDGET_SENTENCES[match["key"]].format(phrases[match["name"]])
        return f"{match['indent']}{match['key']}: {json.dumps(text)}, // phrase: {match['name']}"

    def limit_line(match: "re.Match[str]") -> str:
        return (
            f"{match['indent']}const {match['key']} = {limits_ms[match['name']]}; // limit: {match['name']}"
        )

    rewrites: List[tuple] = [(PHRASE_LINE, phrase_line), (LIMIT_LINE, limit_line)]
    for pattern, rewrite in rewrites:
        source = pattern.sub(rewrite, source)
    return source


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether widget.js is current")
    args = parser.parse_args(argv)
    source = WIDGET_JS.read_text(encoding="utf-8")
    current = widget_source_with_facts(source, load_rules().phrases)
    if current == source:
        return 0
    if args.check:
        print(f"{WIDGET_JS} differs from the facts it copies: run `make`", file=sys.stderr)
        return 1
    WIDGET_JS.write_text(current, encoding="utf-8")
    print(f"wrote the rules' phrases and the limits into {WIDGET_JS.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
