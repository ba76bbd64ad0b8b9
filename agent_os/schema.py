"""The core's tables, defined once for SQLite and PostgreSQL (SQLAlchemy Core).

The shapes are those the SQLite release before this one created (timestamps as ISO
text, flags as integers, JSON as text), so an existing database opens unchanged. A fresh
database is created from these definitions; an older one gets its missing numbered steps
(see `Database.migrate`). The bot keeps its own tables (bot/tables.py) in the same
`metadata`, so one `create_all` and one connection serve every component.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, MetaData, Table, Text, text

from .repo_case import merge_step, unique_repo_index

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("component", Text, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Text, nullable=False),
)

mcp_tokens = Table(
    "mcp_tokens", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("secret_sha256", Text, nullable=False, unique=True),
    Column("hint", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_used_at", Text),
    Column("revoked_at", Text),
    Column("repositories", Text),  # JSON list of 'owner/name' or 'owner/*'; NULL: every repository
    Index("mcp_tokens_name", "name"),
)

# The engine's tables (component "core").

sessions = Table(
    "sessions", metadata,
    Column("id", Text, primary_key=True),
    Column("workflow", Text, nullable=False),
    Column("workflow_version", Integer, nullable=False),
    Column("target", Text, nullable=False),
    Column("target_key", Text, nullable=False),
    Column("spec_dir", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("author", Text),
    Column("head_sha", Text),
    Column("gate_policy", Text),
    Column("rev", Integer, nullable=False, server_default="0"),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Column("repository", Text),
    CheckConstraint("status IN ('active', 'complete')", name="sessions_status"),
    Index("sessions_open_target", "workflow", "target_key", unique=True,
          sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
)

phases = Table(
    "phases", metadata,
    Column("session_id", Text, ForeignKey("sessions.id"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("phase_id", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("tasks_section", Text),
    Column("started_at", Text),
    Column("completed_at", Text),
    CheckConstraint("state IN ('pending', 'active', 'awaiting_approval', 'complete')", name="phases_state"),
)

submissions = Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.id"), nullable=False),
    Column("phase", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("failures", Text, nullable=False),
    Column("verified", Text, nullable=False),
    Column("at", Text, nullable=False),
    Index("submissions_session", "session_id", "phase"),
    sqlite_autoincrement=True,
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("phase", Integer),
    Column("data", Text, nullable=False),
    Column("at", Text, nullable=False),
    Index("events_session", "session_id", "id"),
    sqlite_autoincrement=True,
)

reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Text, ForeignKey("sessions.id"), nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("review_id", BigInteger),
    Column("commit_id", Text),
    Column("is_bot", Integer, nullable=False, server_default="0"),
    Column("source", Text, nullable=False),
    Column("at", Text, nullable=False),
    Index("reviews_session", "session_id", "id"),
    sqlite_autoincrement=True,
)

pull_requests = Table(
    "pull_requests", metadata,
    Column("session_id", Text, ForeignKey("sessions.id"), primary_key=True),
    Column("repository", Text, primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("head_sha", Text),
    Column("author", Text),
    Column("source", Text, nullable=False),
    Column("linked_at", Text, nullable=False),
    Index("pull_requests_pr", "repository", "number"),
)

review_comments = Table(
    "review_comments", metadata,
    Column("session_id", Text, ForeignKey("sessions.id"), primary_key=True),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("thread_id", Text),
    Column("path", Text, nullable=False),
    Column("line", Integer),
    Column("body", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("in_reply_to", BigInteger),
    Column("at", Text, nullable=False),
)

review_threads = Table(
    "review_threads", metadata,
    Column("session_id", Text, ForeignKey("sessions.id"), primary_key=True),
    Column("thread_id", Text, primary_key=True),
    Column("resolved", Integer, nullable=False),
    Column("updated_at", Text, nullable=False),
)

# A PR is linked once per session however its repository is spelled (GitHub ignores case).
pull_requests_once = unique_repo_index("pull_requests_one_link", pull_requests, "session_id", "number")

CORE_TABLES = [sessions, phases, submissions, events, reviews, pull_requests, review_comments, review_threads]


def _merge_links(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One link of a PR spelled in two cases: the first linked, with the latest known head and author."""
    latest = sorted(rows, key=lambda r: r["linked_at"], reverse=True)
    return {**latest[-1], "head_sha": next((r["head_sha"] for r in latest if r["head_sha"]), None),
            "author": next((r["author"] for r in latest if r["author"]), None)}


CORE_MIGRATIONS = [
    # Steps from older releases (SQLite only then); a fresh database is created from the
    # tables above and stamped with the last step.
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
    # 4: a PR's repository ignores case in its link's key (links spelled twice are merged).
    merge_step((pull_requests, ("session_id", "number"), _merge_links, pull_requests_once)),
]
