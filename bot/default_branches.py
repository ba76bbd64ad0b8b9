"""Where each repository's default branch is, for its own workflows and standards.

The team server reads a repository's `.agent-os/workflows/` and `.agent-os/standards/`
from its default branch through the API (`agent_os.repo_library` decides what to do with
them). A lookup is one request, the branch's root tree by name
(`GET /repos/{owner}/{repo}/git/trees/{branch}`): its SHA names the state of every file,
and the trees and blobs below it are kept by SHA (`ObjectCache`), so a branch that moved
without touching `.agent-os/` downloads nothing more. The branch's name comes from
`GET /repos/{owner}/{repo}` and is kept for `NAME_TTL` seconds (it rarely changes).
A caller says how old an answer may be: starting or listing workflows asks now; a
search accepts one from the last minute, so searching never waits on GitHub more than
once a minute per repository.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent_os.repo_library import BranchHead, RepositoryUnavailable

from .commit_files import CommitFiles, Get, ObjectCache
from .github import GitHubCallError

NAME_TTL = 600.0


@dataclass
class _Seen:
    at: float
    value: object


class GitHubDefaultBranches:
    """`DefaultBranches` over the App's installation clients (`get_for(repo)` GETs as the
    installation on that repository; None for a 404)."""

    def __init__(self, get_for: Callable[[str], Get], objects: ObjectCache,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.get_for = get_for
        self.objects = objects
        self.clock = clock
        self._names: dict[str, _Seen] = {}
        self._heads: dict[str, _Seen] = {}
        self._lock = threading.Lock()
        self.lookups = 0  # requests made (for logs, benchmarks and tests)

    def head(self, repository: str, *, max_age: float) -> BranchHead:
        """The default branch of `repository`, as known at most `max_age` seconds ago."""
        key = repository.lower()
        now = self.clock()
        with self._lock:
            seen = self._heads.get(key)
        if seen is not None and now - seen.at <= max_age:
            return seen.value  # type: ignore[return-value]
        get = self.get_for(repository)
        try:
            branch = self._branch(repository, get, now)
            files = CommitFiles.at_ref(get, repository, branch, self.objects)
            self.lookups += 1
            if files is None:  # renamed meanwhile: ask for the name again, once
                with self._lock:
                    self._names.pop(key, None)
                branch = self._branch(repository, get, now)
                files = CommitFiles.at_ref(get, repository, branch, self.objects)
                self.lookups += 1
        except GitHubCallError as exc:
            raise RepositoryUnavailable(f"Cannot read {repository}'s default branch from GitHub: {exc}",
                                        hint="Check that the GitHub App is installed on the repository, "
                                        "then try again.") from None
        if files is None:
            raise RepositoryUnavailable(f"{repository} has no default branch to read yet (an empty repository?).",
                                        hint="Push a first commit to it, then try again.")
        head = BranchHead(repository, branch, files.sha, files)
        with self._lock:
            self._heads[key] = _Seen(now, head)
        return head

    def _branch(self, repository: str, get: Get, now: float) -> str:
        key = repository.lower()
        with self._lock:
            seen = self._names.get(key)
        if seen is not None and now - seen.at <= NAME_TTL:
            return str(seen.value)
        data = get(f"/repos/{repository}")
        self.lookups += 1
        if not isinstance(data, dict) or not data.get("default_branch"):
            raise RepositoryUnavailable(f"GitHub does not show the App the repository {repository}.",
                                        hint="Install the GitHub App on it (its settings page), then try again.")
        with self._lock:
            self._names[key] = _Seen(now, data["default_branch"])
        return str(data["default_branch"])
