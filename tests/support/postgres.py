"""A fresh database on the local Postgres for one test, dropped afterwards."""

import contextlib
import uuid
from typing import Iterator

from tests.support.prerequisites import skip_unless_required
from tools.review_bench import POSTGRES_ADMIN_URL, drop_postgres_database, fresh_postgres_database


@contextlib.contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """Yield the URL of a new, empty database named `prefix` plus a random suffix.

    Skips the test (or fails it where prerequisites are required, as in CI)
    when Postgres at POSTGRES_ADMIN_URL cannot be reached.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        url = fresh_postgres_database(POSTGRES_ADMIN_URL, name)
    except Exception as error:  # noqa: BLE001 - any failure to connect means no Postgres here
        skip_unless_required(f"Postgres at {POSTGRES_ADMIN_URL} is not available: {type(error).__name__}")
    try:
        yield url
    finally:
        drop_postgres_database(POSTGRES_ADMIN_URL, name)
