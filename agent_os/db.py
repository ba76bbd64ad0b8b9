"""The session database: one SQLite connection shared by the threads of a process.

Several components keep tables in the same file (the engine, the bot's deliveries and
outbox, the MCP server's tokens); each migrates its own tables with numbered steps
recorded in `schema_migrations`, so a component's schema can move on its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import sqlite
from .errors import StoreError

Step = str | Callable[[Any], None]
"""A migration step: a SQL script, or a function given the connection."""


class Database:
    """A connection with a re-entrant lock, explicit transactions and migrations."""

    def __init__(self, conn: Any, path: str) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL"
            " DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), PRIMARY KEY (component, version))"
        )

    @classmethod
    def open(cls, path: str | Path) -> Database:
        """Open (creating if needed) the database at `path`; `:memory:` is allowed for tests."""
        try:
            conn = sqlite.connect(path)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return cls(conn, str(path))
        except sqlite.DatabaseError as exc:
            raise StoreError(
                f"Cannot open the session database {path}: {exc}.",
                hint="Check the path (--project, AGENT_OS_DB or `database:` in .agent-os/config.yaml); "
                "the file must be an Agent OS SQLite database.",
            ) from None

    def close(self) -> None:
        """Close the connection; further use raises."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A write transaction (BEGIN IMMEDIATE), re-entrant; rolls back on any exception.

        IMMEDIATE takes the write lock up front, so two processes racing to change the
        same session serialise here instead of failing at commit.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        """Rows of a read query."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """The first row of a read query, or None."""
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """Run one statement (in autocommit mode unless inside `transaction()`)."""
        with self._lock:
            return self._conn.execute(sql, params)

    def version(self, component: str) -> int:
        """The highest migration step applied for `component` (0 if none)."""
        row = self.query_one(
            "SELECT max(version) AS v FROM schema_migrations WHERE component = ?", (component,)
        )
        return int(row["v"] or 0)

    def migrate(self, component: str, steps: Sequence[Step]) -> int:
        """Apply the steps of `component` not yet applied, each in its own transaction.

        Returns the version reached. A database from a newer release is refused rather
        than guessed at.
        """
        current = self.version(component)
        if current > len(steps):
            raise StoreError(
                f"The database {self.path} has {component} schema version {current}, newer than "
                f"this release knows ({len(steps)}).",
                hint="Upgrade agent-os-enhanced, or point AGENT_OS_DB at another file.",
            )
        for number, step in enumerate(steps[current:], start=current + 1):
            with self.transaction() as conn:
                if callable(step):
                    step(conn)
                else:
                    for statement in _statements(step):
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (component, version) VALUES (?, ?)",
                    (component, number),
                )
        return len(steps)


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; split on ';' instead (our migrations
    # hold no ';' inside literals or triggers).
    return [s.strip() for s in script.split(";") if s.strip()]
