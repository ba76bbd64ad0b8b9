"""A real PostgreSQL for tests: Debian's server binaries, a temporary cluster, a loopback port.

`initdb` refuses to run as root, so as root the cluster belongs to a system user (Debian's
`postgres`, else one created here) and every server command runs through `runuser`. The
cluster trades durability for speed (fsync off): it lives for one test session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_USER = "agentos-pg"
SUPERUSER = "postgres"


class Unavailable(RuntimeError):
    """PostgreSQL cannot be run on this machine; the message says why and what to install."""


def find_bin_dir() -> Path:
    """The folder holding `initdb` and `pg_ctl`: PATH first, then Debian's versioned folders."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise Unavailable("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
                      "`apt-get install postgresql` (Debian) provides them.")


def _version_key(folder: str) -> int:
    try:
        return int(Path(folder).parent.name)
    except ValueError:
        return 0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """None when we are not root (the server runs as us); else a system user to run it as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", SYSTEM_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                           SYSTEM_USER], capture_output=True, text=True)
    if made.returncode != 0 and not _exists(SYSTEM_USER):  # not made by a parallel test worker either
        raise Unavailable(f"cannot create the system user {SYSTEM_USER} to run PostgreSQL as: "
                          f"{made.stderr.strip()}")
    return SYSTEM_USER


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


@dataclass
class PostgresServer:
    """One running cluster; `url(db)` names a database on it for SQLAlchemy."""

    bin_dir: Path
    root: Path
    port: int
    user: str | None
    _made: int = field(default=0)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) for `database`."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise Unavailable(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done

    def start(self) -> None:
        """initdb (trust auth, loopback only) and start the server; waits until it accepts."""
        self._run("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        for attempt in range(3):
            try:
                return self._launch()
            except Unavailable:
                if attempt == 2:
                    raise
                self.port = free_port()  # someone took the port between probe and start

    def _launch(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                   " -c max_connections=200 -c shared_buffers=64MB")
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "start")

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._made += 1
        name = f"{prefix}_{os.getpid()}_{self._made}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once and delete the cluster."""
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """The server's log so far (for a failing test's message)."""
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""


def start_server() -> PostgresServer:
    """Start a fresh cluster in a temporary folder; raises `Unavailable` saying why it could not."""
    bin_dir = find_bin_dir()
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="agent-os-pg-"))
    if user:
        info = pwd.getpwnam(user)
        os.chown(root, info.pw_uid, info.pw_gid)
    server = PostgresServer(bin_dir, root, free_port(), user)
    started = time.monotonic()
    try:
        server.start()
    except BaseException:
        log = server.log()
        server.stop()
        if log:
            raise Unavailable(f"PostgreSQL did not start:\n{log[-2000:]}") from None
        raise
    server.started_in = time.monotonic() - started  # type: ignore[attr-defined]
    return server
