"""House rules that keep the core a core: no web, MCP or GitHub imports; migrations recorded."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from agent_os.db import Database
from agent_os.errors import StoreError


ROOT = Path(__file__).resolve().parents[2]

# What each package may never import, lazily or not. The core knows nothing of the doors or
# their libraries; the doors never reach for the wiring above them or for the stand-in; the
# stand-in imitates GitHub and knows nothing of the product it answers.
FORBIDDEN = {
    "agent_os": {"bot", "mcp_server", "agent_os_cli", "standin", "fastapi", "starlette",
                 "githubkit", "mcp", "uvicorn", "httpx"},
    "bot": {"mcp_server", "agent_os_cli", "standin", "mcp"},
    "mcp_server": {"bot", "agent_os_cli", "standin", "githubkit", "fastapi"},
    "standin": {"agent_os", "bot", "mcp_server", "agent_os_cli"},
}


def imported_roots(path: Path) -> set[tuple[int, str]]:
    """Top-level module names imported anywhere in a file, with the line of each import."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_statement_crosses_a_boundary(package):
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in sorted(imported_roots(path))
        if name in FORBIDDEN[package]
    ]
    assert crossings == []


def test_the_boundary_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bot.checks import OVERALL\n    import mcp.types\n")
    assert imported_roots(module) == {(2, "bot"), (3, "mcp")}


def test_importing_the_core_loads_no_door_library():
    code = (
        "import sys, agent_os.engine, agent_os.report, agent_os.views;"
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
