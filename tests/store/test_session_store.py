"""The session store on SQLite and PostgreSQL: the engine runs the same on both, and
replicas changing one session take turns instead of losing each other's writes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_os.db import Database
from agent_os.engine import Engine
from agent_os.project import GatePolicyConfig, Project
from agent_os.records import CommentRecord, PhaseRecord, PullRequestRecord, SessionRecord
from agent_os.sql_store import SQLSessionStore
from agent_os.views import ReviewInput
from support import GOOD_WRITE, two_workflow_project, write_notes


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return two_workflow_project(tmp_path)


@pytest.fixture
def replicas(project, open_db):
    """Engines over separate connections to one database, as separate replicas would be."""
    engines: list[Engine] = []

    def make() -> Engine:
        engine = Engine(project, SQLSessionStore(open_db()))
        engines.append(engine)
        return engine

    return make


def at_gate(engine: Engine) -> str:
    """A notes_v1 session whose review phase waits for approval."""
    sid = engine.start("notes_v1", f"notes {datetime.now(UTC).timestamp()}").session.session_id
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.complete_phase(sid, 1, {"summary": "checked every note"})
    engine.complete_phase(sid, 2, {"summary": "ready for review"})
    assert engine.state(sid).phases[2].state == "awaiting_approval"
    return sid


def test_a_session_round_trips_through_the_store(replicas):
    engine = replicas()
    sid = at_gate(engine)
    engine.link_pull_request(sid, "Acme/WebApp", 7, author="dev")
    engine.set_head(sid, "a" * 40)
    other = replicas()  # another replica reads what the first wrote
    state = other.state(sid)
    assert state.repository == "Acme/WebApp" and [p.state for p in state.phases] == [
        "complete", "complete", "awaiting_approval"]
    assert other.sessions_for_pull_request("acme/webapp", 7) == [sid]
    kinds = [e.kind for e in other.events(sid)]
    assert kinds[0] == "session_started" and "head_changed" in kinds


def test_two_approvals_arriving_at_once_on_two_replicas_open_a_two_approval_gate(replicas):
    """Regression: without the session's row lock, each replica counted only its own
    approval and neither opened the gate."""
    first, second = replicas(), replicas()
    sessions = [at_gate(first) for _ in range(4)]
    for sid in sessions:
        first.set_gate_policy(sid, GatePolicyConfig(approvals=2))
    for sid in sessions:
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def approve(engine: Engine, reviewer: str, review_id: int) -> None:
            try:
                barrier.wait()
                engine.record_review(sid, ReviewInput(reviewer=reviewer, state="approved", review_id=review_id))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=approve, args=(first, "bob", 1)),
                   threading.Thread(target=approve, args=(second, "carol", 2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        state = first.state(sid)
        assert state.phases[2].state == "complete", f"gate left closed: {state.phases[2]}"
        assert state.status == "complete"


def test_the_same_review_delivered_to_two_replicas_is_recorded_once(replicas):
    first, second = replicas(), replicas()
    sid = at_gate(first)
    first.set_gate_policy(sid, GatePolicyConfig(approvals=2))
    barrier = threading.Barrier(2)

    def deliver(engine: Engine) -> None:
        barrier.wait()
        engine.record_review(sid, ReviewInput(reviewer="bob", state="approved", review_id=99))

    threads = [threading.Thread(target=deliver, args=(e,)) for e in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(first.store.reviews(sid)) == 1
    assert first.state(sid).phases[2].state == "awaiting_approval"  # one approval of two


def test_concurrent_completions_of_one_phase_have_one_winner(replicas):
    first, second = replicas(), replicas()
    sid = first.start("notes_v1", "race").session.session_id
    write_notes(first, sid)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def complete(engine: Engine) -> None:
        barrier.wait()
        try:
            results.append(engine.complete_phase(sid, 0, GOOD_WRITE).phase == 0)
        except Exception as exc:  # noqa: BLE001 - the loser is refused, saying why
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=complete, args=(e,)) for e in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count(True) == 1
    assert [p.state for p in first.state(sid).phases][:2] == ["complete", "active"]
    assert sum(1 for e in first.events(sid) if e.kind == "phase_completed") == 1


def test_upserts_keep_what_an_update_leaves_out(db):
    store = SQLSessionStore(db)
    now = datetime.now(UTC)
    store.insert_session(SessionRecord("ses_1", "notes_v1", 1, "t", "t", "specs/t", "active", "dev", None, None,
                                       0, now, now, None),
                         [PhaseRecord("ses_1", 0, "write", "Write", "active", {"phase": {}}, None, now, None)])
    assert store.upsert_pull_request(PullRequestRecord("ses_1", "o/r", 1, "abc", "dev", "mcp", now))
    assert not store.upsert_pull_request(PullRequestRecord("ses_1", "o/r", 1, None, None, "mcp", now))
    (pr,) = store.pull_requests("ses_1")
    assert (pr.head_sha, pr.author) == ("abc", "dev")
    store.upsert_comment("ses_1", CommentRecord(2**40, "T1", "a.md", 3, "first", "bob", "u", "open", None, now))
    store.upsert_comment("ses_1", CommentRecord(2**40, None, "a.md", None, "edited", "bob", "u", "open", None, now))
    (c,) = store.comments("ses_1")
    assert (c.body, c.thread_id, c.line, c.comment_id) == ("edited", "T1", 3, 2**40)
    store.set_thread("ses_1", "T2", True, [2**40])
    assert store.threads("ses_1") == {"T2": True} and store.comments("ses_1")[0].thread_id == "T2"
    assert store.add_submission("ses_1", 0, True, {"x": 1}, [], ["notes.md"]) >= 1
    assert store.submissions("ses_1")[0].accepted is True
    assert store.bump("ses_1", 0, status="complete") and not store.bump("ses_1", 0, status="active")
    assert store.session("ses_1").status == "complete" and store.session("ses_1").rev == 1


def test_a_fresh_database_and_a_migrated_one_have_the_same_tables(tmp_path):
    from agent_os.schema import CORE_MIGRATIONS

    fresh = Database.open(tmp_path / "fresh.db")
    SQLSessionStore(fresh)
    old = Database.open(tmp_path / "old.db")
    old.migrate("core", CORE_MIGRATIONS)  # the steps an older release ran, one by one
    SQLSessionStore(old)

    def columns(db: Database) -> dict[str, list[str]]:
        tables = [r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'"
                                               " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted(r["name"] for r in db.query(f"PRAGMA table_info({t})")) for t in tables}

    assert columns(fresh) == columns(old)
