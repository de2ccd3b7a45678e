"""Reading what Rasa's SQL tracker store (SQLite or Postgres) kept of a
conversation, straight from its `events` table."""

import json
import sqlite3
from typing import Any, Dict, List, Sequence

from sqlalchemy.engine import make_url


def stored_events(tracker_store_url: str, sender_ids: Sequence[str]) -> List[Dict[str, Any]]:
    """The events stored for these conversations, oldest first, as Rasa serialised them."""
    url = make_url(tracker_store_url)
    placeholders = ", ".join(["?" if url.get_backend_name() == "sqlite" else "%s"] * len(sender_ids))
    query = f"SELECT data FROM events WHERE sender_id IN ({placeholders}) ORDER BY id"
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as connection:
            rows = connection.execute(query, list(sender_ids)).fetchall()
    else:
        import psycopg2

        connection = psycopg2.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            dbname=url.database,
            password=url.password or None,
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(query, list(sender_ids))
                rows = cursor.fetchall()
        finally:
            connection.close()
    return [json.loads(row[0]) for row in rows]


def user_events(events: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The member's messages among the events."""
    return [event for event in events if event.get("event") == "user"]
