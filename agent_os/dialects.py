"""What differs between SQLite and PostgreSQL, in one place.

- Opening: SQLite through `agent_os.sqlite` (pysqlite3 where the stdlib module cannot load
  extensions), one shared connection per process; PostgreSQL through psycopg 3, a pool.
- Transactions: SQLite has no row locks, so every write transaction starts with
  `BEGIN IMMEDIATE` (the file's write lock, which covers every row). PostgreSQL starts a
  plain transaction and locks the rows it changes: `lock_rows` (`SELECT … FOR UPDATE`),
  and queue claims skip rows another replica holds (`FOR UPDATE SKIP LOCKED`).
- Migrations: one advisory lock on PostgreSQL; the write lock on SQLite.
- Waking other replicas: `NOTIFY` on PostgreSQL; SQLite has one process per file that
  matters, and pollers.
- Upserts: both dialects' `insert().on_conflict_do_…`, picked here.

Everything else is written once, in SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

MIGRATION_LOCK = 0x41474F53  # "AGOS": the advisory lock key replicas migrate under


def create_engine(url: str, location: Any) -> Any:
    """A SQLAlchemy engine for `url` (built by `db.sqlalchemy_url`)."""
    import sqlalchemy as sa

    if url.startswith("sqlite"):
        from sqlalchemy.pool import StaticPool

        from . import sqlite

        path = str(location).removeprefix("sqlite:///")
        # One connection per process (callers serialise on the Database's lock), opened the
        # one way we open SQLite; `module` makes SQLAlchemy read that driver's errors.
        return sa.create_engine("sqlite://", module=sqlite.sqlite3, creator=lambda: sqlite.connect(path),
                                poolclass=StaticPool, execution_options={"compiled_cache": _SQLITE_COMPILED})
    if url.startswith("postgresql"):
        # No pre-ping (a round trip per checkout): a connection the server dropped fails one
        # statement, SQLAlchemy discards it, and callers retry (the worker on its next pass).
        return sa.create_engine(url, pool_size=8, max_overflow=16, pool_recycle=1800)
    from .errors import StoreError

    raise StoreError(f"Unsupported database URL scheme in {url.split('://', 1)[0]}://…",
                     hint="Use a SQLite file path, or postgresql://USER:PASSWORD@HOST:PORT/DB.")


class _SharedCompiled:
    """SQLAlchemy's compiled-statement cache, shared by every SQLite database of the process.

    SQLAlchemy keys its cache by the engine's dialect object, so each database opened
    compiled every statement again (a session opened, started, read and closed on a new
    database: 16 ms, 13 with the cache shared; a test run opens hundreds of databases). All SQLite engines here run one driver, one SQLite library
    and one dialect class, so the compiled SQL of one serves them all: the key names the
    dialect's class and the library's version instead of the object.
    """

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._lru: Any = None  # made at first use: importing SQLAlchemy waits for a database

    @property
    def lru(self) -> Any:
        if self._lru is None:
            from sqlalchemy.util import LRUCache

            self._lru = LRUCache(self.size)
        return self._lru

    @staticmethod
    def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect = key[0]
        return (type(dialect), dialect.server_version_info, *key[1:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self.lru.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self.lru[self._key(key)] = value


_SQLITE_COMPILED = _SharedCompiled()


class Prepared:
    """A read statement built once and run with bound values (a session's reads).

    On SQLite its SQL is compiled once and run on the driver's connection itself: ~5 us a
    read instead of ~40 through SQLAlchemy (its execution context, cache lookup and row
    objects), for reads the engine makes tens of thousands of times. Rows are plain dicts.
    PostgreSQL runs `statement` through SQLAlchemy like any other.
    """

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._sqlite: tuple[str, tuple[str, ...], dict[str, Any], tuple[str, ...]] | None = None

    def run_sqlite(self, dbapi_conn: Any, dialect: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of the statement on SQLite's own connection."""
        if self._sqlite is None:
            compiled = self.statement.compile(dialect=dialect)
            columns = self.statement.selected_columns
            # The driver's values are the values only where no column type converts them.
            converted = [c.key for c in columns
                         if c.type.dialect_impl(dialect).result_processor(dialect, None) is not None]
            if converted:
                raise TypeError(f"Prepared reads return TEXT, INTEGER and REAL columns as stored; "
                                f"{', '.join(converted)} would need converting: use a plain statement.")
            self._sqlite = (compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params),
                            tuple(c.key for c in columns))
        sql, names, defaults, keys = self._sqlite
        args = [params[name] if name in params else defaults[name] for name in names]
        return [dict(zip(keys, row)) for row in dbapi_conn.execute(sql, args)]


