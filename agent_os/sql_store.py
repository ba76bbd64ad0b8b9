"""`SessionStore` over SQLAlchemy Core: one implementation for SQLite and PostgreSQL.

SQLite is the embedded default (solo use, the demo, one server); PostgreSQL serves a team
server with several replicas. `transaction(session_id)` locks the session's row before
anything else (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite `BEGIN IMMEDIATE` has taken
the whole file's write lock), so two replicas changing one session take turns and the
second sees what the first wrote. What differs between the two is in `dialects.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select

from . import dialects
from .db import Database
from .records import (
    CommentRecord,
    EventRecord,
    Failure,
    PhaseRecord,
    PullRequestRecord,
    Review,
    SessionRecord,
    SubmissionRecord,
    now,
)
from .repo_case import repo_key, same_repo
from .schema import (
    CORE_MIGRATIONS,
    CORE_TABLES,
    events,
    phases,
    pull_requests,
    review_comments,
    review_threads,
    reviews,
    sessions,
    submissions,
)
from .store import SESSION_FIELDS

# The reads every session view makes, built once and run with the session's id bound:
# building a statement and its cache key again on each call was half of a read's cost
# (a session's row: 89 -> 43 us); on SQLite they run on the driver itself (`Prepared`).
_SESSION = dialects.Prepared(sessions.select().where(sessions.c.id == bindparam("sid")))
_PHASES = dialects.Prepared(phases.select().where(phases.c.session_id == bindparam("sid"))
                            .order_by(phases.c.number))
_SUBMISSIONS = dialects.Prepared(submissions.select().where(submissions.c.session_id == bindparam("sid"))
                                 .order_by(submissions.c.id))
_EVENTS = dialects.Prepared(events.select().where(events.c.session_id == bindparam("sid"),
                                                  events.c.id > bindparam("after")).order_by(events.c.id))
_REVIEWS = dialects.Prepared(reviews.select().where(reviews.c.session_id == bindparam("sid"))
                             .order_by(reviews.c.id))
_PULL_REQUESTS = dialects.Prepared(pull_requests.select().where(pull_requests.c.session_id == bindparam("sid"))
                                   .order_by(pull_requests.c.linked_at))
_COMMENTS = dialects.Prepared(review_comments.select().where(review_comments.c.session_id == bindparam("sid"))
                              .order_by(review_comments.c.at, review_comments.c.comment_id))
_THREADS = dialects.Prepared(select(review_threads.c.thread_id, review_threads.c.resolved).where(
    review_threads.c.session_id == bindparam("sid")))


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SQLSessionStore:
    """`SessionStore` in a `Database` (SQLite file or PostgreSQL).

    `db` is the `Database` it lives in; other components (the bot's queues, the MCP
    tokens) keep their own tables in the same database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("core", CORE_MIGRATIONS, CORE_TABLES)

    @contextmanager
    def transaction(self, session_id: str | None = None) -> Iterator[None]:
        """One write transaction (re-entrant); with `session_id`, that session's row is
        locked first, so whatever the caller reads next is what it may change."""
        with self.db.transaction() as conn:
            if session_id is not None:
                _lock_session(conn, session_id)
            yield None

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    # sessions ---------------------------------------------------------------------------

    def insert_session(self, rec: SessionRecord, phases_: list[PhaseRecord]) -> None:
        """Create a session with its phases."""
        with self.db.transaction() as conn:
            conn.execute(sessions.insert().values(
                id=rec.id, workflow=rec.workflow, workflow_version=rec.workflow_version, target=rec.target,
                target_key=rec.target_key, spec_dir=rec.spec_dir, status=rec.status, author=rec.author,
                head_sha=rec.head_sha, gate_policy=_json_or_none(rec.gate_policy), rev=rec.rev,
                created_at=_ts(rec.created_at), updated_at=_ts(rec.updated_at), repository=rec.repository))
            self._insert_phases(conn, phases_)

    def _insert_phases(self, conn: Any, phases_: list[PhaseRecord]) -> None:
        conn.executemany(phases.insert(), [
            {"session_id": p.session_id, "number": p.number, "phase_id": p.phase_id, "title": p.title,
             "state": p.state, "definition": json.dumps(p.definition), "tasks_section": p.tasks_section,
             "started_at": _ts(p.started_at) if p.started_at else None,
             "completed_at": _ts(p.completed_at) if p.completed_at else None}
            for p in phases_])

    def session(self, session_id: str) -> SessionRecord | None:
        """The session, or None."""
        row = self.db.query_one(_SESSION, {"sid": session_id})
        return _session(row) if row else None

    def open_session_for(self, workflow: str, target_key: str) -> SessionRecord | None:
        """The active session of `workflow` on `target_key`, if any."""
        s = sessions.c
        row = self.db.query_one(sessions.select().where(s.workflow == workflow, s.target_key == target_key,
                                                        s.status == "active"))
        return _session(row) if row else None

    def sessions(self, status: str | None = None) -> list[SessionRecord]:
        """Sessions, most recently updated first."""
        stmt = sessions.select().order_by(sessions.c.updated_at.desc())
        if status:
            stmt = stmt.where(sessions.c.status == status)
        return [_session(r) for r in self.db.query(stmt)]

    def sessions_for_spec_dir(self, spec_dir: str) -> list[SessionRecord]:
        """Sessions working in `spec_dir`, most recently updated first."""
        rows = self.db.query(sessions.select().where(sessions.c.spec_dir == spec_dir)
                             .order_by(sessions.c.updated_at.desc()))
        return [_session(r) for r in rows]

    def bump(self, session_id: str, expected_rev: int, **changes: Any) -> bool:
        """Compare-and-set: advance the session's revision if it is still `expected_rev`.

        This is what makes two concurrent completions of one phase resolve to exactly one
        winner: the loser's revision is stale and nothing it computed is written.
        """
        values: dict[str, Any] = {"rev": sessions.c.rev + 1, "updated_at": _ts(now())}
        for key, value in changes.items():
            if key not in SESSION_FIELDS:
                raise ValueError(f"bump() cannot change the session's {key!r}")
            values[key] = _json_or_none(value) if key == "gate_policy" else value
        done = self.db.execute(sessions.update().where(sessions.c.id == session_id,
                                                       sessions.c.rev == expected_rev).values(**values))
        return done.rowcount == 1

    # phases -----------------------------------------------------------------------------

    def phases(self, session_id: str) -> list[PhaseRecord]:
        """The session's phases in order."""
        rows = self.db.query(_PHASES, {"sid": session_id})
        return [
            PhaseRecord(r["session_id"], r["number"], r["phase_id"], r["title"], r["state"],
                        json.loads(r["definition"]), r["tasks_section"], _dt(r["started_at"]),
                        _dt(r["completed_at"]), stored=r["definition"])
            for r in rows
        ]

    def set_phase_state(self, session_id: str, number: int, state: str, at: datetime) -> None:
        """Move one phase to `state`, stamping when it started or completed."""
        values: dict[str, Any] = {"state": state}
        column = {"active": "started_at", "complete": "completed_at"}.get(state)
        if column:
            values[column] = _ts(at)
        self.db.execute(phases.update().where(phases.c.session_id == session_id, phases.c.number == number)
                        .values(**values))

    def replace_phases_from(self, session_id: str, first: int, phases_: list[PhaseRecord]) -> None:
        """Replace the phases numbered `first` and above (execution phases built from tasks.md)."""
        with self.db.transaction() as conn:
            conn.execute(phases.delete().where(phases.c.session_id == session_id, phases.c.number >= first))
            self._insert_phases(conn, phases_)

    # submissions and events -------------------------------------------------------------

    def add_submission(self, session_id: str, phase: int, accepted: bool, evidence: Any,
                       failures: list[Failure], verified: list[str]) -> int:
        """Record an evidence submission; returns its id."""
        row = self.db.execute(submissions.insert().values(
            session_id=session_id, phase=phase, accepted=int(accepted), evidence=json.dumps(evidence, default=str),
            failures=json.dumps([f.to_dict() for f in failures]), verified=json.dumps(verified), at=_ts(now()),
        ).returning(submissions.c.id)).fetchone()
        return int(row["id"])

    def submissions(self, session_id: str) -> list[SubmissionRecord]:
        """Every submission of the session, oldest first."""
        rows = self.db.query(_SUBMISSIONS, {"sid": session_id})
        return [
            SubmissionRecord(r["id"], r["session_id"], r["phase"], bool(r["accepted"]), json.loads(r["evidence"]),
                             [Failure(**f) for f in json.loads(r["failures"])], json.loads(r["verified"]),
                             _dt(r["at"]))
            for r in rows
        ]

    def add_event(self, session_id: str, kind: str, phase: int | None = None, **data: Any) -> None:
        """Append to the session's timeline."""
        self.db.execute(events.insert().values(session_id=session_id, kind=kind, phase=phase,
                                               data=json.dumps(data, default=str), at=_ts(now())))

    def events(self, session_id: str, after_id: int = 0) -> list[EventRecord]:
        """The session's timeline after event `after_id`."""
        rows = self.db.query(_EVENTS, {"sid": session_id, "after": after_id})
        return [EventRecord(r["id"], r["session_id"], r["kind"], r["phase"], json.loads(r["data"]), _dt(r["at"]))
                for r in rows]

    # reviews ----------------------------------------------------------------------------

    def add_review(self, session_id: str, review: Review, review_id: int | None) -> bool:
        """Record a review; a GitHub review already recorded in the same state is not added twice.

        Check and insert run in one transaction under the session's lock, so the same review
        delivered to two replicas at once is recorded once."""
        r = reviews.c
        with self.db.transaction() as conn:
            _lock_session(conn, session_id)
            if review_id is not None and conn.execute(select(r.id).where(
                    r.session_id == session_id, r.review_id == review_id, r.state == review.state)).fetchone():
                return False
            conn.execute(reviews.insert().values(
                session_id=session_id, reviewer=review.reviewer, state=review.state, review_id=review_id,
                commit_id=review.commit_id, is_bot=int(review.is_bot), source=review.source, at=_ts(review.at)))
            return True

    def reviews(self, session_id: str) -> list[Review]:
        """Reviews in the order received."""
        rows = self.db.query(_REVIEWS, {"sid": session_id})
        return [Review(r["reviewer"], r["state"], _dt(r["at"]), r["source"], r["commit_id"], bool(r["is_bot"]))
                for r in rows]

    # pull requests and review comments -------------------------------------------------

    def upsert_pull_request(self, rec: PullRequestRecord) -> bool:
        """Link a PR (or refresh its head/author); True if the link is new."""
        t = pull_requests
        with self.db.transaction() as conn:
            stmt = dialects.insert(conn, t).values(
                session_id=rec.session_id, repository=rec.repository, number=rec.number, head_sha=rec.head_sha,
                author=rec.author, source=rec.source, linked_at=_ts(rec.linked_at))
            existed = conn.execute(select(t.c.number).where(
                t.c.session_id == rec.session_id, same_repo(t.c.repository, rec.repository), t.c.number == rec.number)
            ).fetchone()
            conn.execute(stmt.on_conflict_do_update(
                index_elements=repo_key(t, "session_id", "number"),
                set_={"head_sha": func.coalesce(stmt.excluded.head_sha, t.c.head_sha),
                      "author": func.coalesce(stmt.excluded.author, t.c.author)}))
            return existed is None

    def pull_requests(self, session_id: str) -> list[PullRequestRecord]:
        """PRs linked to the session, in the order linked."""
        rows = self.db.query(_PULL_REQUESTS, {"sid": session_id})
        return [PullRequestRecord(r["session_id"], r["repository"], r["number"], r["head_sha"], r["author"],
                                  r["source"], _dt(r["linked_at"])) for r in rows]

    def sessions_for_pull_request(self, repository: str, number: int) -> list[str]:
        """Ids of the sessions linked to a PR (the repository's case does not matter)."""
        t = pull_requests
        rows = self.db.query(select(t.c.session_id).where(same_repo(t.c.repository, repository),
                                                          t.c.number == number).order_by(t.c.linked_at))
        return [r["session_id"] for r in rows]

    def upsert_comment(self, session_id: str, rec: CommentRecord) -> None:
        """Record a review comment, or its edit or deletion."""
        t = review_comments
        with self.db.transaction() as conn:
            stmt = dialects.insert(conn, t).values(
                session_id=session_id, comment_id=rec.comment_id, thread_id=rec.thread_id, path=rec.path,
                line=rec.line, body=rec.body, author=rec.author, url=rec.url, state=rec.state,
                in_reply_to=rec.in_reply_to, at=_ts(rec.at))
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["session_id", "comment_id"],
                set_={"body": stmt.excluded.body, "state": stmt.excluded.state,
                      "thread_id": func.coalesce(stmt.excluded.thread_id, t.c.thread_id),
                      "line": func.coalesce(stmt.excluded.line, t.c.line)}))

    def comments(self, session_id: str) -> list[CommentRecord]:
        """Review comments on the session's files, oldest first."""
        rows = self.db.query(_COMMENTS, {"sid": session_id})
        return [CommentRecord(r["comment_id"], r["thread_id"], r["path"], r["line"], r["body"], r["author"],
                              r["url"], r["state"], r["in_reply_to"], _dt(r["at"])) for r in rows]

    def set_thread(self, session_id: str, thread_id: str, resolved: bool, comment_ids: list[int]) -> None:
        """Mark a review thread resolved or not, and file the recorded comments among `comment_ids` under it."""
        t = review_threads
        with self.db.transaction() as conn:
            stmt = dialects.insert(conn, t).values(session_id=session_id, thread_id=thread_id,
                                                   resolved=int(resolved), updated_at=_ts(now()))
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["session_id", "thread_id"],
                set_={"resolved": stmt.excluded.resolved, "updated_at": stmt.excluded.updated_at}))
            if comment_ids:
                c = review_comments.c
                conn.execute(review_comments.update().where(c.session_id == session_id, c.comment_id.in_(comment_ids))
                             .values(thread_id=thread_id))

    def threads(self, session_id: str) -> dict[str, bool]:
        """Thread id -> resolved, for threads whose state GitHub has told us."""
        rows = self.db.query(_THREADS, {"sid": session_id})
        return {r["thread_id"]: bool(r["resolved"]) for r in rows}


def _lock_session(conn: Any, session_id: str) -> None:
    dialects.lock_rows(conn, select(sessions.c.id).where(sessions.c.id == session_id))


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _session(row: Any) -> SessionRecord:
    return SessionRecord(
        id=row["id"], workflow=row["workflow"], workflow_version=row["workflow_version"], target=row["target"],
        target_key=row["target_key"], spec_dir=row["spec_dir"], status=row["status"], author=row["author"],
        head_sha=row["head_sha"], gate_policy=json.loads(row["gate_policy"]) if row["gate_policy"] else None,
        rev=row["rev"], created_at=_dt(row["created_at"]), updated_at=_dt(row["updated_at"]),
        repository=row["repository"],
    )
