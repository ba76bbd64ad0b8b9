"""A repository's own workflows and standards, read from its default branch.

On a team server, a session of `acme/webapp` sees the shipped workflows and standards plus
those on acme/webapp's default branch: `.agent-os/workflows/<name>/` (validated like any
custom workflow) and `.agent-os/standards/**/*.md`. They are read through a `FileSource`
(the bot's git trees and blobs), never from the server's disk, and two repositories on
one server never see each other's.

Where the default branch is now is asked of `DefaultBranches`, which names each state of
it by a version (the SHA of its root tree: the same files, the same version). Everything
built from a version is kept by that version, so a branch that did not move costs the one
lookup that says so, and a branch whose `.agent-os/` did not change costs no download.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from . import files as filesource
from .errors import AgentOSError
from .project import AGENT_OS_DIR, Project
from .registry import Registry

log = logging.getLogger(__name__)

STANDARDS_FOLDER = f"{AGENT_OS_DIR}/standards"
MAX_STANDARDS = 500
"""At most this many of a repository's standards documents are read (the rest are named in a notice)."""


class RepositoryUnavailable(AgentOSError):
    """The repository's default branch cannot be read now (GitHub unreachable, App not installed)."""


@dataclass(frozen=True)
class BranchHead:
    """A repository's default branch as it is now: its name, a version naming its files, the files."""

    repository: str
    branch: str
    version: str
    files: filesource.FileSource


class DefaultBranches(Protocol):
    """Where repositories' default branches are (the team server's GitHub reader)."""

    def head(self, repository: str, *, max_age: float) -> BranchHead:
        """The default branch of `repository`, as known at most `max_age` seconds ago
        (0: ask now). Raises `RepositoryUnavailable` when it cannot be read."""
        ...


@dataclass(frozen=True)
class RepositoryStandards:
    """A repository's own standards documents at one version: path under the folder -> bytes."""

    repository: str
    version: str
    documents: dict[str, bytes] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def has(self, path: str) -> bool:
        return path in self.documents


class CombinedStandards:
    """The shipped (or server's) standards lookup and a repository's own, as one."""

    def __init__(self, base: filesource.StandardsLookup | None, own: RepositoryStandards) -> None:
        self.base, self.own = base, own

    def has(self, path: str) -> bool:
        return self.own.has(path) or (self.base is not None and self.base.has(path))


class RepositoryLibraries:
    """Per repository, the workflows and standards of its default branch, kept by version."""

    def __init__(self, project: Project, branches: DefaultBranches, *, keep: int = 64) -> None:
        self.project = project
        self.branches = branches
        self.keep = keep
        self._lock = threading.Lock()
        self._registries: OrderedDict[tuple[str, str], Registry] = OrderedDict()
        self._standards: OrderedDict[tuple[str, str], RepositoryStandards] = OrderedDict()
        self._last: dict[str, BranchHead] = {}

    def head(self, repository: str, *, max_age: float = 0.0) -> BranchHead:
        """The default branch now; if GitHub cannot say, the last one seen (logged), else raise."""
        try:
            found = self.branches.head(repository, max_age=max_age)
        except RepositoryUnavailable:
            with self._lock:
                last = self._last.get(repository.lower())
            if last is None:
                raise
            log.warning("%s: default branch unreadable; using version %s seen before", repository, last.version[:7])
            return last
        with self._lock:
            self._last[repository.lower()] = found
        return found

    def registry(self, repository: str, *, max_age: float = 0.0) -> Registry:
        """Shipped workflows plus the repository's own (its own hide shipped ones of the same name)."""
        head = self.head(repository, max_age=max_age)
        key = (repository.lower(), head.version)
        with self._lock:
            cached = self._registries.get(key)
            if cached is not None:
                self._registries.move_to_end(key)
                return cached
        made = Registry.for_repository(self.project, head.files, f"{head.repository}@{head.branch}")
        with self._lock:
            self._registries[key] = made
            while len(self._registries) > self.keep:
                self._registries.popitem(last=False)
        return made

    def standards(self, repository: str, *, max_age: float = 0.0) -> RepositoryStandards:
        """The repository's `.agent-os/standards/**/*.md` at its default branch's head."""
        head = self.head(repository, max_age=max_age)
        key = (repository.lower(), head.version)
        with self._lock:
            cached = self._standards.get(key)
            if cached is not None:
                self._standards.move_to_end(key)
                return cached
        made = read_standards(head)
        with self._lock:
            self._standards[key] = made
            while len(self._standards) > self.keep:
                self._standards.popitem(last=False)
        return made


def read_standards(head: BranchHead) -> RepositoryStandards:
    """Every markdown file under `.agent-os/standards/` of `head` (README.md and hidden entries
    skipped, as on disk), each at most the checkpoint cap."""
    files, docs, notices = head.files, {}, []
    pending = [""]
    started = time.perf_counter()
    while pending:
        rel = pending.pop(0)
        folder = filesource.join(STANDARDS_FOLDER, rel) if rel else STANDARDS_FOLDER
        try:
            if not files.is_dir(folder):
                continue
            names = files.list_dir(folder)
        except (filesource.FileMissing, filesource.PathOutside):
            continue
        for name in names:
            sub = f"{rel}/{name}" if rel else name
            path = filesource.join(STANDARDS_FOLDER, sub)
            if name.startswith("."):
                continue
            if files.is_dir(path):
                pending.append(sub)
            elif name.lower().endswith(".md") and name.lower() != "readme.md" and files.is_file(path):
                if len(docs) >= MAX_STANDARDS:
                    notices.append(f"{head.repository}: only the first {MAX_STANDARDS} standards documents are used.")
                    pending.clear()
                    break
                if files.size(path) > filesource.MAX_FILE_BYTES:
                    notices.append(f"{head.repository}:{path} is {filesource.too_large(files.size(path))}; skipped.")
                    continue
                docs[sub] = files.read_bytes(path)
    log.info("%s@%s: %d standards documents read in %.2f s", head.repository, head.version[:7], len(docs),
             time.perf_counter() - started)
    return RepositoryStandards(head.repository, head.version, docs, tuple(notices))


def version_of(documents: dict[str, bytes]) -> str:
    """A short name for a set of documents: the same paths and bytes, the same name."""
    digest = hashlib.sha256()
    for path in sorted(documents):
        digest.update(path.encode() + b"\0" + filesource.blob_sha(documents[path]).encode() + b"\0")
    return digest.hexdigest()[:16]
