"""The store interface: the engine is built on any `SessionStore`, holds no SQL, and a
compare-and-set that fails is refused with nothing written."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from agent_os.db import Database
from agent_os.engine import Engine
from agent_os.errors import Conflict, Refused
from agent_os.project import Project
from agent_os.schema import CORE_MIGRATIONS as MIGRATIONS
from agent_os.sql_store import SQLSessionStore

import agent_os

from support import GOOD_WRITE, write_notes

AGENT_OS = Path(agent_os.__file__).parent
# Modules whose job is SQL: the session store, the database wrapper and its dialect
# differences, and the stores of components that keep their own tables (tokens, the
# standards index).
STORAGE = {"db.py", "dialects.py", "sqlite.py", "sql_store.py", "tokens.py", "repo_case.py"}


class LosingStore(SQLSessionStore):
    """A store whose compare-and-set loses, as it would to a writer that skipped the row lock."""

    lose = False

    def bump(self, session_id: str, expected_rev: int, **changes) -> bool:
        return False if self.lose else super().bump(session_id, expected_rev, **changes)


def test_the_engine_runs_on_the_store_it_is_given(project: Project):
    store = SQLSessionStore(Database.open(":memory:"))
    engine = Engine(project, store)
    sid = engine.start("notes_v1", "notes").session.session_id
    assert [s.id for s in store.sessions()] == [sid]
    assert not (project.root / ".agent-os" / "agent_os.db").exists()  # nothing went to the default file
    engine.close()


def test_a_lost_compare_and_set_is_refused_and_writes_nothing(project: Project):
    store = LosingStore(Database.open(project.db_path))
    engine = Engine(project, store)
    sid = engine.start("notes_v1", "notes").session.session_id
    write_notes(engine, sid)
    before = (engine.state(sid).model_dump(), [e.kind for e in engine.events(sid)])
    store.lose = True
    with pytest.raises(Conflict):
        engine.set_head(sid, "a" * 40)
    with pytest.raises(Conflict):
        engine.link_pull_request(sid, "acme/webapp", 3, author="dev")
    with pytest.raises(Conflict):
        engine.complete_phase(sid, 0, GOOD_WRITE)
    assert (engine.state(sid).model_dump(), [e.kind for e in engine.events(sid)]) == before
    assert engine.sessions_for_pull_request("acme/webapp", 3) == []
    store.lose = False
    engine.set_head(sid, "a" * 40)
    assert engine.events(sid)[-1].kind == "head_changed"
    engine.close()


def test_a_session_belongs_to_the_repository_of_its_first_pull_request(project: Project):
    engine = Engine.open(project)
    sid = engine.start("notes_v1", "notes").session.session_id
    assert engine.state(sid).repository is None
    engine.link_pull_request(sid, "acme/webapp", 3)
    with pytest.raises(Refused):  # never mixed with another repository's
        engine.link_pull_request(sid, "acme/other", 4)
    engine.close()
    reopened = Engine.open(project)
    assert reopened.state(sid).repository == "acme/webapp"
    assert reopened.list_sessions()[0].repository == "acme/webapp"
    reopened.close()


def test_a_database_of_the_previous_release_upgrades_in_place(project: Project):
    db = Database.open(project.db_path)
    db.migrate("core", MIGRATIONS[:2])
    db.execute("INSERT INTO sessions (id, workflow, workflow_version, target, target_key, spec_dir, status,"
               " rev, created_at, updated_at) VALUES ('ses_0123456789ab', 'notes_v1', 1, 'notes', 'notes',"
               " '.agent-os/specs/x', 'active', 0, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")
    db.close()
    store = SQLSessionStore(Database.open(project.db_path))
    rec = store.session("ses_0123456789ab")
    assert rec is not None and rec.repository is None and rec.target == "notes"
    store.close()


def test_no_sql_outside_the_storage_modules():
    offenders = []
    for path in AGENT_OS.rglob("*.py"):
        if path.name in STORAGE or "standards" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "query", "query_one"):
                offenders.append(f"{path.relative_to(AGENT_OS)}:{node.lineno} .{node.attr}")
    assert offenders == []
