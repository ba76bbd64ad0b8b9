"""Every write to GitHub, made durable: queued in the store, sent by the worker, retried.

Three kinds of item:

- `sync_checks` {repository, number}: make the PR's check runs match the sessions' state
  *at send time* (so a burst of events costs one sync, and the latest state always wins);
- `status_comment` {repository, number}: create or edit the one status comment;
- `comment` {repository, number, body}: post a reply once (help, refusals).

Every create is exactly-once as GitHub sees it. An attempt is counted before it is sent, so
a retry knows an earlier attempt may have landed (a timeout, a connection lost after
sending, a crash between sending and recording) and looks first: check runs by name on the
commit, comments by the hidden marker carrying the outbox key (`checks.marker`).

Retries back off exponentially on 5xx, timeouts and rate limits, honouring `Retry-After`
and `x-ratelimit-reset`. Check runs are idempotent across restarts: we update the run we
recorded; if a crash came between GitHub creating a run and our recording it, the next
attempt finds it by name on the commit instead of making a second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent_os.engine import Engine
from agent_os.errors import AgentOSError
from agent_os.views import SessionState

from . import checks
from .github import GitHubApp, GitHubCallError
from .github_errors import retry_time
from .notes import PullRequestNotes
from .settings import Settings
from .store import BotStore, CheckRunRecord, OutboxItem

log = logging.getLogger(__name__)


def sync_key(repository: str, number: int) -> str:
    return f"sync:{repository.lower()}#{number}"


def queue_session_syncs(store: BotStore, engine: Engine, session_id: str) -> None:
    """Queue a check-run sync for every PR linked to the session (in the caller's
    transaction, if any: a session change and the updates it calls for commit together)."""
    try:
        prs = engine.state(session_id).pull_requests
    except AgentOSError:
        return
    for pr in prs:
        queue_sync(store, pr.repository, pr.number)


def queue_sync(store: BotStore, repository: str, number: int) -> None:
    """Queue bringing the PR's check runs up to date (one pending item per PR)."""
    store.enqueue("sync_checks", sync_key(repository, number), {"repository": repository, "number": number})


