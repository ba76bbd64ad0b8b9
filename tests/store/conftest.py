"""The store tests run twice: on SQLite (a temp file) and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from agent_os.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def db_location(request, tmp_path) -> str:
    """Where a fresh, empty session database is: a SQLite path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "agent_os.db")
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture
def open_db(db_location: str) -> Iterator[Callable[[], Database]]:
    """Opens the test's database; each call is a separate connection (a separate replica)."""
    opened: list[Database] = []

    def open_one() -> Database:
        db = Database.open(db_location)
        opened.append(db)
        return db

    yield open_one
    for db in opened:
        db.close()


@pytest.fixture
def db(open_db) -> Database:
    return open_db()
