"""The background worker: processes recorded deliveries, then sends due outbox items.

Work is claimed from the store with a lease, so several replicas can share one database:
a PR's deliveries are handled one at a time in the order GitHub sent them, whichever
replica takes them. The worker sleeps until woken (a new delivery, an engine change, a
PostgreSQL NOTIFY from another replica) or until the next retry is due; while it works a
heartbeat renews its leases. Stopping lets the item in hand finish; anything not done
stays in the store for the next start, or for another replica once the lease runs out.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager, nullcontext

from agent_os.errors import AgentOSError

from .events import Event
from .github import GitHubCallError
from .github_errors import retry_time
from .handlers import Handlers, PermanentError
from .ingress import Ingress
from .metrics import Metrics
from .outbox import Outbox
from .recovery import Recovery
from .settings import Settings
from .store import BotStore, Delivery

log = logging.getLogger(__name__)

ACK_PRIORITY_SECONDS = 0.1
"""How long the worker holds back, before each item, while webhooks are being acknowledged."""


class LeaseLost(Exception):
    """The delivery's lease passed to another replica before this one finished it."""


class Worker:
    """Drives deliveries and the outbox; `run_pending()` does one pass synchronously."""

    def __init__(self, store: BotStore, handlers: Handlers, outbox: Outbox, settings: Settings,
                 metrics: Metrics, recovery: Recovery | None = None) -> None:
        self.store, self.handlers, self.outbox = store, handlers, outbox
        self.settings, self.metrics, self.recovery = settings, metrics, recovery
        self._next_recovery: float | None = None
        self._reconcile_due = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_lock = threading.Lock()
        self._helpers: list[threading.Thread] = []
        self.idle = threading.Event()
        self.ingress: Ingress | None = None  # set by the Bot: acknowledging webhooks comes first

    def start(self) -> None:
        """Start the thread, first making failed deliveries with attempts left due again."""
        self.store.resume_failed_deliveries(self.settings.delivery_attempts)
        if self.recovery is not None and self.settings.recover_interval > 0:
            # Not at once: the server must be listening when GitHub redelivers.
            self._next_recovery = time.time() + self.settings.recover_delay
            self._reconcile_due = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="agent-os-bot-worker", daemon=True)
        self._thread.start()
        self._helpers = [threading.Thread(target=self._heartbeat, name="agent-os-bot-leases", daemon=True)]
        if self.store.db.is_postgres:  # other replicas' deliveries and changes wake us at once
            from .store import WORK_CHANNEL

            self._helpers.append(threading.Thread(
                target=self.store.db.listen, args=(WORK_CHANNEL, self.wake, self._stop),
                name="agent-os-bot-listen", daemon=True))
        for helper in self._helpers:
            helper.start()

    def _heartbeat(self) -> None:
        # Renew well before the lease runs out, so only a dead replica loses its work.
        while not self._stop.wait(max(0.2, self.store.lease / 3)):
            try:
                self.store.renew_leases()
            except Exception:
                log.exception("renewing leases failed")

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the item in hand and stop; the rest waits in the store."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return  # still finishing an item: leave it the stop flag
            self._thread = None
        for helper in self._helpers:
            helper.join(timeout)
        self._helpers = []
        # Stopped: `run_pending` and `drain` may drive the work synchronously again.
        self._stop.clear()

    def wake(self) -> None:
        """Look for work now."""
        self.idle.clear()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._recover_if_due()
            try:
                busy = self.run_pending()
            except Exception:  # the store itself failed: back off rather than spin
                log.exception("worker pass failed")
                busy = False
            if busy:
                continue
            self.idle.set()
            due = [t for t in (self.store.next_outbox_time(), self._next_recovery) if t is not None]
            wait = min(1.0, max(0.01, min(due) - time.time())) if due else 1.0
            self._wake.wait(wait)
            self._wake.clear()

    def _recover_if_due(self) -> None:
        """Ask GitHub for missed deliveries (and, first time, re-read linked PRs) when due."""
        if self.recovery is None or self._next_recovery is None or time.time() < self._next_recovery:
            return
        self._next_recovery = time.time() + self.settings.recover_interval
        try:
            self.recovery.recover_deliveries()
            if self._reconcile_due:
                self.recovery.reconcile_pull_requests()
                self._reconcile_due = False
        except GitHubCallError as exc:  # GitHub unreachable: the next pass tries again
            log.warning("missed-delivery recovery failed: %s", exc)
        except Exception:
            log.exception("missed-delivery recovery crashed")

    def run_pending(self) -> bool:
        """Process every due delivery, then send due outbox items. True if anything ran."""
        with self._pass_lock:
            ran = False
            while not self._stop.is_set():
                self._yield_to_acks()
                if (delivery := self.store.claim_delivery()) is None:
                    break
                self._process(delivery)
                ran = True
            if not self._stop.is_set():
                self._yield_to_acks()
                ran = bool(self.outbox.send_due()) or ran
            self.metrics.outbox_depth.set(self.store.pending_count())
            return ran

    def _yield_to_acks(self) -> None:
        # Webhooks being answered share this process's CPU (one interpreter lock) and, on
        # SQLite, its one connection: let them through first. Bounded, so a steady stream
        # of deliveries still gets processed.
        if self.ingress is not None:
            self.ingress.wait_quiet(ACK_PRIORITY_SECONDS)

    def _process(self, d: Delivery) -> None:
        event = Event(d.delivery_id, d.event, d.payload)
        try:
            with self._atomic():
                outcome = self.handlers.handle(event)
                if not self.store.finish_delivery(d.delivery_id, "done"):
                    raise LeaseLost(d.delivery_id)
        except LeaseLost:
            # Another replica took the delivery over (this one was too slow to renew):
            # everything it would have written is rolled back; that replica does it.
            log.warning("delivery %s: lease lost to another replica; its work was rolled back", d.delivery_id)
            return
        except GitHubCallError as exc:
            self.metrics.webhooks_failed.labels(d.event).inc()
            attempts = d.attempts + 1
            if exc.transient and attempts < self.settings.delivery_attempts:
                retry_at = retry_time(exc, attempts, base=self.settings.backoff_base, cap=self.settings.backoff_max)
                log.warning("delivery %s (%s) failed, retrying: %s", d.delivery_id, d.event, exc)
                self.store.finish_delivery(d.delivery_id, "received", str(exc), retry_at)
            else:
                log.error("delivery %s (%s) failed: %s", d.delivery_id, d.event, exc)
                self.store.finish_delivery(d.delivery_id, "failed", str(exc))
            return
        except (PermanentError, AgentOSError) as exc:
            self.metrics.webhooks_failed.labels(d.event).inc()
            log.error("delivery %s (%s) failed: %s", d.delivery_id, d.event, exc)
            self.store.finish_delivery(d.delivery_id, "failed", str(exc))
            return
        except Exception as exc:  # a bug: keep the delivery for redelivery after a fix
            self.metrics.webhooks_failed.labels(d.event).inc()
            log.exception("delivery %s (%s) crashed", d.delivery_id, d.event)
            self.store.finish_delivery(d.delivery_id, "failed", f"{type(exc).__name__}: {exc}")
            return
        self.metrics.webhooks_processed.labels(d.event).inc()
        log.info("delivery %s %s.%s: %s", d.delivery_id, d.event, event.action, outcome)

    def _atomic(self) -> AbstractContextManager[object]:
        """On PostgreSQL a delivery's effects (session changes, queued writes to GitHub) and its
        "done" commit together or not at all, so a replica dying mid-way leaves nothing half
        done for the next one to miss. SQLite keeps transactions short: one process holds
        its write lock, and the webhook endpoint must not wait behind GitHub calls."""
        return self.store.db.transaction() if self.store.db.is_postgres else nullcontext()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until nothing is due (for tests and the demo)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self._thread is None:
                self.run_pending()
            due_delivery = self.store.next_delivery() is not None
            due_items = bool(self.store.due_items(1))
            if not due_delivery and not due_items and not self._pass_lock.locked():
                return
            self.wake()
            time.sleep(0.02)
        raise TimeoutError("the bot still had work due after the timeout")
