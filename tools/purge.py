"""`make purge DAYS=N`: delete conversations whose last message is older than N days.

From the tracker store in TRACKER_STORE_URL (SQLite or Postgres; by default
`make run`'s var/tracker.db). Each purge is logged in the store's table
`retention_runs`, which `make review` reads to state the retention in force.
HIPAA's minimum-necessary rule: keep conversations only as long as reviewing
them serves a purpose.
"""

import argparse
import os
import sys
from typing import List, Optional

from sqlalchemy.exc import DatabaseError

from tools.review_store import (
    checked_store,
    database_reason,
    engine_for,
    has_events_table,
    purge,
    shown_url,
)


def days_to_keep(given: Optional[str]) -> int:
    """The number of days DAYS (or --days, or RETENTION_DAYS) gives; ValueError saying why not."""
    if given is None or not given.strip():
        raise ValueError("say how many days to keep: make purge DAYS=30")
    text = given.strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"DAYS must be a whole number of days, at least 1, not {text!r}: make purge DAYS=30")
    return int(text)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", default=None, help="keep conversations this many days (DAYS)")
    parser.add_argument("--store", default=None, help="tracker store URL (default: TRACKER_STORE_URL)")
    args = parser.parse_args(argv)
    given = args.days if args.days is not None else os.environ.get("DAYS") or os.environ.get("RETENTION_DAYS")
    try:
        days = days_to_keep(given)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        url, missing = checked_store(args.store)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if missing:
        print(f"No tracker store at {missing}: nothing to delete.")
        return 0
    engine = engine_for(url)
    try:
        if not has_events_table(engine):
            print(f"{shown_url(url)} holds no conversations yet.")
            return 0
        done = purge(engine, days)
    except DatabaseError as error:
        print(
            f"error: cannot purge the tracker store {shown_url(url)}: {database_reason(error)}",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()
    print(
        f"Deleted {done.conversations} {plural(done.conversations, 'conversation')} "
        f"({done.events} {plural(done.events, 'event')}) whose last message was before "
        f"{done.cutoff:%Y-%m-%d %H:%M} UTC from {shown_url(url)}."
    )
    return 0


def plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


if __name__ == "__main__":
    sys.exit(main())
