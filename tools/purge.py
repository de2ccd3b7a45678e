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

from tools.review_store import engine_for, has_events_table, missing_sqlite_file, purge, shown_url, store_url


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None, help="keep conversations this many days (DAYS)")
    parser.add_argument("--store", default=None, help="tracker store URL (default: TRACKER_STORE_URL)")
    args = parser.parse_args(argv)
    days = args.days
    if days is None:
        value = os.environ.get("DAYS") or os.environ.get("RETENTION_DAYS") or ""
        days = int(value) if value.isdigit() else 0
    if days < 1:
        print("error: say how many days to keep: make purge DAYS=30", file=sys.stderr)
        return 2
    url = store_url(args.store)
    missing = missing_sqlite_file(url)
    if missing:
        print(f"No tracker store at {missing}: nothing to delete.")
        return 0
    engine = engine_for(url)
    try:
        if not has_events_table(engine):
            print(f"{shown_url(url)} holds no conversations yet.")
            return 0
        done = purge(engine, days)
    finally:
        engine.dispose()
    print(
        f"Deleted {done.conversations} conversations ({done.events} events) whose last message was before "
        f"{done.cutoff:%Y-%m-%d %H:%M} UTC from {shown_url(url)}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
