"""What the GitHub stand-in remembers: repositories, pull requests, reviews, check runs, comments.

Plain dataclasses behind one re-entrant lock; the HTTP handlers and the Python API of
`GitHubStandIn` both go through `StandInState`, so tests can read what the bot wrote while
the server is running.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from standin.git import GitRepo

# Legacy permission names GitHub reports in `permission`, keyed by role.
# https://docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}


def now() -> datetime:
    """The current time in UTC, whole seconds (GitHub never sends fractions)."""
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp format: `2024-01-02T03:04:05Z`."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User" or "Bot"


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    installation_id: int
    default_branch: str = "main"
    private: bool = False
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> role
    git: GitRepo = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def branches(self) -> dict[str, str]:
        """Branch name -> head commit sha, read from the git repository."""
        return self.git.branches()

    def resolve(self, ref: str | None) -> str | None:
        """The commit sha a branch name, ref or sha names (default branch when None)."""
        return self.git.resolve(ref or self.default_branch)

    def snapshot(self, ref: str | None) -> dict[str, str] | None:
        """Files (as text) at a branch name or commit sha (default branch when None)."""
        sha = self.resolve(ref)
        return None if sha is None else self.git.text_files(sha)


@dataclass
class PullRequest:
    repo: str
    number: int
    id: int
    author: str
    title: str
    body: str | None
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    state: str = "open"
    merged: bool = False
    draft: bool = False
    from_fork: bool = False
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    closed_at: datetime | None = None


@dataclass
class Review:
    id: int
    repo: str
    number: int
    user: str
    state: str  # REST spelling: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    body: str | None
    commit_id: str
    submitted_at: datetime = field(default_factory=now)


@dataclass
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    check_suite_id: int
    external_id: str | None = None
    details_url: str | None = None
    output: dict = field(default_factory=dict)
    actions: list[dict] = field(default_factory=list)
    started_at: datetime | None = field(default_factory=now)
    completed_at: datetime | None = None
    app: str | None = None  # the slug of the App that made it (CI); None: the stand-in's own App


@dataclass
class CommitStatus:
    id: int
    repo: str
    sha: str
    context: str
    state: str  # pending | success | failure | error
    creator: str
    target_url: str | None = None
    description: str | None = None
    created_at: datetime = field(default_factory=now)


@dataclass
class IssueComment:
    id: int
    repo: str
    number: int
    user: str
    body: str
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)


@dataclass
class ReviewComment:
    id: int
    repo: str
    number: int
    user: str
    path: str
    line: int
    body: str
    commit_id: str
    thread_id: str
    review_id: int
    in_reply_to: int | None = None
    created_at: datetime = field(default_factory=now)


@dataclass
class ReviewThread:
    node_id: str
    repo: str
    number: int
    comment_ids: list[int]
    resolved: bool = False


@dataclass
class Token:
    token: str
    installation_id: int
    expires_at: datetime
    login: str | None = None  # set for a user's OAuth token, None for an installation token


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    body: object
    injected: bool
    at: datetime
    response: object = None  # the JSON answered (kept when the stand-in records traffic)


class StandInState:
    """Every record the stand-in holds, guarded by one lock (`with state.lock:`)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1001)
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.reviews: dict[int, Review] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.check_suites: dict[tuple[str, ...], int] = {}
        self.statuses: list[CommitStatus] = []
        self.comments: dict[int, IssueComment] = {}
        self.review_comments: dict[int, ReviewComment] = {}
        self.threads: dict[str, ReviewThread] = {}
        self.teams: dict[str, list[str]] = {}  # "org/team-slug" -> member logins
        self.tokens: dict[str, Token] = {}
        self.token_issuances = 0
        self.requests: list[RequestRecord] = []
        self._next_number: dict[str, int] = {}

    def next_id(self) -> int:
        """A fresh id, unique across every kind of record (as GitHub's are in practice)."""
        with self.lock:
            return next(self._ids)

    def next_number(self, repo: str) -> int:
        """The next issue/PR number in a repository."""
        with self.lock:
            number = self._next_number.get(repo, 1)
            self._next_number[repo] = number + 1
            return number

    def user(self, login: str) -> User:
        """The user with this login, created on first mention (`[bot]` logins are Bots)."""
        with self.lock:
            if login not in self.users:
                kind = "Bot" if login.endswith("[bot]") else "User"
                self.users[login] = User(login=login, id=self.next_id(), type=kind)
            return self.users[login]

    def repo(self, full_name: str) -> Repo:
        """The repository `owner/name`; KeyError if it was never created."""
        with self.lock:
            return self.repos[full_name]

    def pull(self, repo: str, number: int) -> PullRequest:
        """Pull request `number` of `repo`; KeyError if absent."""
        with self.lock:
            return self.pulls[(repo, number)]

    def check_suite_id(self, repo: str, head_sha: str, app: str | None = None) -> int:
        """GitHub groups an app's check runs per commit in one check suite."""
        with self.lock:
            key = (repo, head_sha) if app is None else (repo, head_sha, app)
            if key not in self.check_suites:
                self.check_suites[key] = self.next_id()
            return self.check_suites[key]

    def role(self, repo: Repo, login: str) -> str:
        """The user's role on a repository: admin for the owner, a collaborator's role, else
        read on a public repository and none on a private one."""
        if login == repo.owner:
            return "admin"
        role = repo.collaborators.get(login)
        if role is None:
            role = "none" if repo.private else "read"
        return role

    def permissions(self, repo: Repo, login: str) -> dict[str, bool]:
        """The `permissions` object GitHub shows a user for a repository."""
        role = self.role(repo, login)
        return {
            "admin": role == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"),
            "triage": role in ("admin", "maintain", "write", "triage"),
            "pull": role != "none",
        }

    def author_association(self, repo: Repo, login: str) -> str:
        """OWNER, COLLABORATOR or NONE, as GitHub labels a user's comments and reviews."""
        if login == repo.owner:
            return "OWNER"
        role = repo.collaborators.get(login, "none")
        return "COLLABORATOR" if role != "none" else "NONE"
