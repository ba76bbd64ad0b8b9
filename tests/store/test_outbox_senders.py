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
