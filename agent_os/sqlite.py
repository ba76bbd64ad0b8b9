"""One way to open SQLite: with extension loading, WAL, a busy timeout and foreign keys.

The stdlib `sqlite3` of some Python builds (pyenv's among them) is compiled without
extension loading, which sqlite-vec needs; `pysqlite3` (from `pysqlite3-binary`) ships an
SQLite that has it, and FTS5.
"""

from __future__ import annotations

import sqlite3 as _stdlib_sqlite3
from pathlib import Path
from types import ModuleType


def _driver() -> ModuleType:
    probe = _stdlib_sqlite3.connect(":memory:")
    try:
        if hasattr(probe, "enable_load_extension"):
            return _stdlib_sqlite3
    finally:
        probe.close()
    try:
        import pysqlite3.dbapi2 as driver  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - depends on the platform
        return _stdlib_sqlite3
    return driver


sqlite3: ModuleType = _driver()
"""The DB-API module in use; catch `sqlite3.Error` from here, not from the stdlib."""

Connection = sqlite3.Connection
Error = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
OperationalError = sqlite3.OperationalError
DatabaseError = sqlite3.DatabaseError


def connect(path: str | Path, *, vec: bool = False, busy_timeout_ms: int = 10_000):
    """Open `path` for use from any thread (callers serialise access themselves).

    WAL lets the bot and the MCP server read while the other writes; the busy timeout
    makes a second writer wait instead of failing. With `vec=True` the sqlite-vec
    extension is loaded.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    if vec:
        import sqlite_vec

        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
    return conn
