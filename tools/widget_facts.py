"""Write the facts the chat widget carries copies of, from where they are defined.

The widget must work when it cannot reach the assistant, so widget.js holds
copies of two facts defined elsewhere: the ID-card line in each language
(plan_coverage/rules.yml, `phrases`) and how long to wait for a reply
(rasa_server/limits.py, longer than the server's own action time limit, so the
server's fallback arrives first). `make` runs this tool, which rewrites the
lines of widget.js marked `// phrase: <name> (<language>)` or
`// limit: <name>`; with `--check` (used by a test) it only reports whether
they are current.
"""

import argparse
import json
import re
import sys
from typing import Dict, List, Mapping, Optional

from launch.paths import PROJECT_DIR
from plan_coverage.engine import DEFAULT_LANGUAGE, LANGUAGES, load_rules
from rasa_server.limits import WIDGET_REPLY_TIMEOUT_S

WIDGET_JS = PROJECT_DIR / "web" / "widget" / "widget.js"
# `      idCard: "For help now, call ... ID card.", // phrase: id_card (en)`;
# a line without a language is in DEFAULT_LANGUAGE.
PHRASE_LINE = re.compile(
    r'^(?P<indent>\s*)(?P<key>\w+): (?P<value>"(?:[^"\\]|\\.)*"),\s*'
    r"// phrase: (?P<name>\w+)(?: \((?P<language>[a-z]{2})\))?$",
    re.M,
)
# `  const REPLY_TIMEOUT_MS = 15000; // limit: widget_reply_timeout`
LIMIT_LINE = re.compile(r"^(?P<indent>\s*)const (?P<key>\w+) = \d+;\s*// limit: (?P<name>\w+)$", re.M)
# How each widget entry uses its phrase, by language.
WIDGET_SENTENCES: Mapping[str, Mapping[str, str]] = {
    "en": {"idCard": "For help now, {}."},
    "es": {"idCard": "Para recibir ayuda ahora, {}."},
}
LIMITS_MS: Mapping[str, int] = {"widget_reply_timeout": round(WIDGET_REPLY_TIMEOUT_S * 1000)}


def rules_phrases() -> Dict[str, Mapping[str, str]]:
    """The rules' phrases in each language the assistant answers in: {language: {name: phrase}}."""
    return {language: load_rules(language=language).phrases for language in LANGUAGES}


def widget_source_with_facts(
    source: str, phrases: Mapping[str, Mapping[str, str]], limits_ms: Mapping[str, int] = LIMITS_MS
) -> str:
    """widget.js source with every marked line written from the phrases (by
    language, as `rules_phrases` gives them) and limits.

    Raises KeyError for a marked line whose language, phrase, sentence or limit is unknown.
    """

    def phrase_line(match: "re.Match[str]") -> str:
        language = match["language"] or DEFAULT_LANGUAGE
        sentence = WIDGET_SENTENCES[language][match["key"]]
        text = sentence.format(phrases[language][match["name"]])
        # Written as is (not \u escapes): the widget's words stay readable, and
        # the tests read them from the source.
        marker = f"{match['name']} ({match['language']})" if match["language"] else match["name"]
        return f"{match['indent']}{match['key']}: {json.dumps(text, ensure_ascii=False)}, // phrase: {marker}"

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
    current = widget_source_with_facts(source, rules_phrases())
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