def is_postgres(conn: Any) -> bool:
    """True when `conn` (a `Database`, a `db.Conn` or a SQLAlchemy connection) talks to PostgreSQL."""
    return getattr(conn, "dialect", None) == "postgresql" or getattr(
        getattr(conn, "dialect", None), "name", None) == "postgresql"


def begin(sa_conn: Any) -> None:
    """Open a write transaction on a fresh SQLAlchemy connection."""
    if sa_conn.dialect.name == "sqlite":
        sa_conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_rows(conn: Any, stmt: Any) -> Any:
    """Run `stmt` (a SELECT) holding its rows until commit: `FOR UPDATE` on PostgreSQL; on
    SQLite the transaction's write lock already covers them. Returns the rows."""
    if is_postgres(conn):
        stmt = stmt.with_for_update()
    return conn.execute(stmt).fetchall()


def claimable(conn: Any, stmt: Any) -> Any:
    """`stmt` (a SELECT of queue rows) made to skip rows another replica has locked."""
    if is_postgres(conn):
        return stmt.with_for_update(skip_locked=True)
    return stmt


def lock_key(name: str) -> int:
    """The 64-bit advisory lock number `serialize` takes for `name`. A transaction taking
    several takes them in this order, so two transactions never wait on each other in a circle."""
    import hashlib

    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def serialize(conn: Any, key: str) -> None:
    """Hold a lock named `key` until the transaction ends (a PostgreSQL advisory lock; on
    SQLite the transaction's write lock already serialises everything)."""
    if is_postgres(conn):
        import sqlalchemy as sa

        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(key)})


def insert(conn: Any, table: Any) -> Any:
    """An INSERT on `table` that supports `.on_conflict_do_nothing/do_update` here."""
    if is_postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def notify(conn: Any, channel: str) -> None:
    """PostgreSQL NOTIFY on `channel` (delivered at commit)."""
    import sqlalchemy as sa

    conn.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": channel})


# migrations ------------------------------------------------------------------------------


def _migrations_table() -> Any:
    from .schema import schema_migrations

    return schema_migrations


def lock_migrations(conn: Any) -> None:
    """Hold the migration lock until the transaction ends (PostgreSQL advisory lock)."""
    if is_postgres(conn):
        import sqlalchemy as sa

        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def create_migrations_table(conn: Any) -> None:
    """Create `schema_migrations` if missing (under the migration lock)."""
    lock_migrations(conn)
    create_tables(conn, [_migrations_table()])


def create_tables(conn: Any, tables: Sequence[Any]) -> None:
    """Create `tables` (with their indexes) as defined now, skipping those that exist."""
    import sqlalchemy as sa

    for table in sa.schema.sort_tables(tables):  # a table before those whose keys point at it
        for statement in _ddl(conn.sa.dialect, table):
            conn.sa.exec_driver_sql(statement)


_DDL: dict[tuple[str, Any], tuple[str, ...]] = {}


def _ddl(dialect: Any, table: Any) -> tuple[str, ...]:
    """`CREATE ... IF NOT EXISTS` for `table` and its indexes, compiled once per process and
    dialect: `metadata.create_all` asks the database about each table and compiles its DDL
    again for every new database (every replica's first start, every test's store)."""
    key = (dialect.name, table)
    if key not in _DDL:
        from sqlalchemy.schema import CreateIndex, CreateTable

        _DDL[key] = (str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)).strip(),
                     *(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)).strip()
                       for index in sorted(table.indexes, key=lambda i: i.name or "")))
    return _DDL[key]


def schema_version(conn: Any, component: str) -> int:
    """The highest step applied for `component`."""
    import sqlalchemy as sa

    t = _migrations_table()
    value = conn.execute(sa.select(sa.func.max(t.c.version)).where(t.c.component == component)).scalar()
    return int(value or 0)


def stamp(conn: Any, component: str, versions: Iterable[int]) -> None:
    """Record steps as applied."""
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    rows = [{"component": component, "version": v, "applied_at": at} for v in versions]
    if rows:
        conn.executemany(_migrations_table().insert(), rows)
