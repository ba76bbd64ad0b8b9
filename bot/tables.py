"""The bot's tables, defined once for SQLite and PostgreSQL (beside the core's, same metadata).

Shapes are those of the previous SQLite release plus what replicas need: each delivery
and outbox item carries the pull request it concerns (`pr_key`, for ordering and one
sender per PR) and a lease (`lease_owner`, `lease_until`: who is working on it, until when).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import BigInteger, Column, Float, Index, Integer, Table, Text, text

from agent_os.dialects import create_tables
from agent_os.repo_case import merge_step, newest, unique_repo_index
from agent_os.schema import metadata

# Repositories compare ignoring case on both databases: a unique index on lower(repository)
# per table (below), upserts aimed at it, lookups by lower() (agent_os/repo_case.py). SQLite
# columns keep the NOCASE collation of the first release.
_REPO = Text().with_variant(Text(collation="NOCASE"), "sqlite")

deliveries = Table(
    "bot_deliveries", metadata,
    Column("delivery_id", Text, primary_key=True),
    Column("event", Text, nullable=False),
    Column("action", Text),
    Column("payload", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="received"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("next_attempt_at", Float, nullable=False, server_default="0"),
    Column("received_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("pr_key", Text),
    Column("lease_owner", Text),
    Column("lease_until", Float, nullable=False, server_default="0"),
    Index("bot_deliveries_todo", "status", "next_attempt_at"),
    Index("bot_deliveries_pr", "pr_key", "status"),
)

outbox = Table(
    "bot_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("idem_key", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("pr_key", Text),
    Column("lease_owner", Text),
    Column("lease_until", Float, nullable=False, server_default="0"),
    Index("bot_outbox_one_pending", "idem_key", unique=True,
          sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    Index("bot_outbox_todo", "status", "next_attempt_at"),
    Index("bot_outbox_pr", "pr_key", "status"),
    sqlite_autoincrement=True,
)

check_runs = Table(
    "bot_check_runs", metadata,
    Column("repository", _REPO, primary_key=True),
    Column("head_sha", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("check_run_id", BigInteger, nullable=False),
    Column("session_ids", Text, nullable=False, server_default="[]"),
    Column("status", Text, nullable=False),
    Column("body_hash", Text),
    Column("updated_at", Float, nullable=False),
    Index("bot_check_runs_by_id", "check_run_id"),
)

installations = Table(
    "bot_installations", metadata,
    Column("repository", _REPO, primary_key=True),
    Column("installation_id", BigInteger, nullable=False),
)

status_comments = Table(
    "bot_status_comments", metadata,
    Column("repository", _REPO, primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, nullable=False),
)

# Where the last look at GitHub's delivery log stopped (bot/recovery.py).
cursors = Table(
    "bot_cursors", metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# What a PR's checks must also say (e.g. a permission the App lacks), as a JSON list.
pr_notes = Table(
    "bot_pr_notes", metadata,
    Column("repository", _REPO, primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("notes", Text, nullable=False, server_default="[]"),
)

CHECK_RUNS_KEY = ("head_sha", "name")
STATUS_COMMENTS_KEY = PR_NOTES_KEY = ("number",)
check_runs_once = unique_repo_index("bot_check_runs_repo", check_runs, *CHECK_RUNS_KEY)
installations_once = unique_repo_index("bot_installations_repo", installations)
status_comments_once = unique_repo_index("bot_status_comments_repo", status_comments, *STATUS_COMMENTS_KEY)
pr_notes_once = unique_repo_index("bot_pr_notes_repo", pr_notes, *PR_NOTES_KEY)

TABLES = [deliveries, outbox, check_runs, installations, status_comments, cursors, pr_notes]


def _merge_notes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Notes of a PR spelled in two cases: every note, once, in order."""
    notes = [n for r in rows for n in json.loads(r["notes"] or "[]")]
    return {**rows[0], "notes": json.dumps(list(dict.fromkeys(notes)))}


MIGRATIONS = [
    # 1: the first release (a fresh database is created from bot/tables.py instead).
    """
    CREATE TABLE bot_deliveries (
        delivery_id TEXT PRIMARY KEY,
        event TEXT NOT NULL,
        action TEXT,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'received',
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        received_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX bot_deliveries_todo ON bot_deliveries (status, next_attempt_at);
    CREATE TABLE bot_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        version INTEGER NOT NULL DEFAULT 1,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX bot_outbox_one_pending ON bot_outbox (idem_key) WHERE status = 'pending';
    CREATE INDEX bot_outbox_todo ON bot_outbox (status, next_attempt_at);
    CREATE TABLE bot_check_runs (
        repository TEXT NOT NULL COLLATE NOCASE,
        head_sha TEXT NOT NULL,
        name TEXT NOT NULL,
        check_run_id INTEGER NOT NULL,
        session_ids TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL,
        body_hash TEXT,
        updated_at REAL NOT NULL,
        PRIMARY KEY (repository, head_sha, name)
    );
    CREATE INDEX bot_check_runs_by_id ON bot_check_runs (check_run_id);
    CREATE TABLE bot_installations (
        repository TEXT PRIMARY KEY COLLATE NOCASE,
        installation_id INTEGER NOT NULL
    );
    CREATE TABLE bot_status_comments (
        repository TEXT NOT NULL COLLATE NOCASE,
        number INTEGER NOT NULL,
        comment_id INTEGER NOT NULL,
        PRIMARY KEY (repository, number)
    )
    """,
    # 2: replicas: the PR each row concerns, and leases.
    """
    ALTER TABLE bot_deliveries ADD COLUMN pr_key TEXT;
    ALTER TABLE bot_deliveries ADD COLUMN lease_owner TEXT;
    ALTER TABLE bot_deliveries ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
    CREATE INDEX bot_deliveries_pr ON bot_deliveries (pr_key, status);
    ALTER TABLE bot_outbox ADD COLUMN pr_key TEXT;
    ALTER TABLE bot_outbox ADD COLUMN lease_owner TEXT;
    ALTER TABLE bot_outbox ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
    CREATE INDEX bot_outbox_pr ON bot_outbox (pr_key, status)
    """,
    # 3: the delivery log's cursor; notes on a PR's checks. Created from the definitions
    # above, so the step runs the same on SQLite and PostgreSQL.
    lambda conn: create_tables(conn, [cursors, pr_notes]),
    # 4: a repository's case no longer makes a second row (PostgreSQL could make one); rows
    # spelled twice merge: the check run and status comment written last, the newest
    # installation, every note.
    merge_step((check_runs, CHECK_RUNS_KEY, newest("updated_at"), check_runs_once),
               (installations, (), newest("installation_id"), installations_once),
               (status_comments, STATUS_COMMENTS_KEY, newest("comment_id"), status_comments_once),
               (pr_notes, PR_NOTES_KEY, _merge_notes, pr_notes_once)),
]
