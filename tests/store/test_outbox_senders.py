"""Replicas racing for one pull request's outbox, on SQLite and PostgreSQL: never two
senders of one PR at once, and a PR's items sent oldest first."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from bot.store import BotStore

PRS = 6
ITEMS = ["sync_checks", "status_comment", "comment", "comment"]


def fill(store: BotStore) -> dict[int, list[int]]:
    """Four items for each PR, queued interleaved; returns each PR's item ids, oldest first."""
    for n, kind in enumerate(ITEMS):
        for pr in range(PRS):
            store.enqueue(kind, f"{kind}:{n}:o/r#{pr}", {"repository": "O/R", "number": pr, "body": "x"},
                          once=kind == "comment")
    ids: dict[int, list[int]] = defaultdict(list)
    for item in store.outbox("pending"):
        ids[item.payload["number"]].append(item.id)
    return ids


def test_replicas_racing_for_one_prs_items_never_send_them_at_once_and_keep_their_order(open_db):
    stores = [BotStore(open_db()) for _ in range(2)]
    expected = fill(stores[0])
    holder: dict[int, str] = {}  # PR -> which claimer holds one of its items now
    sent: dict[int, list[int]] = defaultdict(list)
    overlaps: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def claimer(name: str, store: BotStore, limit: int) -> None:
        start.wait()
        while store.pending_count():
            items = store.claim_items(limit)
            for item in items:
                pr = item.payload["number"]
                with lock:
                    if holder.get(pr) not in (None, name):
                        overlaps.append(f"PR {pr}: {name} took item {item.id} while {holder[pr]} held one")
                    holder[pr] = name
                    sent[pr].append(item.id)
            time.sleep(0.002)  # "sending": the others claim meanwhile
            for item in items:
                with lock:  # let go before the item is done, so the next claim is no false overlap
                    holder.pop(item.payload["number"], None)
                store.item_sent(item)
            if not items:
                time.sleep(0.001)

    # Two replicas, each with two sender threads; small claims so they race PR by PR.
    threads = [threading.Thread(target=claimer, args=(f"{r}{t}", stores[r], 1 + t))
               for r in range(2) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert overlaps == []
    assert dict(sent) == dict(expected)  # every item once, each PR's oldest first


def test_a_claim_waits_for_a_claim_of_the_same_pr_in_flight_and_then_lets_it_be(open_db):
    """The interleaving the PR lock is for: replica A (whose clock saw the PR's older item
    not yet due) has leased the newer one but not committed; replica B, a moment later,
    sees the older item due and the newer one free. B must wait for A and then see A's lease."""
    import sqlalchemy as sa

    from agent_os import dialects
    from bot.tables import outbox

    a_db, b = open_db(), BotStore(open_db())
    b.enqueue("sync_checks", "sync:o/r#1", {"repository": "O/R", "number": 1})
    b.enqueue("status_comment", "status:o/r#1", {"repository": "O/R", "number": 1})
    older, newer = (i.id for i in b.outbox("pending"))
    claimed: list[list[int]] = []
    with a_db.transaction() as conn:  # replica A, mid-claim
        dialects.serialize(conn, "o/r#1")
        conn.execute(outbox.update().where(outbox.c.id == newer).values(
            lease_owner="replica-a", lease_until=time.time() + 30, attempts=1))
        racer = threading.Thread(target=lambda: claimed.append([i.id for i in b.claim_items()]))
        racer.start()
        if a_db.is_postgres:  # until B waits on A (SQLite: B waits for the write lock anyway)
            for _ in range(500):
                waiting = conn.execute(sa.text("SELECT count(*) AS n FROM pg_stat_activity WHERE "
                                               "wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()
                if waiting or claimed:
                    break
                time.sleep(0.01)
    racer.join(30)
    assert claimed == [[]], f"B took {claimed} while A held item {newer} of the same PR"
    assert [i.id for i in b.outbox("pending")] == [older, newer]
