"""House rules that keep the core a core: no web, MCP or GitHub imports; migrations recorded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent_os.db import Database
from agent_os.errors import StoreError


def test_core_imports_no_door_library():
    code = (
        "import sys, agent_os.engine, agent_os.cli, agent_os.report, agent_os.views;"
        "bad = [m for m in ('fastapi','starlette','httpx','mcp','githubkit','uvicorn','torch') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_migrations_are_recorded_and_not_rerun(tmp_path):
    db = Database.open(tmp_path / "s.db")
    steps = ["CREATE TABLE t (x INTEGER)", "ALTER TABLE t ADD COLUMN y TEXT"]
    assert db.migrate("demo", steps) == 2
    assert db.migrate("demo", steps) == 2
    assert db.version("demo") == 2
    db.close()


def test_a_newer_schema_is_refused(tmp_path):
    db = Database.open(tmp_path / "s.db")
    db.migrate("demo", ["CREATE TABLE t (x INTEGER)", "CREATE TABLE u (x INTEGER)"])
    with pytest.raises(StoreError, match="newer"):
        db.migrate("demo", ["CREATE TABLE t (x INTEGER)"])
    db.close()


def test_a_failed_migration_leaves_nothing_behind(tmp_path):
    db = Database.open(tmp_path / "s.db")
    with pytest.raises(Exception):
        db.migrate("demo", ["CREATE TABLE t (x INTEGER); CREATE TABLE t (x INTEGER)"])
    assert db.version("demo") == 0
    assert db.query("SELECT name FROM sqlite_master WHERE name = 't'") == []
    db.close()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "s.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="Cannot open"):
        Database.open(bad)
