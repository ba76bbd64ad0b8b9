"""Group commit for webhook deliveries: the ones that arrive together share one transaction.

Under a backlog (GitHub delivers concurrently) one durable insert per request makes the
requests queue behind each other on the database. Here the first delivery is written at
once; those arriving meanwhile wait and are written together in the next transaction, so
a burst costs a few commits instead of one per request. Each request is answered only
after the transaction holding its delivery committed: nothing is acknowledged before it
is recorded. One committer thread does the writing, whatever event loop the requests
come from (tests run several).

The worker asks `wait_quiet` before taking the next item: acknowledging comes first, and
while requests are being answered it leaves the CPU and the database to them (a bounded
wait, so the work still moves under a steady stream).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from .payloads import Incoming, Outcome
from .store import BotStore

log = logging.getLogger(__name__)


class Ingress:
    """Records deliveries for the webhook endpoint in batches; `wake` tells the worker."""

    def __init__(self, store: BotStore, wake: Callable[[], None]) -> None:
        self.store, self._wake = store, wake
        self._cond = threading.Condition()
        self._waiting: list[tuple[Incoming, asyncio.Future[Outcome]]] = []
        self._thread: threading.Thread | None = None
        self._busy = 0  # requests between arriving and being answered
        self._quiet = threading.Condition()

    async def record(self, item: Incoming) -> Outcome:
        """Record `item` durably (with whatever else is waiting); its outcome once committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        with self._cond:
            self._waiting.append((item, future))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._commit_loop, name="agent-os-bot-ingress", daemon=True)
                self._thread.start()
            self._cond.notify()
        return await future

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                if not self._waiting and not self._cond.wait_for(lambda: bool(self._waiting), timeout=30.0):
                    self._thread = None  # idle: the next request starts a fresh one
                    return
                batch, self._waiting = self._waiting, []
            try:
                outcomes: list[Outcome] | BaseException = self.store.record_deliveries([i for i, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to each request, which answers 5xx
                log.exception("recording %d deliveries failed", len(batch))
                outcomes = exc
            if not isinstance(outcomes, BaseException) and any(o in ("new", "retry") for o in outcomes):
                self._wake()
            for n, (_, future) in enumerate(batch):
                result = outcomes if isinstance(outcomes, BaseException) else outcomes[n]
                try:
                    future.get_loop().call_soon_threadsafe(_settle, future, result)
                except RuntimeError:  # that request's event loop has closed: nobody to answer
                    pass

    # the worker's side ---------------------------------------------------------------------

    def arriving(self) -> _Arrival:
        """Context for one request being answered (the worker holds back meanwhile)."""
        return _Arrival(self)

    def wait_quiet(self, limit: float) -> None:
        """Block while requests are being answered, at most `limit` seconds."""
        deadline = time.monotonic() + limit
        with self._quiet:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._quiet.wait(left)


class _Arrival:
    def __init__(self, ingress: Ingress) -> None:
        self.ingress = ingress

    def __enter__(self) -> None:
        with self.ingress._quiet:
            self.ingress._busy += 1

    def __exit__(self, *exc: object) -> None:
        with self.ingress._quiet:
            self.ingress._busy -= 1
            if not self.ingress._busy:
                self.ingress._quiet.notify_all()


def _settle(future: asyncio.Future[Outcome], result: Outcome | BaseException) -> None:
    if future.done():  # the request went away (client disconnected); its delivery is recorded
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
