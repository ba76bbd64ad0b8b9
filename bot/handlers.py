"""What each webhook event means for the sessions, and what the bot writes back.

Handlers run in the worker, never in the request: they may read from GitHub (the PR's
files, the base branch's config, a commenter's permission) and a failure there fails the
delivery, which is retried. Writes to GitHub go through the outbox.

Linking, chosen explicitly: a PR links every session its body names
(`Agent-OS-Session: <id>`) and every session whose spec directory it adds or edits; a
session may be linked to several PRs (each shows its checks). Links are never removed by
an edit of the body: unlinking silently would hide a gate.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from agent_os.engine import Engine
from agent_os.errors import AgentOSError
from agent_os.project import AGENT_OS_DIR, GatePolicyConfig
from agent_os.views import ReviewCommentInput, ReviewInput

from . import checks, unlinked
from .events import (
    CheckRun,
    Event,
    Issue,
    IssueComment,
    PullRequest,
    ReviewComment,
    Thread,
)
from .github import GitHubApp, GitHubCallError
from .outbox import Outbox
from .repo_config import read_config
from .settings import Settings
from .store import BotStore

log = logging.getLogger(__name__)

SESSION_LINE = re.compile(r"^\s*Agent-OS-Session:\s*(ses_[a-z0-9]{6,32})\s*$", re.MULTILINE | re.IGNORECASE)
SPEC_PATH = re.compile(rf"^{re.escape(AGENT_OS_DIR)}/specs/([^/]+)/")
COMMAND = re.compile(r"^\s*/agent-os(?=\s|$)(?:\s+(\S+))?", re.IGNORECASE)  # not /agent-osx
WRITE_ROLES = {"admin", "maintain", "write"}
REVIEW_STATES = {"APPROVED": "approved", "CHANGES_REQUESTED": "changes_requested",
                 "COMMENTED": "commented", "DISMISSED": "dismissed"}
PR_ACTIONS = {"opened", "reopened", "edited", "synchronize", "ready_for_review"}


def session_ids_in(body: str | None) -> list[str]:
    """Session ids named by `Agent-OS-Session:` lines of a PR body, in order."""
    return list(dict.fromkeys(m.lower() for m in SESSION_LINE.findall(body or "")))


def spec_dirs_in(paths: list[str]) -> list[str]:
    """Spec directories (`.agent-os/specs/<dir>`) that changed files live in."""
    dirs = [f"{AGENT_OS_DIR}/specs/{m.group(1)}" for p in paths if (m := SPEC_PATH.match(p))]
    return list(dict.fromkeys(dirs))


def parse_command(body: str | None) -> str | None:
    """The `/agent-os` command word of a comment ("" for a bare `/agent-os`), or None."""
    match = COMMAND.match(body or "")
    if match is None:
        return None
    return (match.group(1) or "").lower()


def review_input(raw: dict) -> ReviewInput | None:
    """A review from a webhook or the REST list, as the engine records it (None: not a verdict,
    e.g. a pending review)."""
    state = REVIEW_STATES.get(str(raw.get("state", "")).upper())
    user = raw.get("user") or {}
    if state is None or not isinstance(raw.get("id"), int):
        return None
    return ReviewInput(reviewer=user.get("login") or "ghost", state=state, review_id=raw["id"],
                       commit_id=raw.get("commit_id"), is_bot=user.get("type") == "Bot")


class PermanentError(Exception):
    """A delivery that cannot succeed however often it is retried (malformed payload)."""


@dataclass
class Handlers:
    """Event handlers over one engine, GitHub App, store and outbox."""

    engine: Engine
    github: GitHubApp
    store: BotStore
    outbox: Outbox
    settings: Settings

    def handle(self, event: Event) -> str:
        """Process one delivery; returns what was done, for logs. Raises to fail it."""
        env = event.envelope
        sender = env.sender.login if env.sender else ""
        if sender.lower() == self.settings.bot_login.lower():
            return "ignored: sent by this app"
        if env.repo and env.installation_id:
            self.store.remember_installation(env.repo, env.installation_id)
        handler: Callable[[Event], str] | None = getattr(self, f"on_{event.name}", None)
        if handler is None:
            return f"ignored: {event.name} is not used"
        try:
            return handler(event)
        except ValidationError as exc:
            raise PermanentError(f"{event.name} payload lacks fields we need: {exc.errors()[0]['loc']}") from None

    # pull requests ------------------------------------------------------------------------

    def on_pull_request(self, event: Event) -> str:
        if event.action not in PR_ACTIONS:
            return f"ignored: pull_request.{event.action}"
        repo, pr = self._repo(event), event.part(PullRequest, "pull_request")
        linked = set(self.engine.sessions_for_pull_request(repo, pr.number))
        wanted: dict[str, str] = {}
        for sid in session_ids_in(pr.body):
            wanted[sid] = "pr_body"
        changed: list[str] | None = None
        if event.action in ("opened", "reopened", "synchronize"):
            changed = self._changed_files(repo, pr.number)
            for spec_dir in spec_dirs_in(changed):
                sid = self.engine.session_for_spec_dir(spec_dir)
                if sid:
                    wanted.setdefault(sid, "spec_files")
        newly: set[str] = set()
        for sid, source in wanted.items():
            try:
                self.engine.link_pull_request(sid, repo, pr.number, author=pr.user.login or None,
                                              head_sha=pr.head.sha or None, source=source)
                if sid not in linked:
                    newly.add(sid)
                linked.add(sid)
            except AgentOSError as exc:  # an id from another project, or mistyped
                log.info("PR %s#%d names %s, which is not linked: %s", repo, pr.number, sid, exc.message)
        if not linked:
            return unlinked.queue_unlinked_check(self, repo, pr, changed)
        for sid in linked:
            if pr.head.sha:
                self.engine.link_pull_request(sid, repo, pr.number, head_sha=pr.head.sha, source="webhook")
                self.engine.set_head(sid, pr.head.sha)
        self._apply_gate_policy(repo, pr.base.ref, linked)
        if newly:
            self._backfill_reviews(repo, pr.number, newly)
        self.outbox.sync_pull_request(repo, pr.number)
        if self.store.status_comment(repo, pr.number) is not None:
            self.outbox.update_status_comment(repo, pr.number)
        return f"linked {sorted(linked)}"

    def _changed_files(self, repo: str, number: int) -> list[str]:
        inst = self._installation(repo)
        return [f["filename"] for f in self.github.paginate(inst, f"/repos/{repo}/pulls/{number}/files", limit=3000)]

    def gate_policy(self, repo: str, base_ref: str) -> GatePolicyConfig | None:
        """The team's gate policy from the PR's base branch (a PR cannot weaken its own gate)."""
        config = read_config(self.github, self._installation(repo), repo, base_ref)
        if config is None:
            return None
        policy = config.gates
        if policy.required_teams:
            policy = policy.model_copy(update={"team_members": {
                team: self._team_members(repo, team) for team in policy.required_teams}})
        return policy

    def _team_members(self, repo: str, team: str) -> list[str]:
        org, slug = team.split("/", 1)
        try:
            members = self.github.paginate(self._installation(repo), f"/orgs/{org}/teams/{slug}/members")
        except GitHubCallError as exc:
            if exc.status_code != 404:
                raise
            # Unknown, or invisible to the App: nobody's approval can stand for this team.
            log.warning("team %s not found (or the App lacks Members: read)", team)
            return []
        return [m["login"] for m in members if isinstance(m, dict) and "login" in m]

    def _apply_gate_policy(self, repo: str, base_ref: str, session_ids: set[str]) -> None:
        policy = self.gate_policy(repo, base_ref)
        for sid in session_ids:
            self.engine.set_gate_policy(sid, policy)

    # reviews ------------------------------------------------------------------------------

    def on_pull_request_review(self, event: Event) -> str:
        if event.action not in ("submitted", "edited", "dismissed"):
            return f"ignored: pull_request_review.{event.action}"
        repo, number = self._pull(event)
        raw = event.payload.get("review") or {}
        review = review_input({**raw, "state": "dismissed"} if event.action == "dismissed" else raw)
        if review is None:
            return f"ignored: review state {raw.get('state')!r}"
        sessions = self.engine.sessions_for_pull_request(repo, number)
        for sid in sessions:
            self.engine.record_review(sid, review)
        if sessions:
            self.outbox.sync_pull_request(repo, number)
        return f"review {review.state} recorded on {len(sessions)} session(s)"

    def _backfill_reviews(self, repo: str, number: int, session_ids: set[str]) -> None:
        """Record the PR's reviews that came before the link (or while we were down).

        Reviews are counted from when we learn of them, so one that predates the phase's
        gate still does not approve it; one that arrives again by webhook is not doubled.
        """
        for raw in self.github.paginate(self._installation(repo), f"/repos/{repo}/pulls/{number}/reviews"):
            review = review_input(raw)
            if review is None:
                continue
            for sid in session_ids:
                self.engine.record_review(sid, review)

    def on_pull_request_review_comment(self, event: Event) -> str:
        if event.action not in ("created", "edited", "deleted"):
            return f"ignored: pull_request_review_comment.{event.action}"
        repo, number = self._pull(event)
        comment = event.part(ReviewComment, "comment")
        recorded = self._record_comments(repo, number, [comment], deleted=event.action == "deleted")
        if recorded:
            self.outbox.sync_pull_request(repo, number)
        return f"comment recorded on {recorded} session(s)"

    def on_pull_request_review_thread(self, event: Event) -> str:
        if event.action not in ("resolved", "unresolved"):
            return f"ignored: pull_request_review_thread.{event.action}"
        repo, number = self._pull(event)
        thread = event.part(Thread, "thread")
        self._record_comments(repo, number, thread.comments, deleted=False)
        ids = [c.id for c in thread.comments]
        touched = sum(self.engine.set_thread_resolved(sid, thread.node_id, event.action == "resolved", ids)
                      for sid in self.engine.sessions_for_pull_request(repo, number))
        if touched:
            self.outbox.sync_pull_request(repo, number)
        return f"thread {event.action} on {touched} session(s)"

    def _record_comments(self, repo: str, number: int, comments: list[ReviewComment], *, deleted: bool) -> int:
        """Offer each comment to every session on the PR; the engine keeps those on its spec files."""
        sessions = self.engine.sessions_for_pull_request(repo, number)
        return sum(
            self.engine.record_review_comment(sid, ReviewCommentInput(
                comment_id=c.id, path=c.path, line=c.line or c.original_line, body=c.body,
                author=c.user.login if c.user else "ghost", url=c.html_url,
                state="deleted" if deleted else "open", in_reply_to=c.in_reply_to_id))
            for c in comments for sid in sessions)

    # commands -----------------------------------------------------------------------------

    def on_issue_comment(self, event: Event) -> str:
        if event.action != "created":
            return f"ignored: issue_comment.{event.action}"
        issue = event.part(Issue, "issue")
        comment = event.part(IssueComment, "comment")
        command = parse_command(comment.body)
        if issue.pull_request is None or command is None:
            return "ignored: not a command on a pull request"
        via = comment.performed_via_github_app
        user = comment.user
        if (via and via.id == self.settings.app_id) or (user and user.type == "Bot"):
            return "ignored: a bot's comment"
        repo, number = self._repo(event), issue.number
        login = user.login if user else ""
        if not self._can_write(repo, login):
            self.outbox.reply(repo, number, f"@{login} Sorry, only people with write access to this "
                              "repository can run Agent OS commands.", key=event.delivery_id)
            return f"refused {command!r} from {login}"
        if command == "status":
            self.outbox.update_status_comment(repo, number)
        elif command == "refresh":
            self.refresh(repo, number)
            if self.store.status_comment(repo, number) is not None:
                self.outbox.update_status_comment(repo, number)
        else:
            prefix = "" if command in ("help", "") else f"Unknown command `{command[:40]}`.\n\n"
            self.outbox.reply(repo, number, prefix + checks.HELP, key=event.delivery_id)
        return f"command {command!r} from {login}"

    def _can_write(self, repo: str, login: str) -> bool:
        if not login:
            return False
        data = self.github.get_or_none(self._installation(repo), f"/repos/{repo}/collaborators/{login}/permission")
        if not isinstance(data, dict):
            return False
        return data.get("permission") in ("admin", "write") or data.get("role_name") in WRITE_ROLES

    def refresh(self, repo: str, number: int) -> None:
        """Re-read the PR (head, base config) and re-post every check run."""
        sessions = set(self.engine.sessions_for_pull_request(repo, number))
        if not sessions:
            return
        pull = self.github.call(self._installation(repo), "GET", f"/repos/{repo}/pulls/{number}")
        head = pull["head"]["sha"]
        for sid in sessions:
            self.engine.link_pull_request(sid, repo, number, head_sha=head, source="webhook")
            self.engine.set_head(sid, head)
        self._apply_gate_policy(repo, pull["base"]["ref"], sessions)
        self._backfill_reviews(repo, number, sessions)
        self.store.forget_check_digests(repo, head)
        self.outbox.sync_pull_request(repo, number)

    # check runs ---------------------------------------------------------------------------

    def on_check_run(self, event: Event) -> str:
        if event.action not in ("rerequested", "requested_action"):
            return f"ignored: check_run.{event.action}"
        run = event.part(CheckRun, "check_run")
        if event.action == "requested_action":
            identifier = (event.payload.get("requested_action") or {}).get("identifier")
            if identifier != checks.RECHECK:
                return f"ignored: action {identifier!r}"
        if run.app is not None and run.app.id is not None and run.app.id != self.settings.app_id:
            return "ignored: another app's check run"
        repo = self._repo(event)
        # Our own records say which sessions a run shows; the payload's pull_requests list
        # is empty for PRs from forks.
        rec = self.store.check_run_by_id(run.id)
        session_ids = rec.session_ids if rec else [
            part.split(":")[0] for part in (run.external_id or "").split(",") if part.startswith("ses_")]
        numbers: set[int] = set()
        for sid in session_ids:
            try:
                prs = self.engine.state(sid).pull_requests
            except AgentOSError:
                continue
            numbers.update(p.number for p in prs if p.repository.lower() == repo.lower())
        for number in sorted(numbers):
            self.refresh(repo, number)
        return f"re-checked PR(s) {sorted(numbers)}"

    # installations ------------------------------------------------------------------------

    def on_installation(self, event: Event) -> str:
        return self._remember_repos(event, "repositories")

    def on_installation_repositories(self, event: Event) -> str:
        return self._remember_repos(event, "repositories_added")

    def _remember_repos(self, event: Event, key: str) -> str:
        inst = event.envelope.installation_id
        repos = event.payload.get(key) or []
        if inst is None or event.action in ("deleted", "suspend"):
            return f"noted installation.{event.action}"
        for r in repos:
            if isinstance(r, dict) and isinstance(r.get("full_name"), str):
                self.store.remember_installation(r["full_name"], inst)
        return f"installation {inst} on {len(repos)} repositories"

    def on_ping(self, event: Event) -> str:
        return "pong"

    # helpers ------------------------------------------------------------------------------

    def _pull(self, event: Event) -> tuple[str, int]:
        """The repository and pull request number an event is about."""
        return self._repo(event), event.part(PullRequest, "pull_request").number

    def _repo(self, event: Event) -> str:
        repo = event.envelope.repo
        if not repo:
            raise PermanentError(f"{event.name} delivery has no repository")
        return repo

    def _installation(self, repo: str) -> int:
        return self.outbox.installation_for(repo)


__all__ = ["GitHubCallError", "Handlers", "PermanentError", "parse_command", "session_ids_in", "spec_dirs_in"]
