"""The session database over SQLAlchemy Core: SQLite (embedded default) or PostgreSQL.

`AGENT_OS_DB` (or `database:` in the project config) is a file path for SQLite, or a
`postgresql://…` URL for a team server with several replicas. Several components keep
tables in the same database (the engine, the bot's queues, the MCP tokens); each migrates
its own with numbered steps recorded in `schema_migrations`. What differs between the two
databases lives in `dialects.py`. SQLAlchemy is imported on first open, so commands that
never touch the database start without it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import dialects
from .errors import StoreError

Step = str | Callable[[Any], None]
"""A migration step: a SQL script, or a function given the connection."""


def is_url(location: str | Path) -> bool:
    """True for a database URL (`postgresql://…`, `sqlite:///…`), False for a file path."""
    return isinstance(location, str) and "://" in location


def sqlalchemy_url(location: str | Path) -> str:
    """The SQLAlchemy URL for a path or URL; `postgresql://` means psycopg 3."""
    text = str(location)
    if not is_url(location):
        return "sqlite://" if text == ":memory:" else f"sqlite:///{text}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return text


def redact(location: str | Path) -> str:
    """`location` without a password, for messages and logs."""
    text = str(location)
    if not is_url(text) or "@" not in text:
        return text
    scheme, rest = text.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"


class _Result:
    """A finished statement's rows (as mappings), row count and last row id."""

    def __init__(self, result: Any) -> None:
        self._rows = list(result.mappings()) if result.returns_rows else []
        self.rowcount = result.rowcount
        self.lastrowid = getattr(result, "lastrowid", None) if not self._rows else None

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def scalar(self) -> Any:
        row = self.fetchone()
        return None if row is None else next(iter(row.values()))


class Conn:
    """The connection inside a transaction: SQLAlchemy statements, or SQL text (SQLite's `?`)."""

    def __init__(self, sa: Any) -> None:
        self.sa = sa
        self.dialect = sa.dialect.name

    def execute(self, stmt: Any, params: Sequence[Any] | dict[str, Any] | None = None) -> _Result:
        if isinstance(stmt, dialects.Prepared):
            stmt = stmt.statement
        if isinstance(stmt, str):
            return _Result(self.sa.exec_driver_sql(stmt, tuple(params) if isinstance(params, list) else
                                                   (params if params is not None else ())))
        return _Result(self.sa.execute(stmt, params) if params is not None else self.sa.execute(stmt))

    def executemany(self, stmt: Any, rows: Sequence[Any]) -> None:
        rows = list(rows)
        if not rows:
            return
        if isinstance(stmt, str):
            self.sa.exec_driver_sql(stmt, [tuple(r) for r in rows])
        else:
            self.sa.execute(stmt, rows)


