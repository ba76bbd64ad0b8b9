"""Repository names ignore case, as on GitHub, on SQLite and PostgreSQL alike: one row per
repository however it is spelled, found by any spelling, and `agent-os db upgrade` merges
the rows an older release wrote twice."""

from __future__ import annotations

import json
import sqlalchemy as sa
from typer.testing import CliRunner

from agent_os.db import Database
from agent_os.engine import Engine
from agent_os.schema import CORE_MIGRATIONS, pull_requests
from agent_os.sql_store import SQLSessionStore
from agent_os_cli import app
from bot.notes import PullRequestNotes
from bot.store import BotStore, CheckRunRecord
from bot.tables import MIGRATIONS as BOT_MIGRATIONS
from bot.tables import check_runs, installations, pr_notes, status_comments
from support import two_workflow_project


def test_a_pr_linked_in_two_spellings_is_one_link(tmp_path, db):
    engine = Engine(two_workflow_project(tmp_path), SQLSessionStore(db))
    sid = engine.start("notes_v1", "notes on case").session.session_id
    engine.link_pull_request(sid, "Acme/WebApp", 7, author="dev")
    engine.link_pull_request(sid, "acme/webapp", 7, head_sha="b" * 40)
    assert engine.sessions_for_pull_request("ACME/WEBAPP", 7) == [sid]
    (link,) = engine.store.pull_requests(sid)
    assert (link.repository, link.head_sha, link.author) == ("Acme/WebApp", "b" * 40, "dev")
    assert [e.kind for e in engine.events(sid)].count("pull_request_linked") == 1


def test_the_apps_rows_are_one_per_repository_however_it_is_spelled(db):
    store, notes = BotStore(db), PullRequestNotes(db)
    store.save_check_run(CheckRunRecord("Org/Repo", "abc", "Agent OS", 1, ["s1"], "completed", "h1"))
    store.save_check_run(CheckRunRecord("org/repo", "abc", "Agent OS", 2, ["s1"], "completed", "h2"))
    store.remember_installation("Org/Repo", 7)
    store.remember_installation("ORG/REPO", 8)
    store.save_status_comment("Org/Repo", 3, 98)
    store.save_status_comment("org/REPO", 3, 99)
    notes.set("Org/Repo", 3, ["first"])
    notes.set("org/repo", 3, ["second"])
    assert store.check_run("ORG/repo", "abc", "Agent OS").check_run_id == 2
    assert (store.installation_for("org/repo"), store.status_comment("ORG/REPO", 3)) == (8, 99)
    assert notes.get("ORG/Repo", 3) == ["second"]
    for table in (check_runs, installations, status_comments, pr_notes):
        assert db.query(sa.select(table.c.repository)) == [{"repository": "Org/Repo"}], table.name


def _as_before_the_case_rule(db: Database) -> None:
    """Turn `db` back into a database of the release before: no case-insensitive indexes."""
    from agent_os.schema import schema_migrations as m

    with db.transaction() as conn:
        for index in ("pull_requests_one_link", "bot_check_runs_repo", "bot_installations_repo",
                      "bot_status_comments_repo", "bot_pr_notes_repo"):
            conn.execute(f"DROP INDEX {index}")
        conn.execute(m.delete().where(sa.or_(sa.and_(m.c.component == "core", m.c.version == len(CORE_MIGRATIONS)),
                                             sa.and_(m.c.component == "bot", m.c.version == len(BOT_MIGRATIONS)))))


def test_upgrade_merges_rows_an_older_release_wrote_in_two_spellings(tmp_path, db_location, monkeypatch):
    project = two_workflow_project(tmp_path)
    db = Database.open(db_location)
    engine = Engine(project, SQLSessionStore(db))
    BotStore(db)
    sid = engine.start("notes_v1", "notes from the old release").session.session_id
    _as_before_the_case_rule(db)
    with db.transaction() as conn:
        conn.executemany(pull_requests.insert(), [  # as the older release's upsert wrote them
            {"session_id": sid, "repository": "Acme/WebApp", "number": 7, "head_sha": None, "author": "dev",
             "source": "tool", "linked_at": "2026-01-01T00:00:00.000000+00:00"},
            {"session_id": sid, "repository": "acme/webapp", "number": 7, "head_sha": "c" * 40, "author": None,
             "source": "webhook", "linked_at": "2026-01-01T00:00:05.000000+00:00"}])
        if db.is_postgres:  # SQLite's NOCASE keys never let the App's tables hold two spellings
            conn.executemany(check_runs.insert(), [
                {"repository": r, "head_sha": "abc", "name": "Agent OS", "check_run_id": i, "status": "completed",
                 "updated_at": i} for i, r in ((1, "Org/Repo"), (2, "org/repo"))])
            conn.executemany(installations.insert(), [{"repository": "Org/Repo", "installation_id": 7},
                                                      {"repository": "org/repo", "installation_id": 8}])
            conn.executemany(status_comments.insert(), [{"repository": "Org/Repo", "number": 3, "comment_id": 99},
                                                        {"repository": "org/repo", "number": 3, "comment_id": 98}])
            conn.executemany(pr_notes.insert(), [{"repository": "Org/Repo", "number": 3, "notes": '["a", "b"]'},
                                                 {"repository": "org/repo", "number": 3, "notes": '["b", "c"]'}])
    assert len(db.query(sa.select(pull_requests))) == 2
    db.close()
    engine.store.close()

    monkeypatch.setenv("AGENT_OS_DB", db_location)
    upgraded = CliRunner().invoke(app, ["db", "upgrade", "--project", str(tmp_path), "--json"])
    assert upgraded.exit_code == 0, upgraded.output
    report = json.loads(upgraded.output)
    assert report["after"]["core"] == len(CORE_MIGRATIONS) and report["after"]["bot"] == len(BOT_MIGRATIONS)

    db = Database.open(db_location)
    engine = Engine(project, SQLSessionStore(db))
    (link,) = engine.store.pull_requests(sid)  # the first link kept, with the head learnt later
    assert (link.repository, link.source, link.head_sha, link.author) == ("Acme/WebApp", "tool", "c" * 40, "dev")
    engine.link_pull_request(sid, "ACME/webapp", 7)  # and the index now keeps it one
    assert len(engine.store.pull_requests(sid)) == 1
    if db.is_postgres:
        store = BotStore(db)
        assert store.check_run("org/repo", "abc", "Agent OS").check_run_id == 2  # the one written last
        assert store.installation_for("ORG/REPO") == 8 and store.status_comment("org/repo", 3) == 99
        assert PullRequestNotes(db).get("org/repo", 3) == ["a", "b", "c"]
        for table in (check_runs, installations, status_comments, pr_notes):
            assert len(db.query(sa.select(table))) == 1, table.name
    db.close()
