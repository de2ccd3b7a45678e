"""Write the rules' shared phrases into the chat widget's words.

The ID-card line is defined once, in plan_coverage/rules.yml (`phrases`). The
widget must show it even when it cannot reach the assistant, so widget.js
carries a generated copy: `make` runs this tool, which rewrites the lines
marked `// phrase: <name>` in widget.js's TEXT table, and `--check` (a test)
fails when the copy differs from the rules.
"""

import argparse
import json
import re
import sys
from typing import List, Mapping, Optional

from launch.paths import PROJECT_DIR
from plan_coverage.engine import load_rules

WIDGET_JS = PROJECT_DIR / "web" / "widget" / "widget.js"
# `    idCard: "For help now, call ... ID card.", // phrase: id_card`
MARKED_LINE = re.compile(
    r'^(?P<indent>\s*)(?P<key>\w+): (?P<value>"(?:[^"\\]|\\.)*"),\s*// phrase: (?P<phrase>\w+)$', re.M
)
# How each widget entry uses its phrase.
WIDGET_SENTENCES = {"idCard": "For help now, {}."}


def widget_source_with_phrases(source: str, phrases: Mapping[str, str]) -> str:
    """widget.js source with every marked line written from the phrases.

    Raises KeyError for a marked line whose phrase or sentence is unknown.
    """

    def line(match: "re.Match[str]") -> str:
        text = WIDGET_SENTENCES[match["key"]].format(phrases[match["phrase"]])
        return f"{match['indent']}{match['key']}: {json.dumps(text)}, // phrase: {match['phrase']}"

    return MARKED_LINE.sub(line, source)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether widget.js is current")
    args = parser.parse_args(argv)
    source = WIDGET_JS.read_text(encoding="utf-8")
    current = widget_source_with_phrases(source, load_rules().phrases)
    if current == source:
        return 0
    if args.check:
        print(f"{WIDGET_JS} differs from plan_coverage/rules.yml's phrases: run `make`", file=sys.stderr)
        return 1
    WIDGET_JS.write_text(current, encoding="utf-8")
    print(f"wrote the rules' phrases into {WIDGET_JS.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
