"""The GitHub writes a session change calls for commit with the change, on SQLite and
PostgreSQL: a replica dying between the commit and the after-commit listeners loses no
check-run update, and a change that is rolled back queues nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent_os.db import Database
from agent_os.engine import Engine
from agent_os.sql_store import SQLSessionStore
from bot.app import Bot
from bot.settings import Settings
from bot.store import BotStore
from support import two_workflow_project

ROOT = Path(__file__).resolve().parents[2]

# A replica linking a PR (as the MCP tool or the CLI does) that is killed right after the
# change commits, before any after-commit listener runs.
DIES_AFTER_COMMIT = textwrap.dedent("""
    import os, signal, sys
    from agent_os.context import Context
    from agent_os.db import Database
    from agent_os.engine import Engine
    from agent_os.project import Project
    from agent_os.sql_store import SQLSessionStore
    from bot.app import Bot
    from bot.settings import Settings

    location, root, key, session_id = sys.argv[1:]
    engine = Engine(Project.open(root), SQLSessionStore(Database.open(location)))
    Bot.build(Settings(app_id=1, private_key=key, webhook_secret="s"), engine)
    Context.notify = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
    engine.link_pull_request(session_id, "Acme/WebApp", 7, author="dev")
    print("survived")
""")


@pytest.fixture
def project(tmp_path):
    return two_workflow_project(tmp_path)


@pytest.fixture
def key_file(tmp_path, credentials) -> Path:
    path = tmp_path / "app.pem"
    path.write_text(credentials.private_key_pem)
    return path


def wired(project, db: Database, key_file: Path) -> Engine:
    """An engine with the GitHub App's listeners on it (its worker not started)."""
    engine = Engine(project, SQLSessionStore(db))
    Bot.build(Settings(app_id=1, private_key=key_file, webhook_secret="s"), engine)
    return engine


def test_a_replica_killed_between_commit_and_listeners_still_leaves_the_check_update_queued(
        project, db_location, key_file):
    engine = Engine(project, SQLSessionStore(Database.open(db_location)))  # no App: queues nothing
    sid = engine.start("notes_v1", "notes for the crash").session.session_id
    assert BotStore(engine.db).outbox() == []

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    died = subprocess.run([sys.executable, "-c", DIES_AFTER_COMMIT, db_location, str(project.root),
                           str(key_file), sid], capture_output=True, text=True, timeout=120, env=env)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    assert "survived" not in died.stdout

    # The change committed, and the update of the PR's checks it calls for with it.
    assert engine.sessions_for_pull_request("acme/webapp", 7) == [sid]
    queued = BotStore(engine.db).outbox("pending")
    assert [(i.kind, i.idem_key) for i in queued] == [("sync_checks", "sync:acme/webapp#7")]
    engine.close()


def test_the_queued_update_is_written_on_the_changes_own_connection_before_it_commits(
        project, open_db, key_file):
    engine, other = wired(project, open_db(), key_file), BotStore(open_db())
    sid = engine.start("notes_v1", "notes seen mid-change").session.session_id
    seen: list[tuple[list[str], list[str]]] = []

    def look(session_id: str, kind: str) -> None:  # runs after the App's listener, before commit
        mine = [i.idem_key for i in BotStore(engine.db).outbox()]
        seen.append((mine, [i.idem_key for i in other.outbox()]))

    engine.subscribe(look, in_transaction=True)
    engine.link_pull_request(sid, "Acme/WebApp", 7)
    # Inside the change the item is there; another replica sees it only once committed.
    assert seen == [(["sync:acme/webapp#7"], [])]
    assert [i.idem_key for i in other.outbox("pending")] == ["sync:acme/webapp#7"]


def test_a_change_rolled_back_leaves_no_update_queued(project, open_db, key_file):
    engine = wired(project, open_db(), key_file)
    sid = engine.start("notes_v1", "notes rolled back").session.session_id
    heard: list[str] = []
    engine.subscribe(lambda s, kind: heard.append(kind))

    def refuse(session_id: str, kind: str) -> None:  # a later in-transaction listener fails
        raise RuntimeError("disk full")

    engine.subscribe(refuse, in_transaction=True)
    with pytest.raises(RuntimeError, match="disk full"):
        engine.link_pull_request(sid, "Acme/WebApp", 7)
    assert engine.sessions_for_pull_request("acme/webapp", 7) == []
    assert [e.kind for e in engine.events(sid)].count("pull_request_linked") == 0
    assert BotStore(engine.db).outbox() == [] and heard == []


def test_a_change_inside_a_transaction_that_fails_later_leaves_no_update_queued(project, open_db, key_file):
    engine = wired(project, open_db(), key_file)
    sid = engine.start("notes_v1", "notes in a failed delivery").session.session_id
    # As a webhook delivery's effects do: the change and what follows commit together.
    with pytest.raises(RuntimeError, match="handler failed"):
        with engine.db.transaction():
            engine.link_pull_request(sid, "Acme/WebApp", 7)
            raise RuntimeError("handler failed")
    assert engine.sessions_for_pull_request("acme/webapp", 7) == []
    assert BotStore(engine.db).outbox() == []


def test_an_approval_from_the_cli_on_a_team_database_queues_the_check_update(
        project, db_location, monkeypatch, capsys):
    from agent_os_cli import command
    from support import GOOD_WRITE, write_notes

    engine = Engine(project, SQLSessionStore(Database.open(db_location)))
    BotStore(engine.db)  # a team server's database: the App's tables are in it
    sid = engine.start("notes_v1", "notes approved from a terminal").session.session_id
    engine.link_pull_request(sid, "Acme/WebApp", 7, author="dev")
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.complete_phase(sid, 1, {"summary": "checked every note"})
    engine.complete_phase(sid, 2, {"summary": "ready for review"})
    assert BotStore(engine.db).outbox() == []

    monkeypatch.setenv("AGENT_OS_DB", db_location)
    code = command().main(["approve", sid, "--by", "bob", "--project", str(project.root)],
                          prog_name="agent-os", standalone_mode=False)
    assert not code, capsys.readouterr()
    assert engine.state(sid).status == "complete"
    assert [i.idem_key for i in BotStore(engine.db).outbox("pending")] == ["sync:acme/webapp#7"]
    engine.close()
