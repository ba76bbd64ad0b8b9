"""The bot's own tables in the shared session database (SQLite or PostgreSQL).

Deliveries (what GitHub sent, and whether processing succeeded), the outbox (every write
to GitHub, retried until it lands), the check runs made (so a restart updates rather than
duplicates), installations by repository, and the status comment of each PR. Migrated
as component "bot" beside the engine's tables (bot/tables.py defines them).

Several replicas may share the database. Deliveries and outbox items are *claimed* with a
lease: `FOR UPDATE SKIP LOCKED` on PostgreSQL (the write lock on SQLite) picks rows nobody
holds, and the claimer's id and lease end are written on them. A replica that dies loses
its leases when they expire and another takes the work over. A pull request's deliveries
are claimed one at a time, oldest first; its outbox items, by one sender at a time.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, bindparam, case, func, or_, select, text

from agent_os import dialects
from agent_os.db import Database
from agent_os.repo_case import repo_key, same_repo

from .payloads import Incoming, Outcome, pr_key_of
from .tables import (
    CHECK_RUNS_KEY,
    MIGRATIONS,
    STATUS_COMMENTS_KEY,
    TABLES,
    check_runs,
    cursors,
    deliveries,
    installations,
    outbox,
    status_comments,
)

# A literal, not a bound parameter: PostgreSQL matches ON CONFLICT's WHERE to the partial
# unique index only when it can read the condition (a prepared statement's $1 it cannot).
PENDING = text("status = 'pending'")

WORK_CHANNEL = "agent_os_bot_work"
"""NOTIFY channel: a delivery or outbox item is waiting (replicas LISTEN on it)."""

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
    """Narrow access to the bot's tables; every method is one statement or one transaction.

    `owner` names this replica on the leases it takes; `lease` is how long (seconds) a
    claim holds without renewal (`renew_leases`, which the worker calls while it works).
    """

    def __init__(self, db: Database, *, lease: float = 30.0) -> None:
        self.db = db
        self.lease = lease
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        db.migrate("bot", MIGRATIONS, TABLES)
        # The worker's claims, built once and run with the time bound (each pass built them anew).
        now, t, o = bindparam("now"), deliveries, outbox.alias("other")
        pick = dialects.claimable(db, self._claimable_deliveries(now).with_only_columns(t.c.delivery_id).limit(1))
        self._claim_delivery = (t.update().where(t.c.delivery_id == pick.scalar_subquery()).returning(*t.c)
                                .values(lease_owner=bindparam("owner"), lease_until=bindparam("until")))
        busy = select(o.c.id).where(o.c.pr_key == outbox.c.pr_key, o.c.id != outbox.c.id, o.c.status == "pending",
                                    o.c.lease_until >= now).exists()
        self._due_items = dialects.claimable(db, select(outbox).where(
            outbox.c.status == "pending", outbox.c.next_attempt_at <= now, outbox.c.lease_until < now, ~busy)
            .order_by(outbox.c.id).limit(bindparam("n")))

    # deliveries ----------------------------------------------------------------------------

    def record_delivery(self, delivery_id: str, event: str, action: str | None, payload: dict[str, Any]) -> Outcome:
        """Store a delivery once (one of `record_deliveries`)."""
        return self.record_deliveries([Incoming(delivery_id, event, action, pr_key_of(payload),
                                                json.dumps(payload))])[0]

    def record_deliveries(self, items: Sequence[Incoming]) -> list[Outcome]:
        """Store deliveries that arrived together in one transaction (group commit); each one's
        `Outcome`, in order. Processing keeps their order; an id given twice is recorded once."""
        t, at = deliveries, time.time()
        unique: dict[str, Incoming] = {}
        for item in items:
            unique.setdefault(item.delivery_id, item)
        # One microsecond apart: the claim orders by received_at, so a batch keeps its order.
        rows = [{"delivery_id": i.delivery_id, "event": i.event, "action": i.action, "payload": i.body,
                 "received_at": at + n * 1e-6, "updated_at": at, "pr_key": i.pr_key}
                for n, i in enumerate(unique.values())]
        with self.db.transaction() as conn:
            inserted = conn.execute(dialects.insert(conn, t).on_conflict_do_nothing(index_elements=["delivery_id"])
                                    .returning(t.c.delivery_id), rows)
            first: dict[str, Outcome] = {r["delivery_id"]: "new" for r in inserted.fetchall()}
            known = [d for d in unique if d not in first]
            if known:
                status = {r["delivery_id"]: r["status"] for r in dialects.lock_rows(
                    conn, select(t.c.delivery_id, t.c.status).where(t.c.delivery_id.in_(known)))}
                if again := [d for d in known if status.get(d) not in ("done", "received")]:
                    conn.execute(t.update().where(t.c.delivery_id.in_(again)).values(
                        status="received", attempts=0, next_attempt_at=0, lease_owner=None, lease_until=0,
                        updated_at=at))
                first.update({d: "duplicate" if status.get(d) == "done" else
                              "queued" if status.get(d) == "received" else "retry" for d in known})
            if any(o in ("new", "retry") for o in first.values()):
                self.db.notify(WORK_CHANNEL)
        outcomes: list[Outcome] = []
        for item in items:  # the same delivery twice in one batch: the second waits on the first
            outcome = first[item.delivery_id]
            outcomes.append(outcome)
            first[item.delivery_id] = "duplicate" if outcome == "duplicate" else "queued"
        return outcomes

    def _claimable_deliveries(self, now: Any) -> Any:
        t, e = deliveries, deliveries.alias("earlier")
        # A PR's deliveries go one at a time, oldest first: one waits while an older one of
        # the same PR is unfinished (queued, retrying, or held by a replica).
        earlier = select(e.c.delivery_id).where(
            e.c.pr_key == t.c.pr_key, e.c.status == "received",
            or_(e.c.received_at < t.c.received_at,
                and_(e.c.received_at == t.c.received_at, e.c.delivery_id < t.c.delivery_id))).exists()
        return (select(t).where(t.c.status == "received", t.c.next_attempt_at <= now, t.c.lease_until < now,
                                ~earlier).order_by(t.c.received_at, t.c.delivery_id))

    def claim_delivery(self) -> Delivery | None:
        """Take the oldest delivery due, leased to this replica, or None: one statement (pick, lock, lease)."""
        now = time.time()
        row = self.db.execute(self._claim_delivery,
                              {"now": now, "owner": self.owner, "until": now + self.lease}).fetchone()
        return _delivery(row) if row else None

    def next_delivery(self) -> Delivery | None:
        """The delivery a claim would take now (without taking it)."""
        row = self.db.query_one(self._claimable_deliveries(time.time()).limit(1))
        return _delivery(row) if row else None

    def delivery(self, delivery_id: str) -> Delivery | None:
        row = self.db.query_one(deliveries.select().where(deliveries.c.delivery_id == delivery_id))
        return _delivery(row) if row else None

    def deliveries(self) -> list[Delivery]:
        t = deliveries
        return [_delivery(r) for r in self.db.query(t.select().order_by(t.c.received_at, t.c.delivery_id))]

    def finish_delivery(self, delivery_id: str, status: DeliveryStatus, error: str | None = None,
                        retry_at: float | None = None) -> bool:
        """Mark a delivery done or failed, or (retry_at given) due again later, releasing
        this replica's lease. False if the lease was lost (another replica took it over)."""
        t = deliveries
        done = self.db.execute(t.update().where(
            t.c.delivery_id == delivery_id, or_(t.c.lease_owner == self.owner, t.c.lease_owner.is_(None))
        ).values(status=status, error=error, attempts=t.c.attempts + 1, next_attempt_at=retry_at or 0,
                 lease_owner=None, lease_until=0, updated_at=time.time()))
        return done.rowcount == 1

    def resume_failed_deliveries(self, max_attempts: int) -> int:
        """At start-up: failed deliveries with attempts left are due again."""
        t = deliveries
        return self.db.execute(t.update().where(t.c.status == "failed", t.c.attempts < max_attempts)
                               .values(status="received", next_attempt_at=0)).rowcount

    def renew_leases(self) -> int:
        """Extend every lease this replica holds (it is still working); returns how many."""
        until, renewed = time.time() + self.lease, 0
        with self.db.transaction() as conn:
            for t, open_status in ((deliveries, "received"), (outbox, "pending")):
                renewed += conn.execute(t.update().where(t.c.lease_owner == self.owner, t.c.status == open_status)
                                        .values(lease_until=until)).rowcount
        return renewed

    # outbox --------------------------------------------------------------------------------

    def enqueue(self, kind: str, idem_key: str, payload: dict[str, Any], *, once: bool = False) -> bool:
        """Queue a write. A pending item with the same key takes the new payload (the latest
        desired state wins) and is sent again if it was being sent; with `once`, a key ever
        queued before is not queued again. Inside the caller's transaction if there is one,
        so a state change and the writes it needs commit together."""
        t, at = outbox, time.time()
        body = json.dumps(payload, sort_keys=True)
        pr = f"{str(payload['repository']).lower()}#{payload['number']}" if "number" in payload else None
        with self.db.transaction() as conn:
            if once and conn.execute(select(t.c.id).where(t.c.idem_key == idem_key).limit(1)).fetchone():
                return False
            insert = dialects.insert(conn, t).values(kind=kind, idem_key=idem_key, payload=body, created_at=at,
                                                     updated_at=at, pr_key=pr)
            if once:
                insert = insert.on_conflict_do_nothing(index_elements=["idem_key"],
                                                       index_where=PENDING)
            else:
                # Bumping the version even for an equal payload matters: a sync computes what to
                # send when it runs, so a change during a send must trigger one more send.
                insert = insert.on_conflict_do_update(
                    index_elements=["idem_key"], index_where=PENDING,
                    set_={"payload": body, "version": t.c.version + 1, "updated_at": at})
            conn.execute(insert)
            self.db.notify(WORK_CHANNEL)
            return True

    def claim_items(self, limit: int = 20) -> list[OutboxItem]:
        """Take up to `limit` due items, at most one per pull request, and none of a PR that
        another sender holds; each the PR's oldest due item; leased to this replica. Returned
        as they were before the claim (`attempts` counts earlier attempts); the claim counts
        this one, so a crash mid-send is known on restart."""
        t, now = outbox, time.time()
        with self.db.transaction() as conn:
            chosen: dict[Any, Any] = {}
            for row in conn.execute(self._due_items, {"now": now, "n": limit * 4}).fetchall():
                key = row["pr_key"] if row["pr_key"] is not None else ("item", row["id"])
                chosen.setdefault(key, row)
            oldest = sorted(chosen.values(), key=lambda r: r["id"])[:limit]
            picked = []
            # PR locks in one order (the locks' own), so two claimers never wait in a circle.
            for row in sorted(oldest, key=lambda r: dialects.lock_key(r["pr_key"]) if r["pr_key"] else 0):
                if row["pr_key"] is not None and not self._first_in_line(conn, row, now):
                    continue
                conn.execute(t.update().where(t.c.id == row["id"]).values(
                    lease_owner=self.owner, lease_until=now + self.lease, attempts=t.c.attempts + 1,
                    updated_at=now))
                picked.append(_item(row))
        return sorted(picked, key=lambda i: i.id)

    @staticmethod
    def _first_in_line(conn: Any, row: Any, now: float) -> bool:
        """Whether `row` may be sent now: no sender holds another item of its PR, and no
        older item of the PR is due. Checked under the PR's lock (PostgreSQL; SQLite's write
        lock covers it), because another claimer may have picked, or skipped as locked, an
        item of the same PR at the same instant: whoever comes second sees the first's lease."""
        o = outbox.alias("other")
        dialects.serialize(conn, row["pr_key"])
        ahead = conn.execute(select(o.c.id).where(
            o.c.pr_key == row["pr_key"], o.c.id != row["id"], o.c.status == "pending",
            or_(o.c.lease_until >= now, and_(o.c.id < row["id"], o.c.next_attempt_at <= now))).limit(1)).fetchone()
        return ahead is None

    def due_items(self, limit: int = 50) -> list[OutboxItem]:
        """Pending items due now, held or not (what is left to do)."""
        t = outbox
        rows = self.db.query(select(t).where(t.c.status == "pending", t.c.next_attempt_at <= time.time())
                             .order_by(t.c.id).limit(limit))
        return [_item(r) for r in rows]

    def outbox(self, status: str | None = None) -> list[OutboxItem]:
        stmt = select(outbox).order_by(outbox.c.id)
        if status:
            stmt = stmt.where(outbox.c.status == status)
        return [_item(r) for r in self.db.query(stmt)]

    def pending_count(self) -> int:
        """Items still to send, across every replica."""
        t = outbox
        return int(self.db.query_one(select(func.count().label("n")).where(t.c.status == "pending"))["n"])

    def next_outbox_time(self) -> float | None:
        """When the next pending item is due (or its holder's lease ends)."""
        t = outbox
        when = case((t.c.lease_until > t.c.next_attempt_at, t.c.lease_until), else_=t.c.next_attempt_at)
        row = self.db.query_one(select(func.min(when).label("t")).where(t.c.status == "pending"))
        return row["t"] if row and row["t"] is not None else None

    def item_sent(self, item: OutboxItem) -> None:
        """Done, unless a newer payload arrived while it was being sent (then send that)."""
        t = outbox
        self.db.execute(t.update().where(t.c.id == item.id).values(
            status=case((t.c.version == item.version, "done"), else_=t.c.status),
            last_error=None, lease_owner=None, lease_until=0, updated_at=time.time()))

    def item_failed(self, item: OutboxItem, error: str, retry_at: float | None) -> None:
        """Due again at `retry_at`, or failed for good (None)."""
        t = outbox
        values: dict[str, Any] = {"last_error": error, "lease_owner": None, "lease_until": 0,
                                  "updated_at": time.time()}
        values.update({"status": "failed"} if retry_at is None else {"next_attempt_at": retry_at})
        self.db.execute(t.update().where(t.c.id == item.id).values(**values))

    def postpone_all(self, until: float) -> None:
        """A rate limit covers the whole installation: nothing is sent before `until`."""
        t = outbox
        self.db.execute(t.update().where(t.c.status == "pending", t.c.next_attempt_at < until)
                        .values(next_attempt_at=until))

    # check runs ----------------------------------------------------------------------------

    def check_run(self, repository: str, head_sha: str, name: str) -> CheckRunRecord | None:
        t = check_runs
        row = self.db.query_one(t.select().where(same_repo(t.c.repository, repository), t.c.head_sha == head_sha,
                                                 t.c.name == name))
        return _check(row) if row else None

    def forget_check_digests(self, repository: str, head_sha: str) -> None:
        """Make the next sync re-send every check run on this commit (a re-check)."""
        t = check_runs
        self.db.execute(t.update().where(same_repo(t.c.repository, repository), t.c.head_sha == head_sha)
                        .values(body_hash=None))

    def check_run_by_id(self, check_run_id: int) -> CheckRunRecord | None:
        row = self.db.query_one(check_runs.select().where(check_runs.c.check_run_id == check_run_id))
        return _check(row) if row else None

    def save_check_run(self, rec: CheckRunRecord) -> None:
        t = check_runs
        with self.db.transaction() as conn:
            values = {"check_run_id": rec.check_run_id, "session_ids": json.dumps(rec.session_ids),
                      "status": rec.status, "body_hash": rec.body_hash, "updated_at": time.time()}
            conn.execute(dialects.insert(conn, t).values(repository=rec.repository, head_sha=rec.head_sha,
                                                         name=rec.name, **values)
                         .on_conflict_do_update(index_elements=repo_key(t, *CHECK_RUNS_KEY), set_=values))

    # installations and status comments ---------------------------------------------------------

    def remember_installation(self, repository: str, installation_id: int) -> None:
        t = installations
        with self.db.transaction() as conn:
            conn.execute(dialects.insert(conn, t).values(repository=repository, installation_id=installation_id)
                         .on_conflict_do_update(index_elements=repo_key(t),
                                                set_={"installation_id": installation_id}))

    def installation_for(self, repository: str) -> int | None:
        t = installations
        row = self.db.query_one(select(t.c.installation_id).where(same_repo(t.c.repository, repository)))
        return int(row["installation_id"]) if row else None

    def status_comment(self, repository: str, number: int) -> int | None:
        t = status_comments
        row = self.db.query_one(select(t.c.comment_id).where(same_repo(t.c.repository, repository),
                                                             t.c.number == number))
        return int(row["comment_id"]) if row else None

    def save_status_comment(self, repository: str, number: int, comment_id: int) -> None:
        t = status_comments
        with self.db.transaction() as conn:
            conn.execute(dialects.insert(conn, t).values(repository=repository, number=number, comment_id=comment_id)
                         .on_conflict_do_update(index_elements=repo_key(t, *STATUS_COMMENTS_KEY),
                                                set_={"comment_id": comment_id}))

    # cursors ---------------------------------------------------------------------------------

    def cursor(self, name: str) -> str | None:
        """Where the named scan (e.g. GitHub's delivery log) stopped last time."""
        row = self.db.query_one(select(cursors.c.value).where(cursors.c.name == name))
        return row["value"] if row else None

    def set_cursor(self, name: str, value: str) -> None:
        t, at = cursors, time.time()
        with self.db.transaction() as conn:
            conn.execute(dialects.insert(conn, t).values(name=name, value=value, updated_at=at)
                         .on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": at}))


def _delivery(row: Any) -> Delivery:
    return Delivery(row["delivery_id"], row["event"], row["action"], json.loads(row["payload"]), row["status"],
                    row["attempts"], row["error"])


def _item(row: Any) -> OutboxItem:
    return OutboxItem(row["id"], row["kind"], row["idem_key"], json.loads(row["payload"]), row["status"],
                      row["version"], row["attempts"], row["next_attempt_at"], row["last_error"])


def _check(row: Any) -> CheckRunRecord:
    return CheckRunRecord(row["repository"], row["head_sha"], row["name"], row["check_run_id"],
                          json.loads(row["session_ids"]), row["status"], row["body_hash"])