class Database:
    """A pool of connections with explicit, re-entrant transactions and migrations.

    SQLite: one connection guarded by a lock per process (WAL lets other processes read
    while one writes; `BEGIN IMMEDIATE` serialises writers). PostgreSQL: a connection per
    thread from a pool; row locks (`dialects.lock_rows`) serialise what must be.
    """

    def __init__(self, engine: Any, location: str) -> None:
        self.engine = engine
        self.path = location
        self.dialect = engine.dialect.name
        self.is_postgres = self.dialect == "postgresql"
        # SQLite shares one connection; PostgreSQL threads each take their own.
        self._lock: Any = threading.RLock() if not self.is_postgres else _NoLock()
        self._local = threading.local()
        # Statements outside a transaction run in autocommit on PostgreSQL: no BEGIN/COMMIT
        # round trips around every read (psycopg switches it on the client side).
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT") if self.is_postgres else engine
        self._notify_hooks: list[Callable[[str], None]] = []
        # SQLite: the one connection, held for prepared reads (`_prepared`).
        self._held: Any = None
        with self.transaction() as conn:
            dialects.create_migrations_table(conn)

    @classmethod
    def open(cls, location: str | Path) -> Database:
        """Open (creating if needed) the database at `location`: a SQLite path (`:memory:`
        for tests) or a `postgresql://user@host/db` URL."""
        try:
            engine = dialects.create_engine(sqlalchemy_url(location), location)
            return cls(engine, str(location))
        except StoreError:
            raise
        except Exception as exc:  # the driver's own errors: unreachable, not a database, ...
            raise StoreError(
                f"Cannot open the session database {redact(location)}: {_reason(exc)}.",
                hint="Check --project, AGENT_OS_DB or `database:` in .agent-os/config.yaml: a SQLite "
                "file path, or postgresql://USER:PASSWORD@HOST:PORT/DB for a server that is running.",
            ) from None

    def close(self) -> None:
        """Close every connection; further use raises."""
        with self._lock:
            self._held = None
            self.engine.dispose()

    def ping(self) -> float:
        """Round-trip one query; returns the seconds it took (for /healthz)."""
        import time

        started = time.perf_counter()
        self.query_one("SELECT 1 AS ok")
        return time.perf_counter() - started

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """A write transaction, re-entrant within a thread; rolls back on any exception.

        On SQLite it opens with BEGIN IMMEDIATE, taking the write lock up front, so two
        processes racing to change the same session serialise here instead of failing at
        commit. On PostgreSQL callers lock the rows they change (`dialects.lock_rows`).
        """
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._lock:
            with self.engine.connect() as sa:
                conn = Conn(sa)
                dialects.begin(sa)
                self._local.conn = conn
                self._local.pending = []
                try:
                    yield conn
                except BaseException:
                    sa.rollback()
                    raise
                else:
                    sa.commit()
                finally:
                    self._local.conn = None
                    pending, self._local.pending = self._local.pending, []
        for channel in dict.fromkeys(pending):  # committed or not: a spurious look is harmless
            self._fire(channel)

    @contextmanager
    def _connection(self) -> Iterator[Conn]:
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._lock, self._single.connect() as sa:
            try:
                yield Conn(sa)
            except BaseException:
                sa.rollback()
                raise
            sa.commit()

    def query(self, sql: Any, params: Sequence[Any] | dict[str, Any] | None = None) -> list[Any]:
        """Rows (mappings) of a read query: a SQLAlchemy statement, a `dialects.Prepared` one,
        or SQL text."""
        if isinstance(sql, dialects.Prepared) and not self.is_postgres:
            return self._prepared(sql, params)
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def query_one(self, sql: Any, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The first row of a read query, or None."""
        if isinstance(sql, dialects.Prepared) and not self.is_postgres:
            rows = self._prepared(sql, params)
            return rows[0] if rows else None
        with self._connection() as conn:
            return conn.execute(sql, params).fetchone()

    def _prepared(self, sql: dialects.Prepared, params: Any) -> list[Any]:
        # SQLite has one connection per Database (StaticPool), inside a transaction or not:
        # under the lock, reading on it directly sees exactly what a checkout would.
        with self._lock:
            if self._held is None:
                self._held = self.engine.raw_connection()
            return sql.run_sqlite(self._held.dbapi_connection, self.engine.dialect, params or {})

    def execute(self, sql: Any, params: Sequence[Any] | dict[str, Any] | None = None) -> _Result:
        """Run one statement (committed at once unless inside `transaction()`)."""
        with self._connection() as conn:
            return conn.execute(sql, params)

    def version(self, component: str) -> int:
        """The highest migration step applied for `component` (0 if none)."""
        with self._connection() as conn:
            return dialects.schema_version(conn, component)

    def migrate(self, component: str, steps: Sequence[Step], tables: Sequence[Any] = ()) -> int:
        """Bring `component`'s tables to this release; returns the version reached.

        One transaction holding the migration lock (an advisory lock on PostgreSQL, the
        write lock on SQLite), so replicas starting at once migrate exactly once. A fresh
        database gets `tables` as defined now and is stamped with the last step; a database
        from an older release gets the steps it lacks. A newer one is refused.
        """
        with self.transaction() as conn:
            dialects.lock_migrations(conn)
            current = dialects.schema_version(conn, component)
            if current > len(steps):
                raise StoreError(
                    f"The database {redact(self.path)} has {component} schema version {current}, newer "
                    f"than this release knows ({len(steps)}).",
                    hint="Upgrade agent-os-enhanced, or point AGENT_OS_DB at another database.",
                )
            if current == 0 and tables:
                dialects.create_tables(conn, tables)
                dialects.stamp(conn, component, range(1, len(steps) + 1))
                return len(steps)
            for number, step in enumerate(steps[current:], start=current + 1):
                if callable(step):
                    step(conn)
                else:
                    for statement in _statements(step):
                        conn.execute(statement)
                dialects.stamp(conn, component, [number])
        return len(steps)

    # waking other replicas -------------------------------------------------------------------

    def notify(self, channel: str) -> None:
        """Tell listeners (in this process and, on PostgreSQL, every replica) to look for work.

        Inside a transaction PostgreSQL delivers it at commit, so nobody looks too early.
        """
        if self.is_postgres:
            with self._connection() as conn:
                dialects.notify(conn, channel)
        if getattr(self._local, "conn", None) is not None:
            self._local.pending.append(channel)  # after commit, when the work can be seen
        else:
            self._fire(channel)

    def listen(self, channel: str, callback: Callable[[], None], stop: threading.Event) -> None:
        """Call `callback()` for each NOTIFY on `channel` until `stop` is set (PostgreSQL; a
        thread's body). Reconnects after a lost connection; callers poll as well."""
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'LISTEN "{channel}"')
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            callback()
            except psycopg.Error:
                stop.wait(1.0)

    def _fire(self, channel: str) -> None:
        for hook in list(self._notify_hooks):
            hook(channel)

    def on_notify(self, hook: Callable[[str], None]) -> None:
        """Call `hook(channel)` on every `notify` made in this process."""
        self._notify_hooks.append(hook)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; split on ';' instead (our migrations
    # hold no ';' inside literals or triggers).
    return [s.strip() for s in script.split(";") if s.strip()]
