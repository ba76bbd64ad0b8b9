"""Group commit of webhook deliveries: many at once share a transaction, none is answered
before its own transaction committed, and a failed commit fails exactly its requests."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agent_os.db import Database
from bot.ingress import Ingress
from bot.payloads import Incoming
from bot.store import BotStore


class CountingStore(BotStore):
    """The real store, noting each batch it commits (and able to hold the first one back)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.batches: list[list[str]] = []
        self.committed: set[str] = set()
        self.hold_first = threading.Event()
        self.hold_first.set()
        self.fail = False

    def record_deliveries(self, items):
        self.hold_first.wait(10)
        if self.fail:
            raise RuntimeError("the database is gone")
        outcomes = super().record_deliveries(items)
        self.batches.append([i.delivery_id for i in items])
        self.committed.update(i.delivery_id for i in items)
        return outcomes


def ping(n: int) -> Incoming:
    return Incoming(f"d{n}", "ping", None, None, '{"zen": "Keep it logically awesome."}')


@pytest.fixture
def store(tmp_path) -> CountingStore:
    return CountingStore(Database.open(tmp_path / "db.sqlite"))


def test_deliveries_arriving_together_are_committed_together_and_answered_after_it(store):
    woken = []
    ingress = Ingress(store, lambda: woken.append(1))
    answered_before_commit = []

    async def receive(n: int) -> str:
        outcome = await ingress.record(ping(n))
        if f"d{n}" not in store.committed:
            answered_before_commit.append(n)
        return outcome

    async def burst() -> list[str]:
        store.hold_first.clear()  # the first commit waits until all 40 are in line
        tasks = [asyncio.create_task(receive(n)) for n in range(40)]
        await asyncio.sleep(0)
        store.hold_first.set()
        return await asyncio.gather(*tasks)

    outcomes = asyncio.run(burst())
    assert outcomes == ["new"] * 40
    assert answered_before_commit == []
    assert sum(len(b) for b in store.batches) == 40 and len(store.batches) <= 2
    assert sorted(d.delivery_id for d in store.deliveries()) == sorted(f"d{n}" for n in range(40))
    assert woken  # the worker was told


def test_a_redelivery_in_the_same_burst_is_recorded_once(store):
    ingress = Ingress(store, lambda: None)

    async def burst() -> list[str]:
        return await asyncio.gather(*(ingress.record(ping(n % 3)) for n in range(6)))

    outcomes = asyncio.run(burst())
    assert sorted(outcomes) == ["new"] * 3 + ["queued"] * 3
    assert len(store.deliveries()) == 3


def test_a_failed_commit_fails_the_requests_it_held_and_the_next_ones_are_recorded(store):
    ingress = Ingress(store, lambda: None)
    store.fail = True

    async def one(n: int) -> str:
        return await ingress.record(ping(n))

    with pytest.raises(RuntimeError, match="database is gone"):
        asyncio.run(one(1))
    assert store.deliveries() == []
    store.fail = False
    assert asyncio.run(one(2)) == "new"
    assert [d.delivery_id for d in store.deliveries()] == ["d2"]


def test_the_worker_waits_for_requests_in_flight_but_not_beyond_its_limit(store):
    ingress = Ingress(store, lambda: None)
    ingress.wait_quiet(5)  # nothing in flight: returns at once
    with ingress.arriving():
        released = threading.Event()
        waiter = threading.Thread(target=lambda: (ingress.wait_quiet(30), released.set()))
        waiter.start()
        assert not released.wait(0.2)  # still answering: the worker holds back
    assert released.wait(5)  # answered: the worker goes on
    waiter.join()
    with ingress.arriving():
        ingress.wait_quiet(0.01)  # bounded: a steady stream does not starve the worker
