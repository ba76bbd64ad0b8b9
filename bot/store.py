"""The bot's own tables in the shared session database.

Deliveries (what GitHub sent, and whether processing succeeded), the outbox (every write
to GitHub, retried until it lands), the check runs made (so a restart updates rather than
duplicates), installations by repository, and the status comment of each PR. Migrated
as component "bot" with numbered steps, beside the engine's tables.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from agent_os.db import Database

MIGRATIONS = [
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
]

DeliveryStatus = Literal["received", "done", "failed"]


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    event: str
    action: str | None
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    error: str | None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    idem_key: str
    payload: dict[str, Any]
    status: str
    version: int
    attempts: int
    next_attempt_at: float
    last_error: str | None


@dataclass(frozen=True)
class CheckRunRecord:
    repository: str
    head_sha: str
    name: str
    check_run_id: int
    session_ids: list[str]
    status: str
    body_hash: str | None


class BotStore:
    """Narrow access to the bot's tables; every method is one statement or one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("bot", MIGRATIONS)

    # deliveries ----------------------------------------------------------------------------

    def record_delivery(self, delivery_id: str, event: str, action: str | None,
                        payload: dict[str, Any]) -> Literal["new", "duplicate", "queued", "retry"]:
        """Store a delivery. "duplicate": already done; "queued": waiting or running;
        "retry": it had failed and will run again (GitHub's redelivery)."""
        at = time.time()
        with self.db.transaction():
            row = self.db.query_one("SELECT status FROM bot_deliveries WHERE delivery_id = ?", (delivery_id,))
            if row is None:
                self.db.execute(
                    "INSERT INTO bot_deliveries (delivery_id, event, action, payload, received_at, updated_at)"
                    " VALUES (?,?,?,?,?,?)",
                    (delivery_id, event, action, json.dumps(payload), at, at),
                )
                return "new"
            if row["status"] == "done":
                return "duplicate"
            if row["status"] == "received":
                return "queued"
            self.db.execute(
                "UPDATE bot_deliveries SET status = 'received', attempts = 0, next_attempt_at = 0,"
                " updated_at = ? WHERE delivery_id = ?", (at, delivery_id))
            return "retry"

    def next_delivery(self) -> Delivery | None:
        """The oldest delivery due for processing."""
        row = self.db.query_one(
            "SELECT * FROM bot_deliveries WHERE status = 'received' AND next_attempt_at <= ?"
            " ORDER BY received_at, rowid LIMIT 1", (time.time(),))
        return _delivery(row) if row else None

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self.db.query_one("SELECT * FROM bot_deliveries WHERE delivery_id = ?", (delivery_id,))
        return _delivery(row) if row else None

    def deliveries(self) -> list[Delivery]:
        return [_delivery(r) for r in self.db.query("SELECT * FROM bot_deliveries ORDER BY received_at, rowid")]

    def finish_delivery(self, delivery_id: str, status: DeliveryStatus, error: str | None = None,
                        retry_at: float | None = None) -> None:
        """Mark a delivery done or failed, or (retry_at given) due again later."""
        self.db.execute(
            "UPDATE bot_deliveries SET status = ?, error = ?, attempts = attempts + 1,"
            " next_attempt_at = ?, updated_at = ? WHERE delivery_id = ?",
            (status, error, retry_at or 0, time.time(), delivery_id))

    def resume_failed_deliveries(self, max_attempts: int) -> int:
        """At start-up: failed deliveries with attempts left are due again."""
        cur = self.db.execute(
            "UPDATE bot_deliveries SET status = 'received', next_attempt_at = 0"
            " WHERE status = 'failed' AND attempts < ?", (max_attempts,))
        return cur.rowcount

    # outbox --------------------------------------------------------------------------------

    def enqueue(self, kind: str, idem_key: str, payload: dict[str, Any], *, once: bool = False) -> bool:
        """Queue a write. A pending item with the same key takes the new payload (the latest
        desired state wins) and is sent again if it was being sent; with `once`, a key ever
        queued before is not queued again."""
        at = time.time()
        body = json.dumps(payload, sort_keys=True)
        with self.db.transaction():
            if once and self.db.query_one("SELECT 1 FROM bot_outbox WHERE idem_key = ?", (idem_key,)):
                return False
            # Bumping the version even for an equal payload matters: a sync computes what to
            # send when it runs, so a change during a send must trigger one more send.
            cur = self.db.execute(
                "UPDATE bot_outbox SET payload = ?, version = version + 1, updated_at = ?"
                " WHERE idem_key = ? AND status = 'pending'", (body, at, idem_key))
            if cur.rowcount:
                return True
            self.db.execute(
                "INSERT INTO bot_outbox (kind, idem_key, payload, created_at, updated_at) VALUES (?,?,?,?,?)",
                (kind, idem_key, body, at, at))
            return True

    def due_items(self, limit: int = 50) -> list[OutboxItem]:
        rows = self.db.query(
            "SELECT * FROM bot_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (time.time(), limit))
        return [_item(r) for r in rows]

    def outbox(self, status: str | None = None) -> list[OutboxItem]:
        sql = "SELECT * FROM bot_outbox" + (" WHERE status = ?" if status else "") + " ORDER BY id"
        return [_item(r) for r in self.db.query(sql, (status,) if status else ())]

    def next_outbox_time(self) -> float | None:
        row = self.db.query_one("SELECT min(next_attempt_at) AS t FROM bot_outbox WHERE status = 'pending'")
        return row["t"] if row and row["t"] is not None else None

    def start_attempt(self, item_id: int) -> None:
        """Count an attempt before sending, so a crash mid-send is known on restart."""
        self.db.execute("UPDATE bot_outbox SET attempts = attempts + 1, updated_at = ? WHERE id = ?",
                        (time.time(), item_id))

    def item_sent(self, item: OutboxItem) -> None:
        """Done, unless a newer payload arrived while it was being sent (then send that)."""
        self.db.execute(
            "UPDATE bot_outbox SET status = 'done', last_error = NULL, updated_at = ?"
            " WHERE id = ? AND version = ?", (time.time(), item.id, item.version))

    def item_failed(self, item: OutboxItem, error: str, retry_at: float | None) -> None:
        """Due again at `retry_at`, or failed for good (None)."""
        if retry_at is None:
            self.db.execute("UPDATE bot_outbox SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
                            (error, time.time(), item.id))
        else:
            self.db.execute("UPDATE bot_outbox SET next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
                            (retry_at, error, time.time(), item.id))

    def postpone_all(self, until: float) -> None:
        """A rate limit covers the whole installation: nothing is sent before `until`."""
        self.db.execute("UPDATE bot_outbox SET next_attempt_at = max(next_attempt_at, ?) WHERE status = 'pending'",
                        (until,))

    # check runs ----------------------------------------------------------------------------

    def check_run(self, repository: str, head_sha: str, name: str) -> CheckRunRecord | None:
        row = self.db.query_one("SELECT * FROM bot_check_runs WHERE repository = ? AND head_sha = ? AND name = ?",
                                (repository, head_sha, name))
        return _check(row) if row else None

    def forget_check_digests(self, repository: str, head_sha: str) -> None:
        """Make the next sync re-send every check run on this commit (a re-check)."""
        self.db.execute("UPDATE bot_check_runs SET body_hash = NULL WHERE repository = ? AND head_sha = ?",
                        (repository, head_sha))

    def check_run_by_id(self, check_run_id: int) -> CheckRunRecord | None:
        row = self.db.query_one("SELECT * FROM bot_check_runs WHERE check_run_id = ?", (check_run_id,))
        return _check(row) if row else None

    def save_check_run(self, rec: CheckRunRecord) -> None:
        self.db.execute(
            "INSERT INTO bot_check_runs (repository, head_sha, name, check_run_id, session_ids, status, body_hash,"
            " updated_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (repository, head_sha, name) DO UPDATE SET"
            " check_run_id = excluded.check_run_id, session_ids = excluded.session_ids, status = excluded.status,"
            " body_hash = excluded.body_hash, updated_at = excluded.updated_at",
            (rec.repository, rec.head_sha, rec.name, rec.check_run_id, json.dumps(rec.session_ids), rec.status,
             rec.body_hash, time.time()))

    # installations and status comments ---------------------------------------------------------

    def remember_installation(self, repository: str, installation_id: int) -> None:
        self.db.execute("INSERT INTO bot_installations VALUES (?, ?) ON CONFLICT (repository) DO UPDATE SET"
                        " installation_id = excluded.installation_id", (repository, installation_id))

    def installation_for(self, repository: str) -> int | None:
        row = self.db.query_one("SELECT installation_id FROM bot_installations WHERE repository = ?", (repository,))
        return int(row["installation_id"]) if row else None

    def status_comment(self, repository: str, number: int) -> int | None:
        row = self.db.query_one("SELECT comment_id FROM bot_status_comments WHERE repository = ? AND number = ?",
                                (repository, number))
        return int(row["comment_id"]) if row else None

    def save_status_comment(self, repository: str, number: int, comment_id: int) -> None:
        self.db.execute("INSERT INTO bot_status_comments VALUES (?,?,?) ON CONFLICT (repository, number)"
                        " DO UPDATE SET comment_id = excluded.comment_id", (repository, number, comment_id))


def _delivery(row: Any) -> Delivery:
    return Delivery(row["delivery_id"], row["event"], row["action"], json.loads(row["payload"]), row["status"],
                    row["attempts"], row["error"])


def _item(row: Any) -> OutboxItem:
    return OutboxItem(row["id"], row["kind"], row["idem_key"], json.loads(row["payload"]), row["status"],
                      row["version"], row["attempts"], row["next_attempt_at"], row["last_error"])


def _check(row: Any) -> CheckRunRecord:
    return CheckRunRecord(row["repository"], row["head_sha"], row["name"], row["check_run_id"],
                          json.loads(row["session_ids"]), row["status"], row["body_hash"])
