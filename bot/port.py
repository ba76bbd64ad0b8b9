"""The narrow GitHub interface the handlers act through, and its live implementation.

Handlers decide; this acts. Reads go to GitHub now (a failure fails the delivery, which is
retried); writes are queued in the outbox, which sends them exactly once. Tests give the
handlers a recording fake of `GitHubPort` (tests/botfake.py) instead of two servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agent_os.files import FileSource
from agent_os.project import ProjectConfig

from .commit_files import CommitFiles, ObjectCache
from .github import GitHubApp
from .notes import PullRequestNotes
from .outbox import Outbox, sync_key
from .repo_config import read_config
from .store import BotStore
from .threads import MAX_PAGES, QUERY, ThreadState, parse_page


class GitHubPort(Protocol):
    """What the handlers read from GitHub and ask the outbox to write."""

    # reads (raise GitHubCallError)
    def changed_files(self, repo: str, number: int) -> list[str]: ...
    def config(self, repo: str, ref: str) -> ProjectConfig | None: ...
    def team_members(self, repo: str, org: str, slug: str) -> list[str]: ...
    def permission(self, repo: str, login: str) -> dict[str, Any] | None: ...
    def pull(self, repo: str, number: int) -> dict[str, Any]: ...
    def reviews(self, repo: str, number: int) -> list[dict[str, Any]]: ...
    def review_threads(self, repo: str, number: int) -> list[ThreadState]: ...
    def files_at(self, repo: str, sha: str) -> FileSource: ...
    def check_runs_at(self, repo: str, sha: str) -> list[dict[str, Any]]: ...

    # writes (queued)
    def sync_checks(self, repo: str, number: int) -> None: ...
    def sync_unlinked(self, repo: str, number: int, head_sha: str, required_by: list[str]) -> None: ...
    def update_status_comment(self, repo: str, number: int) -> None: ...
    def reply(self, repo: str, number: int, body: str, *, key: str) -> None: ...
    def recheck(self, repo: str, head_sha: str) -> None: ...
    def set_notes(self, repo: str, number: int, notes: list[str]) -> None: ...

    # what the bot remembers of its own writes and installations
    def has_status_comment(self, repo: str, number: int) -> bool: ...
    def check_run_sessions(self, check_run_id: int) -> list[str] | None: ...
    def remember_installation(self, repo: str, installation_id: int) -> None: ...


@dataclass
class LiveGitHub:
    """`GitHubPort` over the App's clients, the outbox and the bot's store."""

    github: GitHubApp
    outbox: Outbox
    store: BotStore
    objects: ObjectCache = field(default_factory=ObjectCache)  # git trees and blobs, by SHA

    def _inst(self, repo: str) -> int:
        return self.outbox.installation_for(repo)

    def changed_files(self, repo: str, number: int) -> list[str]:
        """Paths the PR changes (GitHub lists at most 3000)."""
        files = self.github.paginate(self._inst(repo), f"/repos/{repo}/pulls/{number}/files", limit=3000)
        return [f["filename"] for f in files]

    def config(self, repo: str, ref: str) -> ProjectConfig | None:
        """`.agent-os/config.yaml` at `ref` (None when absent or broken)."""
        return read_config(self.github, self._inst(repo), repo, ref)

    def team_members(self, repo: str, org: str, slug: str) -> list[str]:
        """Logins of the team's members (raises GitHubCallError 404 for an unknown team)."""
        members = self.github.paginate(self._inst(repo), f"/orgs/{org}/teams/{slug}/members")
        return [m["login"] for m in members if isinstance(m, dict) and "login" in m]

    def permission(self, repo: str, login: str) -> dict[str, Any] | None:
        """The user's permission on the repository (None: not a collaborator)."""
        data = self.github.get_or_none(self._inst(repo), f"/repos/{repo}/collaborators/{login}/permission")
        return data if isinstance(data, dict) else None

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        """The pull request as the REST API shows it."""
        return self.github.call(self._inst(repo), "GET", f"/repos/{repo}/pulls/{number}")

    def reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        """Every review of the PR, oldest first."""
        return self.github.paginate(self._inst(repo), f"/repos/{repo}/pulls/{number}/reviews")

    def review_threads(self, repo: str, number: int) -> list[ThreadState]:
        """The PR's review threads and whether each is resolved (GraphQL: REST has no thread state)."""
        owner, name = repo.split("/", 1)
        found: list[ThreadState] = []
        after: str | None = None
        for _ in range(MAX_PAGES):
            data = self.github.graphql(self._inst(repo), QUERY, {"owner": owner, "name": name, "number": number,
                                                                 "after": after})
            page, after = parse_page(data)
            found += page
            if after is None:
                break
        return found

    def files_at(self, repo: str, sha: str) -> FileSource:
        """The repository's files at commit `sha`, read through git trees and blobs (cached by SHA)."""
        return CommitFiles(lambda url: self.github.get_or_none(self._inst(repo), url), repo, sha, self.objects)

    def check_runs_at(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """The latest check run of each name on commit `sha`, every App's (CI's among them)."""
        return self.github.paginate(self._inst(repo), f"/repos/{repo}/commits/{sha}/check-runs",
                                    key="check_runs", limit=500)

    def sync_checks(self, repo: str, number: int) -> None:
        """Queue bringing the PR's check runs up to date."""
        self.outbox.sync_pull_request(repo, number)

    def sync_unlinked(self, repo: str, number: int, head_sha: str, required_by: list[str]) -> None:
        """Queue the overall check of a PR no session is linked to."""
        # The same outbox key as a linked PR's sync: a session linked meanwhile replaces this
        # item, and the sync then finds the session and posts its checks instead.
        self.store.enqueue("sync_checks", sync_key(repo, number), {
            "repository": repo, "number": number,
            "unlinked": {"head_sha": head_sha, "required_by": required_by}})

    def update_status_comment(self, repo: str, number: int) -> None:
        """Queue creating or editing the PR's status comment."""
        self.outbox.update_status_comment(repo, number)

    def reply(self, repo: str, number: int, body: str, *, key: str) -> None:
        """Queue a reply, posted once per `key`."""
        self.outbox.reply(repo, number, body, key=key)

    def recheck(self, repo: str, head_sha: str) -> None:
        """Make the next sync re-send every check run on the commit."""
        self.store.forget_check_digests(repo, head_sha)

    def set_notes(self, repo: str, number: int, notes: list[str]) -> None:
        """What the PR's checks must also say (replacing what they said); re-sent if changed."""
        kept = PullRequestNotes(self.store.db)
        if notes != kept.get(repo, number):
            kept.set(repo, number, notes)

    def has_status_comment(self, repo: str, number: int) -> bool:
        """Whether the bot posted a status comment on the PR."""
        return self.store.status_comment(repo, number) is not None

    def check_run_sessions(self, check_run_id: int) -> list[str] | None:
        """The sessions a check run the bot made shows (None: not one we recorded)."""
        rec = self.store.check_run_by_id(check_run_id)
        return rec.session_ids if rec else None

    def remember_installation(self, repo: str, installation_id: int) -> None:
        """Note which installation covers the repository."""
        self.store.remember_installation(repo, installation_id)
