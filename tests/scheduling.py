"""How a parallel run hands tests to its workers: xdist's work stealing, with the stand-in
conformance test held back until nothing else is left to hand out.

Work stealing gives each worker a run of consecutive tests, so a module's shared fixtures
(a bot per module, the example payloads delivered once) are set up on one or two workers
instead of on every one: the fast loop took ~1.5 s less than with `--dist load` (four
workers, five alternated pairs: 45.2 against 46.7 s on average). But it may give a worker
more tests at any time, and the conformance test must be the last one its worker runs: it
checks the traffic every other test has recorded, waiting for the other workers to finish.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import WorkStealingScheduling
from xdist.scheduler.worksteal import MIN_PENDING

CONFORMANCE = "test_bot_and_stand_in_traffic_matches_githubs_description"


class ConformanceLast(WorkStealingScheduling):
    """`--dist worksteal`, but the conformance test goes out only when no other test is
    waiting or can be stolen, to a worker that is then told to stop: nothing runs after it."""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        self._held: int | None = None
        self._looked = False

    @property
    def tests_finished(self) -> bool:
        # The controller ends the run when this says so: not while the test is held back.
        return self._held is None and super().tests_finished

    def check_schedule(self) -> None:
        if self.collection is not None and not self._looked:
            self._looked = True
            last = [i for i, name in enumerate(self.collection) if name.endswith(f"::{CONFORMANCE}")]
            if last and last[0] in self.pending:
                self.pending.remove(last[0])
                self._held = last[0]
        if self._held is not None and self._nothing_else_to_hand_out():
            up = [node for node in self.node2pending if not node.shutting_down]
            idle = min(up, key=lambda node: len(self.node2pending[node]))
            self.pending.append(self._held)
            self._held = None
            self._send_tests(idle, 1)
        # Either there is other work, or every worker idle now (the conformance test's too,
        # once its other tests are done) is shut down here, as work stealing does.
        super().check_schedule()

    def _nothing_else_to_hand_out(self) -> bool:
        # What the base class checks before it shuts idle workers down: nothing pending, no
        # steal under way, a worker idle, and none with a queue long enough to steal from.
        queues = [pending for node, pending in self.node2pending.items() if not node.shutting_down]
        return (not self.pending and self.steal_requested_from_node is None and bool(queues)
                and min(map(len, queues)) < MIN_PENDING and max(map(len, queues)) <= MIN_PENDING)
