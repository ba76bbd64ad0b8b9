"""The bot's queues on SQLite and PostgreSQL: deliveries recorded once, claimed with a lease,
a PR's deliveries in order, one sender per PR, and replicas that cannot take each other's work."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest

from agent_os import sqlite
from agent_os.db import Database
from bot.payloads import Incoming
from bot.store import MIGRATIONS, BotStore, CheckRunRecord


def pr_payload(repo: str, number: int) -> dict:
    return {"repository": {"full_name": repo}, "pull_request": {"number": number}}


def test_a_delivery_is_recorded_once_and_redelivery_after_failure_runs_again(db):
    store = BotStore(db)
    assert store.record_delivery("d1", "pull_request", "opened", pr_payload("o/r", 1)) == "new"
    assert store.record_delivery("d1", "pull_request", "opened", pr_payload("o/r", 1)) == "queued"
    claimed = store.claim_delivery()
    assert claimed is not None and claimed.delivery_id == "d1"
    assert store.finish_delivery("d1", "failed", "boom")
    assert store.record_delivery("d1", "pull_request", "opened", pr_payload("o/r", 1)) == "retry"
    assert store.claim_delivery().delivery_id == "d1"
    store.finish_delivery("d1", "done")
    assert store.record_delivery("d1", "pull_request", "opened", pr_payload("o/r", 1)) == "duplicate"
    assert [d.status for d in store.deliveries()] == ["done"]


def test_the_same_delivery_arriving_at_once_on_many_replicas_is_new_exactly_once(open_db):
    stores = [BotStore(open_db()) for _ in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def receive(store: BotStore) -> None:
        barrier.wait()
        outcomes.append(store.record_delivery("same", "ping", None, {}))

    threads = [threading.Thread(target=receive, args=(stores[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(outcomes) == Counter({"new": 1, "queued": 7})
    assert len(stores[0].deliveries()) == 1


def test_a_pull_requests_deliveries_are_claimed_one_at_a_time_in_order(open_db):
    a, b = BotStore(open_db()), BotStore(open_db())
    a.record_delivery("x1", "pull_request", "opened", pr_payload("o/r", 1))
    a.record_delivery("x2", "pull_request_review", "submitted", pr_payload("o/r", 1))
    a.record_delivery("y1", "pull_request", "opened", pr_payload("o/r", 2))
    first = a.claim_delivery()
    assert first.delivery_id == "x1"
    # While x1 is held, x2 (same PR) waits; another PR's delivery does not.
    second = b.claim_delivery()
    assert second.delivery_id == "y1"
    assert b.claim_delivery() is None
    a.finish_delivery("x1", "done")
    assert b.claim_delivery().delivery_id == "x2"


def test_a_dead_replicas_lease_runs_out_and_another_takes_the_work(open_db):
    dead = BotStore(open_db(), lease=-1.0)  # its leases are over as soon as taken
    alive = BotStore(open_db())
    alive.record_delivery("d1", "pull_request", "opened", pr_payload("o/r", 1))
    assert dead.claim_delivery().delivery_id == "d1"
    assert alive.claim_delivery().delivery_id == "d1"
    # The replica that lost the lease cannot finish the delivery over the new holder.
    assert not dead.finish_delivery("d1", "failed", "late")
    assert alive.finish_delivery("d1", "done")
    assert alive.delivery("d1").status == "done"


def test_held_leases_are_renewed_and_not_taken(open_db):
    a, b = BotStore(open_db(), lease=30.0), BotStore(open_db())
    a.record_delivery("d1", "pull_request", "opened", pr_payload("o/r", 1))
    a.enqueue("sync_checks", "sync:o/r#1", {"repository": "o/r", "number": 1})
    assert a.claim_delivery() is not None and len(a.claim_items()) == 1
    assert a.renew_leases() == 2
    assert b.claim_delivery() is None and b.claim_items() == []


def test_many_replicas_claiming_at_once_take_each_delivery_exactly_once(open_db):
    stores = [BotStore(open_db()) for _ in range(3)]
    for n in range(60):
        stores[0].record_delivery(f"d{n}", "pull_request", "synchronize", pr_payload("o/r", n % 12))
    taken: list[str] = []
    lock = threading.Lock()

    def work(store: BotStore) -> None:
        while (d := store.claim_delivery()) is not None or store.next_delivery() is not None:
            if d is None:
                continue
            with lock:
                taken.append(d.delivery_id)
            store.finish_delivery(d.delivery_id, "done")

    threads = [threading.Thread(target=work, args=(s,)) for s in stores for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(taken) == sorted(f"d{n}" for n in range(60))
    # Each PR's deliveries were taken in the order they arrived.
    for pr in range(12):
        mine = [d for d in taken if int(d[1:]) % 12 == pr]
        assert mine == sorted(mine, key=lambda d: int(d[1:]))


def test_outbox_keeps_one_pending_item_per_key_and_a_reply_once(db):
    store = BotStore(db)
    for _ in range(7):  # past psycopg's prepare threshold: the statement is then prepared
        with db.transaction():  # as a delivery's effects commit together
            assert store.enqueue("sync_checks", "sync:o/r#1", {"repository": "o/r", "number": 1})
            assert store.enqueue("status_comment", "status:o/r#1", {"repository": "o/r", "number": 1})
    assert [(i.idem_key, i.version) for i in store.outbox("pending")] == [("sync:o/r#1", 7), ("status:o/r#1", 7)]
    assert store.enqueue("comment", "comment:d1", {"repository": "o/r", "number": 1, "body": "hi"}, once=True)
    assert not store.enqueue("comment", "comment:d1", {"repository": "o/r", "number": 1, "body": "hi"}, once=True)
    assert len(store.outbox("pending")) == 3


def test_one_sender_per_pull_request_and_a_change_during_a_send_is_sent_again(open_db):
    a, b = BotStore(open_db()), BotStore(open_db())
    a.enqueue("sync_checks", "sync:o/r#1", {"repository": "o/r", "number": 1})
    a.enqueue("status_comment", "status:o/r#1", {"repository": "o/r", "number": 1})
    a.enqueue("sync_checks", "sync:o/r#2", {"repository": "o/r", "number": 2})
    mine = a.claim_items()
    assert [i.idem_key for i in mine] == ["sync:o/r#1", "sync:o/r#2"]
    assert b.claim_items() == []  # PR 1 has a sender; PR 2's only item is held
    a.enqueue("sync_checks", "sync:o/r#1", {"repository": "o/r", "number": 1})  # changed mid-send
    a.item_sent(mine[0])
    a.item_sent(mine[1])
    again = b.claim_items()
    assert [i.idem_key for i in again] == ["sync:o/r#1"] and again[0].attempts == 1
    b.item_sent(again[0])
    assert [i.idem_key for i in b.claim_items()] == ["status:o/r#1"]


def test_rate_limit_postpones_everything_pending(db):
    store = BotStore(db)
    store.enqueue("sync_checks", "sync:o/r#1", {"repository": "o/r", "number": 1})
    store.postpone_all(4_000_000_000.0)
    assert store.claim_items() == [] and store.next_outbox_time() == 4_000_000_000.0


def test_check_runs_installations_and_comments_ignore_repository_case(db):
    store = BotStore(db)
    store.save_check_run(CheckRunRecord("Org/Repo", "abc", "Agent OS", 12_345_678_901, ["s1"], "completed", "h"))
    store.save_check_run(CheckRunRecord("Org/Repo", "abc", "Agent OS", 12_345_678_902, ["s1"], "completed", "h2"))
    assert store.check_run("org/repo", "abc", "Agent OS").check_run_id == 12_345_678_902
    assert store.check_run_by_id(12_345_678_902).body_hash == "h2"
    store.remember_installation("Org/Repo", 7)
    store.remember_installation("Org/Repo", 8)
    assert store.installation_for("ORG/REPO") == 8
    store.save_status_comment("Org/Repo", 3, 99)
    assert store.status_comment("org/repo", 3) == 99


def test_replicas_starting_together_migrate_once(open_db, db_location):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            barrier.wait()
            BotStore(open_db())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert Database.open(db_location).version("bot") == len(MIGRATIONS)


def test_a_database_from_the_previous_release_opens_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite.connect(path)
    conn.execute("CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,"
                 " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
                 " PRIMARY KEY (component, version))")
    for statement in MIGRATIONS[0].split(";"):
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations (component, version) VALUES ('bot', 1)")
    conn.execute("INSERT INTO bot_deliveries (delivery_id, event, payload, received_at, updated_at)"
                 " VALUES ('old', 'ping', '{}', 1, 1)")
    conn.execute("INSERT INTO bot_outbox (kind, idem_key, payload, created_at, updated_at)"
                 " VALUES ('sync_checks', 'sync:o/r#1', '{\"repository\": \"o/r\", \"number\": 1}', 1, 1)")
    conn.close()
    store = BotStore(Database.open(path))
    assert store.db.version("bot") == len(MIGRATIONS)
    assert store.claim_delivery().delivery_id == "old"
    assert [i.idem_key for i in store.claim_items()] == ["sync:o/r#1"]


@pytest.mark.parametrize("location", ["postgresql://nobody@127.0.0.1:1/none", "/dev/null/x.db"])
def test_an_unreachable_database_is_refused_with_what_to_check(location):
    from agent_os.errors import StoreError

    with pytest.raises(StoreError) as info:
        Database.open(location)
    assert "AGENT_OS_DB" in info.value.hint


def test_health_reports_a_database_that_stopped_answering(postgres):
    import psycopg

    from bot.app import database_health

    url = postgres.create_database("gone")
    db = Database.open(url)
    assert database_health(db)["ok"] is True and database_health(db)["dialect"] == "postgresql"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres",
                         autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    health = database_health(db)
    assert health["ok"] is False and health["dialect"] == "postgresql" and health["error"]


def test_a_delivery_recorded_on_one_replica_wakes_the_others(postgres):
    from bot.store import WORK_CHANNEL

    url = postgres.create_database("wake")
    listener, sender = BotStore(Database.open(url)), BotStore(Database.open(url))
    woken, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=listener.db.listen, args=(WORK_CHANNEL, woken.set, stop))
    thread.start()
    try:
        # LISTEN takes effect once its connection is up: keep recording until it is heard.
        for n in range(50):
            sender.record_delivery(f"d{n}", "ping", None, {})
            if woken.wait(0.2):
                break
        assert woken.is_set()
    finally:
        stop.set()
        thread.join(5)


def test_deliveries_recorded_together_keep_their_order_and_each_gets_its_outcome(db):
    store = BotStore(db)
    store.record_delivery("done", "pull_request", "opened", pr_payload("o/r", 1))
    store.finish_delivery(store.claim_delivery().delivery_id, "done")
    store.record_delivery("failed", "pull_request", "edited", pr_payload("o/r", 2))
    store.finish_delivery(store.claim_delivery().delivery_id, "failed", "boom")

    def incoming(delivery_id: str, number: int) -> Incoming:
        return Incoming(delivery_id, "pull_request", "synchronize", f"o/r#{number}",
                        json.dumps(pr_payload("o/r", number)))

    outcomes = store.record_deliveries([incoming("z-first", 3), incoming("done", 1), incoming("a-second", 3),
                                        incoming("failed", 2), incoming("z-first", 3)])
    assert outcomes == ["new", "duplicate", "new", "retry", "queued"]
    # One PR's deliveries run in arrival order, whatever their ids.
    assert [store.claim_delivery().delivery_id for _ in range(2)] == ["failed", "z-first"]
    assert store.delivery("z-first").payload == pr_payload("o/r", 3)
    assert sorted(d.delivery_id for d in store.deliveries()) == ["a-second", "done", "failed", "z-first"]
