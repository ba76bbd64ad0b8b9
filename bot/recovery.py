"""Deliveries GitHub could not make are asked for again; linked PRs are re-read after downtime.

GitHub does not retry a failed webhook delivery by itself: while the server is down (or
answered 5xx) events are simply missed. At start and then periodically the bot reads the
App's delivery log (`GET /app/hook/deliveries`, newest first, cursor-paginated) back to where
it stopped last time, and asks for redelivery (`POST /app/hook/deliveries/{id}/attempts`) of
every event none of whose attempts succeeded and that the store has never recorded. The
redelivery keeps the event's guid, so one that does arrive twice is still processed once.
https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries

After downtime the open PRs linked to active sessions are re-read too (head commit, gate
policy, review threads through GraphQL, reviews): a push, a review or a thread resolved or
reopened may have happened while nobody listened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .github import DeliveryAttempt, GitHubApp, GitHubCallError
from .handlers import Handlers
from .store import BotStore

log = logging.getLogger(__name__)

CURSOR = "delivery_log"
MAX_PAGES = 50  # 5,000 attempts: GitHub keeps three days of them


def missed(attempts: list[DeliveryAttempt], known: set[str]) -> list[DeliveryAttempt]:
    """The attempt to redeliver for each event that never got through and is not in `known`
    (the guids the store holds), oldest event first. Pure."""
    succeeded = {a.guid for a in attempts if a.ok}
    first: dict[str, int] = {}
    latest: dict[str, DeliveryAttempt] = {}
    for a in attempts:
        if a.guid in succeeded or a.guid in known:
            continue
        first[a.guid] = min(first.get(a.guid, a.id), a.id)
        if a.guid not in latest or a.id > latest[a.guid].id:
            latest[a.guid] = a
    return sorted(latest.values(), key=lambda a: first[a.guid])


@dataclass
class Recovery:
    """One pass over GitHub's delivery log, and the re-read of linked PRs."""

    github: GitHubApp
    store: BotStore
    handlers: Handlers

    def recover_deliveries(self) -> int:
        """Ask for redelivery of every missed event since the last pass; how many were asked for."""
        stop = int(self.store.cursor(CURSOR) or 0)
        seen: list[DeliveryAttempt] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page, cursor = self.github.delivery_attempts(cursor)
            seen += [a for a in page if a.id > stop]
            if cursor is None or any(a.id <= stop for a in page):
                break
        if not seen:
            return 0
        todo = missed(seen, {g for g in {a.guid for a in seen} if self.store.delivery(g) is not None})
        asked = 0
        for attempt in todo:
            try:
                self.github.redeliver(attempt.id)
                asked += 1
            except GitHubCallError as exc:
                # Leave the cursor where it was: the next pass sees this event again.
                log.warning("could not ask GitHub to redeliver %s (%s): %s", attempt.guid, attempt.event, exc)
                return asked
        self.store.set_cursor(CURSOR, str(max(a.id for a in seen)))
        if asked:
            log.info("asked GitHub to redeliver %d missed delivery(ies)", asked)
        return asked

    def reconcile_pull_requests(self) -> int:
        """Re-read every open PR linked to an active session; how many were re-read."""
        engine = self.handlers.engine
        prs = {(pr.repository, pr.number) for s in engine.list_sessions("active")
               for pr in engine.state(s.session_id).pull_requests}
        done = 0
        for repo, number in sorted(prs):
            try:
                self.handlers.reconcile(repo, number)
                done += 1
            except GitHubCallError as exc:
                log.warning("could not re-read %s#%d after downtime: %s", repo, number, exc)
        return done
