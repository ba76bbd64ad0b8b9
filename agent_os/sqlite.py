"""One way to open SQLite: with extension loading, WAL, a busy timeout and foreign keys.

The stdlib `sqlite3` of some Python builds (pyenv's among them) is compiled without
extension loading, which sqlite-vec needs; `pysqlite3` (from `pysqlite3-binary`) ships an
SQLite that has it, and FTS5.
"""

from __future__ import annotations

import sqlite3 as _stdlib_sqlite3
import time
from pathlib import Path
from types import ModuleType


# SQLite 3.51.0 and 3.51.1 can deadlock inside the library when one process opens and closes
# connections to one WAL database from several threads at once (a lock-order inversion in
# the unix VFS, fixed in 3.51.2). A driver that bundles them is taken only if nothing else is.
_DEADLOCKS = ((3, 51, 0), (3, 51, 2))


def _usable(driver: ModuleType) -> bool:
    low, high = _DEADLOCKS
    return not low <= driver.sqlite_version_info < high


def _driver() -> ModuleType:
    probe = _stdlib_sqlite3.connect(":memory:")
    try:
        loads_extensions = hasattr(probe, "enable_load_extension")
    finally:
        probe.close()
    if loads_extensions and _usable(_stdlib_sqlite3):
        return _stdlib_sqlite3
    try:
        import pysqlite3.dbapi2 as driver  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - depends on the platform
        return _stdlib_sqlite3
    if not _usable(driver) and loads_extensions:  # pragma: no cover - depends on the platform
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
        _use_wal(conn, busy_timeout_ms / 1000)
        conn.execute("PRAGMA synchronous = NORMAL")
    if vec:
        import sqlite_vec

        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
    return conn


def _use_wal(conn: Connection, timeout: float) -> None:
    """Switch to WAL, waiting up to `timeout` seconds for the file's lock.

    Switching takes the file's exclusive lock, and SQLite answers "database is locked" at
    once, without the busy timeout, while another connection holds it: replicas or threads
    opening one new database together. The mode is kept in the file, so a retry usually finds
    it already set by the other connection.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
