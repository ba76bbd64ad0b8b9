"""`SessionStore` on one SQLite file: the embedded default (solo use, the demo, one server).

WAL lets several processes share the file; `BEGIN IMMEDIATE` takes the database-wide
write lock up front, which is how `transaction(session_id)` locks the session here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from .db import Database
from .records import (
    CommentRecord,
    EventRecord,
    PhaseRecord,
    PullRequestRecord,
    Review,
    SessionRecord,
    SubmissionRecord,
    now,
)
from .store import SESSION_FIELDS

MIGRATIONS = [
    # 1: sessions, their phases, evidence submissions and the event log.
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        workflow_version INTEGER NOT NULL,
        target TEXT NOT NULL,
        target_key TEXT NOT NULL,
        spec_dir TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'complete')),
        author TEXT,
        head_sha TEXT,
        gate_policy TEXT,
        rev INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX sessions_open_target ON sessions (workflow, target_key) WHERE status = 'active';
    CREATE TABLE phases (
        session_id TEXT NOT NULL REFERENCES sessions (id),
        number INTEGER NOT NULL,
        phase_id TEXT NOT NULL,
        title TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'awaiting_approval', 'complete')),
        definition TEXT NOT NULL,
        tasks_section TEXT,
        started_at TEXT,
        completed_at TEXT,
        PRIMARY KEY (session_id, number)
    );
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions (id),
        phase INTEGER NOT NULL,
        accepted INTEGER NOT NULL,
        evidence TEXT NOT NULL,
        failures TEXT NOT NULL,
        verified TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX submissions_session ON submissions (session_id, phase);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions (id),
        kind TEXT NOT NULL,
        phase INTEGER,
        data TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX events_session ON events (session_id, id)
    """,
    # 2: approvals and reviews, linked pull requests, review comments and threads.
    """
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions (id),
        reviewer TEXT NOT NULL,
        state TEXT NOT NULL,
        review_id INTEGER,
        commit_id TEXT,
        is_bot INTEGER NOT NULL DEFAULT 0,
        source TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX reviews_session ON reviews (session_id, id);
    CREATE TABLE pull_requests (
        session_id TEXT NOT NULL REFERENCES sessions (id),
        repository TEXT NOT NULL,
        number INTEGER NOT NULL,
        head_sha TEXT,
        author TEXT,
        source TEXT NOT NULL,
        linked_at TEXT NOT NULL,
        PRIMARY KEY (session_id, repository, number)
    );
    CREATE INDEX pull_requests_pr ON pull_requests (repository, number);
    CREATE TABLE review_comments (
        session_id TEXT NOT NULL REFERENCES sessions (id),
        comment_id INTEGER NOT NULL,
        thread_id TEXT,
        path TEXT NOT NULL,
        line INTEGER,
        body TEXT NOT NULL,
        author TEXT NOT NULL,
        url TEXT NOT NULL,
        state TEXT NOT NULL,
        in_reply_to INTEGER,
        at TEXT NOT NULL,
        PRIMARY KEY (session_id, comment_id)
    );
    CREATE TABLE review_threads (
        session_id TEXT NOT NULL REFERENCES sessions (id),
        thread_id TEXT NOT NULL,
        resolved INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (session_id, thread_id)
    )
    """,
    # 3: the repository a session works in (nullable: solo sessions may never have one).
    """
    ALTER TABLE sessions ADD COLUMN repository TEXT
    """,
]


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SQLiteSessionStore:
    """`SessionStore` on one SQLite file (WAL; several processes may share it).

    `db` is the `Database` it lives in; other components (the bot's queues, the MCP
    tokens) keep their own tables in the same file.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("core", MIGRATIONS)

    @contextmanager
    def transaction(self, session_id: str | None = None) -> Iterator[None]:
        """One write transaction; everything inside commits together or not at all.

        SQLite has no row locks: `BEGIN IMMEDIATE` takes the write lock for the whole
        file, which covers `session_id`'s row too.
        """
        with self.db.transaction():
            yield None

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    # sessions ---------------------------------------------------------------------------

    def insert_session(self, rec: SessionRecord, phases: list[PhaseRecord]) -> None:
        """Create a session with its phases."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO sessions (id, workflow, workflow_version, target, target_key, spec_dir,"
                " status, author, head_sha, gate_policy, rev, created_at, updated_at, repository)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (rec.id, rec.workflow, rec.workflow_version, rec.target, rec.target_key, rec.spec_dir,
                 rec.status, rec.author, rec.head_sha, _json_or_none(rec.gate_policy), rec.rev,
                 _ts(rec.created_at), _ts(rec.updated_at), rec.repository),
            )
            self._insert_phases(conn, phases)

    def _insert_phases(self, conn: Any, phases: list[PhaseRecord]) -> None:
        conn.executemany(
            "INSERT INTO phases (session_id, number, phase_id, title, state, definition, tasks_section,"
            " started_at, completed_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [(p.session_id, p.number, p.phase_id, p.title, p.state, json.dumps(p.definition), p.tasks_section,
              _ts(p.started_at) if p.started_at else None, _ts(p.completed_at) if p.completed_at else None)
             for p in phases],
        )

    def session(self, session_id: str) -> SessionRecord | None:
        """The session, or None."""
        row = self.db.query_one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return _session(row) if row else None

    def open_session_for(self, workflow: str, target_key: str) -> SessionRecord | None:
        """The active session of `workflow` on `target_key`, if any."""
        row = self.db.query_one(
            "SELECT * FROM sessions WHERE workflow = ? AND target_key = ? AND status = 'active'",
            (workflow, target_key),
        )
        return _session(row) if row else None

    def sessions(self, status: str | None = None) -> list[SessionRecord]:
        """Sessions, most recently updated first."""
        if status:
            rows = self.db.query("SELECT * FROM sessions WHERE status = ? ORDER BY updated_at DESC", (status,))
        else:
            rows = self.db.query("SELECT * FROM sessions ORDER BY updated_at DESC")
        return [_session(r) for r in rows]

    def sessions_for_spec_dir(self, spec_dir: str) -> list[SessionRecord]:
        """Sessions working in `spec_dir`, most recently updated first."""
        rows = self.db.query("SELECT * FROM sessions WHERE spec_dir = ? ORDER BY updated_at DESC", (spec_dir,))
        return [_session(r) for r in rows]

    def bump(self, session_id: str, expected_rev: int, **changes: Any) -> bool:
        """Compare-and-set: advance the session's revision if it is still `expected_rev`.

        This is what makes two concurrent completions of one phase resolve to exactly one
        winner: the loser's revision is stale and nothing it computed is written.
        """
        sets = ["rev = rev + 1", "updated_at = ?"]
        params: list[Any] = [_ts(now())]
        for key, value in changes.items():
            if key not in SESSION_FIELDS:
                raise ValueError(f"bump() cannot change the session's {key!r}")
            sets.append(f"{key} = ?")
            params.append(_json_or_none(value) if key == "gate_policy" else value)
        cur = self.db.execute(
            f"UPDATE sessions SET {', '.join(sets)} WHERE id = ? AND rev = ?",
            (*params, session_id, expected_rev),
        )
        return cur.rowcount == 1

    # phases -----------------------------------------------------------------------------

    def phases(self, session_id: str) -> list[PhaseRecord]:
        """The session's phases in order."""
        rows = self.db.query("SELECT * FROM phases WHERE session_id = ? ORDER BY number", (session_id,))
        return [
            PhaseRecord(r["session_id"], r["number"], r["phase_id"], r["title"], r["state"],
                        json.loads(r["definition"]), r["tasks_section"], _dt(r["started_at"]),
                        _dt(r["completed_at"]))
            for r in rows
        ]

    def set_phase_state(self, session_id: str, number: int, state: str, at: datetime) -> None:
        """Move one phase to `state`, stamping when it started or completed."""
        column = {"active": "started_at", "complete": "completed_at"}.get(state)
        if column:
            self.db.execute(
                f"UPDATE phases SET state = ?, {column} = ? WHERE session_id = ? AND number = ?",
                (state, _ts(at), session_id, number),
            )
        else:
            self.db.execute(
                "UPDATE phases SET state = ? WHERE session_id = ? AND number = ?", (state, session_id, number)
            )

    def replace_phases_from(self, session_id: str, first: int, phases: list[PhaseRecord]) -> None:
        """Replace the phases numbered `first` and above (execution phases built from tasks.md)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM phases WHERE session_id = ? AND number >= ?", (session_id, first))
            self._insert_phases(conn, phases)

    # submissions and events -------------------------------------------------------------

    def add_submission(self, session_id: str, phase: int, accepted: bool, evidence: Any,
                       failures: list[dict[str, str]], verified: list[str]) -> int:
        """Record an evidence submission; returns its id."""
        cur = self.db.execute(
            "INSERT INTO submissions (session_id, phase, accepted, evidence, failures, verified, at)"
            " VALUES (?,?,?,?,?,?,?)",
            (session_id, phase, int(accepted), json.dumps(evidence, default=str), json.dumps(failures),
             json.dumps(verified), _ts(now())),
        )
        return int(cur.lastrowid)

    def submissions(self, session_id: str) -> list[SubmissionRecord]:
        """Every submission of the session, oldest first."""
        rows = self.db.query("SELECT * FROM submissions WHERE session_id = ? ORDER BY id", (session_id,))
        return [
            SubmissionRecord(r["id"], r["session_id"], r["phase"], bool(r["accepted"]), json.loads(r["evidence"]),
                             json.loads(r["failures"]), json.loads(r["verified"]), _dt(r["at"]))
            for r in rows
        ]

    def add_event(self, session_id: str, kind: str, phase: int | None = None, **data: Any) -> None:
        """Append to the session's timeline."""
        self.db.execute(
            "INSERT INTO events (session_id, kind, phase, data, at) VALUES (?,?,?,?,?)",
            (session_id, kind, phase, json.dumps(data, default=str), _ts(now())),
        )

    def events(self, session_id: str, after_id: int = 0) -> list[EventRecord]:
        """The session's timeline after event `after_id`."""
        rows = self.db.query(
            "SELECT * FROM events WHERE session_id = ? AND id > ? ORDER BY id", (session_id, after_id)
        )
        return [EventRecord(r["id"], r["session_id"], r["kind"], r["phase"], json.loads(r["data"]), _dt(r["at"]))
                for r in rows]

    # reviews ----------------------------------------------------------------------------

    def add_review(self, session_id: str, review: Review, review_id: int | None) -> bool:
        """Record a review; a GitHub review already recorded in the same state is not added twice."""
        if review_id is not None:
            dup = self.db.query_one(
                "SELECT 1 FROM reviews WHERE session_id = ? AND review_id = ? AND state = ?",
                (session_id, review_id, review.state),
            )
            if dup:
                return False
        self.db.execute(
            "INSERT INTO reviews (session_id, reviewer, state, review_id, commit_id, is_bot, source, at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (session_id, review.reviewer, review.state, review_id, review.commit_id, int(review.is_bot),
             review.source, _ts(review.at)),
        )
        return True

    def reviews(self, session_id: str) -> list[Review]:
        """Reviews in the order received."""
        rows = self.db.query("SELECT * FROM reviews WHERE session_id = ? ORDER BY id", (session_id,))
        return [Review(r["reviewer"], r["state"], _dt(r["at"]), r["source"], r["commit_id"], bool(r["is_bot"]))
                for r in rows]

    # pull requests and review comments -------------------------------------------------

    def upsert_pull_request(self, rec: PullRequestRecord) -> bool:
        """Link a PR (or refresh its head/author); True if the link is new."""
        existed = self.db.query_one(
            "SELECT 1 FROM pull_requests WHERE session_id = ? AND repository = ? AND number = ?",
            (rec.session_id, rec.repository, rec.number),
        )
        self.db.execute(
            "INSERT INTO pull_requests (session_id, repository, number, head_sha, author, source, linked_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT (session_id, repository, number) DO UPDATE SET"
            " head_sha = coalesce(excluded.head_sha, pull_requests.head_sha),"
            " author = coalesce(excluded.author, pull_requests.author)",
            (rec.session_id, rec.repository, rec.number, rec.head_sha, rec.author, rec.source, _ts(rec.linked_at)),
        )
        return existed is None

    def pull_requests(self, session_id: str) -> list[PullRequestRecord]:
        """PRs linked to the session, in the order linked."""
        rows = self.db.query(
            "SELECT * FROM pull_requests WHERE session_id = ? ORDER BY linked_at", (session_id,)
        )
        return [PullRequestRecord(r["session_id"], r["repository"], r["number"], r["head_sha"], r["author"],
                                  r["source"], _dt(r["linked_at"])) for r in rows]

    def sessions_for_pull_request(self, repository: str, number: int) -> list[str]:
        """Ids of the sessions linked to a PR."""
        rows = self.db.query(
            "SELECT session_id FROM pull_requests WHERE repository = ? COLLATE NOCASE AND number = ?"
            " ORDER BY linked_at",
            (repository, number),
        )
        return [r["session_id"] for r in rows]

    def upsert_comment(self, session_id: str, rec: CommentRecord) -> None:
        """Record a review comment, or its edit or deletion."""
        self.db.execute(
            "INSERT INTO review_comments (session_id, comment_id, thread_id, path, line, body, author, url,"
            " state, in_reply_to, at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (session_id, comment_id) DO UPDATE SET body = excluded.body, state = excluded.state,"
            " thread_id = coalesce(excluded.thread_id, review_comments.thread_id),"
            " line = coalesce(excluded.line, review_comments.line)",
            (session_id, rec.comment_id, rec.thread_id, rec.path, rec.line, rec.body, rec.author, rec.url,
             rec.state, rec.in_reply_to, _ts(rec.at)),
        )

    def comments(self, session_id: str) -> list[CommentRecord]:
        """Review comments on the session's files, oldest first."""
        rows = self.db.query(
            "SELECT * FROM review_comments WHERE session_id = ? ORDER BY at, comment_id", (session_id,)
        )
        return [CommentRecord(r["comment_id"], r["thread_id"], r["path"], r["line"], r["body"], r["author"],
                              r["url"], r["state"], r["in_reply_to"], _dt(r["at"])) for r in rows]

    def set_thread(self, session_id: str, thread_id: str, resolved: bool, comment_ids: list[int]) -> None:
        """Mark a review thread resolved or not, and file the recorded comments among `comment_ids` under it."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO review_threads (session_id, thread_id, resolved, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT (session_id, thread_id) DO UPDATE SET resolved = excluded.resolved,"
                " updated_at = excluded.updated_at",
                (session_id, thread_id, int(resolved), _ts(now())),
            )
            conn.executemany("UPDATE review_comments SET thread_id = ? WHERE session_id = ? AND comment_id = ?",
                             [(thread_id, session_id, cid) for cid in comment_ids])

    def threads(self, session_id: str) -> dict[str, bool]:
        """Thread id -> resolved, for threads whose state GitHub has told us."""
        rows = self.db.query("SELECT thread_id, resolved FROM review_threads WHERE session_id = ?", (session_id,))
        return {r["thread_id"]: bool(r["resolved"]) for r in rows}


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
