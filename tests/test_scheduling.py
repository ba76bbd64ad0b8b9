"""The parallel runs' scheduler: whatever the workers' speeds, the conformance test runs once,
last on its worker, and only when every other test has been handed out."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from scheduling import CONFORMANCE, ConformanceLast


class Config:
    """What the scheduler reads of pytest's config: the workers to start."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def getvalue(self, name: str) -> list[str]:
        assert name == "tx"
        return [f"{self.workers}*popen"]


class Worker:
    """A worker as the scheduler drives it: a queue it runs from the front, and steals it
    answers by giving back what it has not started."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.gateway = SimpleNamespace(id=name)
        self.queue: list[int] = []
        self.ran: list[int] = []
        self.shutting_down = False
        self.steal: list[int] | None = None

    def send_runtest_some(self, indices: list[int]) -> None:
        assert not self.shutting_down, f"{self.name} was given tests after it was told to stop"
        self.queue += indices

    def send_steal(self, indices: list[int]) -> None:
        self.steal = indices

    def shutdown(self) -> None:
        self.shutting_down = True


def run(tests: list[str], workers: int, seed: int) -> list[Worker]:
    rng = random.Random(seed)
    sched = ConformanceLast(Config(workers))
    nodes = [Worker(f"gw{i}") for i in range(workers)]
    for node in nodes:
        sched.add_node(node)
        sched.add_node_collection(node, tests)
    sched.schedule()
    while any(node.queue for node in nodes):
        node = rng.choice([n for n in nodes if n.queue or n.steal is not None])
        if node.steal is not None:  # the first queued test is running: it is not given back
            given = [i for i in node.steal if i in node.queue[1:]]
            node.queue = [i for i in node.queue if i not in given]
            node.steal = None
            sched.remove_pending_tests_from_node(node, given)
            continue
        done = node.queue.pop(0)
        node.ran.append(done)
        sched.mark_test_complete(node, done)
    assert sched.tests_finished
    return nodes


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("workers", [1, 3, 4])
def test_the_conformance_test_runs_once_and_last_on_its_worker(workers, seed):
    tests = [f"tests/t{n}.py::test_{n}" for n in range(60)]
    tests.insert(seed % 60, f"tests/standin_tests/test_conformance.py::{CONFORMANCE}")
    conformance = seed % 60
    nodes = run(tests, workers, seed)
    ran = sorted(i for node in nodes for i in node.ran)
    assert ran == list(range(len(tests)))
    (last_on,) = [node for node in nodes if conformance in node.ran]
    assert last_on.ran[-1] == conformance
    assert last_on.shutting_down


def test_the_conformance_test_alone_runs():
    nodes = run([f"tests/standin_tests/test_conformance.py::{CONFORMANCE}"], 3, 0)
    assert [node.ran for node in nodes if node.ran] == [[0]]


def test_a_run_without_the_conformance_test_is_plain_work_stealing():
    nodes = run([f"tests/t{n}.py::test_{n}" for n in range(30)], 3, 0)
    assert sorted(i for node in nodes for i in node.ran) == list(range(30))