@dataclass
class Outbox:
    """Queues writes and sends the due ones."""

    store: BotStore
    engine: Engine
    github: GitHubApp
    settings: Settings
    on_sent: Callable[[str, bool], None] | None = None  # (kind, ok) for metrics
    paused_until: float = 0.0  # a rate limit's end: nothing is sent before it

    # queueing ----------------------------------------------------------------------------

    def sync_pull_request(self, repository: str, number: int) -> None:
        """Ask for the PR's check runs to be brought up to date."""
        queue_sync(self.store, repository, number)

    def sync_session(self, session_id: str) -> None:
        """Ask for every PR linked to the session to be brought up to date."""
        queue_session_syncs(self.store, self.engine, session_id)

    def update_status_comment(self, repository: str, number: int) -> None:
        self.store.enqueue("status_comment", f"status:{repository.lower()}#{number}",
                           {"repository": repository, "number": number})

    def reply(self, repository: str, number: int, body: str, *, key: str) -> None:
        """Post `body` on the PR once per `key` (a delivery id), however often it is retried."""
        self.store.enqueue("comment", f"comment:{key}",
                           {"repository": repository, "number": number, "body": body}, once=True)

    # sending -------------------------------------------------------------------------------

    def send_due(self, limit: int = 20) -> int:
        """Send what is due; returns how many items were attempted."""
        if time.time() < self.paused_until:
            # Still rate limited: writes queued since the limit wait for its end too.
            self.store.postpone_all(self.paused_until)
            return 0
        items = self.store.claim_items(limit)  # leased to this replica; counted as an attempt
        for item in items:
            try:
                self._send(item)
            except GitHubCallError as exc:
                retry_at = self._failed(item, exc)
                if exc.rate_limited and retry_at is not None:
                    # A rate limit covers the installation: stop sending until it lifts.
                    self.paused_until = max(self.paused_until, retry_at)
                    self.store.postpone_all(retry_at)
                    break
            except AgentOSError as exc:
                log.warning("outbox item %s dropped: %s", item.idem_key, exc)
                self.store.item_failed(item, str(exc), None)
                self._count(item.kind, False)
            else:
                self.store.item_sent(item)
                self._count(item.kind, True)
        return len(items)

    def _count(self, kind: str, ok: bool) -> None:
        if self.on_sent is not None:
            self.on_sent(kind, ok)

    def _failed(self, item: OutboxItem, exc: GitHubCallError) -> float | None:
        """Schedule the retry (returned), or give up (None) when retrying cannot help."""
        attempts = item.attempts + 1
        if not exc.transient or attempts >= self.settings.max_attempts:
            log.error("giving up on %s after %d attempt(s): %s", item.idem_key, attempts, exc)
            self.store.item_failed(item, str(exc), None)
            self._count(item.kind, False)
            return None
        retry_at = retry_time(exc, attempts, base=self.settings.backoff_base, cap=self.settings.backoff_max)
        log.warning("%s failed (%s); retrying in %.1fs", item.idem_key, exc, retry_at - time.time())
        self.store.item_failed(item, str(exc), retry_at)
        return retry_at

    def _send(self, item: OutboxItem) -> None:
        p = item.payload
        repo, number = p["repository"], int(p["number"])
        installation = self.installation_for(repo)
        if item.kind == "sync_checks":
            self._sync_checks(installation, repo, number, retried=item.attempts > 0, unlinked=p.get("unlinked"))
        elif item.kind == "status_comment":
            self._status_comment(installation, repo, number, retried=item.attempts > 0)
        elif item.kind == "comment":
            self._comment(installation, repo, number, p["body"], key=item.idem_key, retried=item.attempts > 0)
        else:
            raise GitHubCallError(f"unknown outbox item kind {item.kind!r}")

    def installation_for(self, repository: str) -> int:
        """The App's installation on `repository`: remembered from webhooks, else asked."""
        known = self.store.installation_for(repository)
        if known is not None:
            return known
        data = self.github.app_call("GET", f"/repos/{repository}/installation")
        installation = int(data["id"])
        self.store.remember_installation(repository, installation)
        return installation

    def sessions_of(self, repository: str, number: int) -> list[SessionState]:
        return [self.engine.state(sid) for sid in self.engine.sessions_for_pull_request(repository, number)]

    def _head_sha(self, installation: int, repo: str, number: int, sessions: list[SessionState]) -> str:
        for s in sessions:
            for pr in s.pull_requests:
                if pr.repository.lower() == repo.lower() and pr.number == number and pr.head_sha:
                    return pr.head_sha
        # Linked by the MCP tool before any webhook told us the head: ask GitHub.
        pull = self.github.call(installation, "GET", f"/repos/{repo}/pulls/{number}")
        return pull["head"]["sha"]

    def _sync_checks(self, installation: int, repo: str, number: int, *, retried: bool,
                     unlinked: dict[str, Any] | None = None) -> None:
        sessions = self.sessions_of(repo, number)
        if not sessions:
            if unlinked:  # no session: the overall check alone, so a required check never waits
                from .unlinked import unlinked_check

                spec = unlinked_check(list(unlinked.get("required_by") or []), public_url=self.settings.public_url)
                self._put_check(installation, repo, unlinked["head_sha"], spec, retried=retried)
            return
        head = self._head_sha(installation, repo, number, sessions)
        notes = PullRequestNotes(self.store.db).get(repo, number)
        for spec in checks.checks_for(sessions, public_url=self.settings.public_url, notes=notes):
            self._put_check(installation, repo, head, spec, retried=retried)

    def _put_check(self, installation: int, repo: str, head: str, spec: checks.CheckSpec, *,
                   retried: bool) -> None:
        digest = spec.digest()
        rec = self.store.check_run(repo, head, spec.name)
        if rec is not None and rec.body_hash == digest:
            return
        if rec is None and retried:
            rec = self._find_existing(installation, repo, head, spec.name)
        body = spec.body()
        if rec is None:
            run = self.github.call(installation, "POST", f"/repos/{repo}/check-runs",
                                   json={**body, "head_sha": head})
            run_id = int(run["id"])
        else:
            self.github.call(installation, "PATCH", f"/repos/{repo}/check-runs/{rec.check_run_id}", json=body)
            run_id = rec.check_run_id
        self.store.save_check_run(CheckRunRecord(repo, head, spec.name, run_id, spec.session_ids,
                                                 spec.status, digest))

    def _find_existing(self, installation: int, repo: str, head: str, name: str) -> CheckRunRecord | None:
        data = self.github.call(installation, "GET", f"/repos/{repo}/commits/{head}/check-runs",
                                params={"check_name": name, "filter": "latest"})
        for run in (data or {}).get("check_runs", []):
            app = run.get("app") or {}
            if app.get("id") == self.settings.app_id:
                return CheckRunRecord(repo, head, name, int(run["id"]), [], run.get("status", ""), None)
        return None

    def _status_comment(self, installation: int, repo: str, number: int, *, retried: bool) -> None:
        body = checks.status_comment(self.sessions_of(repo, number), public_url=self.settings.public_url)
        comment_id = self.store.status_comment(repo, number)
        if comment_id is None and retried:
            # A crash may have come between GitHub posting it and our recording it.
            comment_id = self._find_status_comment(installation, repo, number)
        if comment_id is not None:
            try:
                self.github.call(installation, "PATCH", f"/repos/{repo}/issues/comments/{comment_id}",
                                 json={"body": body})
                return
            except GitHubCallError as exc:
                if exc.status_code != 404:  # deleted by someone: post a new one
                    raise
        created = self.github.call(installation, "POST", f"/repos/{repo}/issues/{number}/comments",
                                   json={"body": body})
        self.store.save_status_comment(repo, number, int(created["id"]))

    def _comment(self, installation: int, repo: str, number: int, body: str, *, key: str, retried: bool) -> None:
        """Post a reply once. It carries its key as a marker: after an attempt whose outcome is
        unknown (a timeout, a lost connection, a crash before we recorded it), the retry looks
        for the marker before posting again."""
        tag = checks.marker(key)
        if retried and self._find_comment(installation, repo, number, tag) is not None:
            return
        self.github.call(installation, "POST", f"/repos/{repo}/issues/{number}/comments",
                         json={"body": f"{body.rstrip()}\n\n{tag}\n"})

    def _find_status_comment(self, installation: int, repo: str, number: int) -> int | None:
        found = self._find_comment(installation, repo, number, checks.MARKER)
        if found is not None:
            self.store.save_status_comment(repo, number, found)
        return found

    def _find_comment(self, installation: int, repo: str, number: int, tag: str) -> int | None:
        """The id of the bot's own comment on the PR carrying `tag`, if GitHub has one."""
        for comment in self.github.paginate(installation, f"/repos/{repo}/issues/{number}/comments"):
            user = (comment.get("user") or {}).get("login", "")
            if user.lower() == self.settings.bot_login.lower() and tag in (comment.get("body") or ""):
                return int(comment["id"])
        return None
