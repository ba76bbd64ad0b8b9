"""A repository's files at one commit, read through GitHub's git database API.

The team server never reads a repository from its own disk: evidence is re-verified
against the PR's head commit, and a repository's own workflows and policy come from its
default branch, all through here. Git objects never change, so everything is cached by
SHA: a tree once read is never asked for again, and a blob (a file's bytes) is fetched
only when no earlier read or checkpoint snapshot already holds it. Folders are walked one
level at a time, only along the paths asked for: a push that leaves `.agent-os/` alone
costs one request (the new root tree) to learn that.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from agent_os.files import FileMissing, blob_sha, normalise

MAX_CACHE_BYTES = 64_000_000
MAX_TREES = 4096


@dataclass(frozen=True)
class Entry:
    """One entry of a git tree."""

    name: str
    type: str  # blob | tree | commit (a submodule)
    sha: str
    size: int | None


class ObjectCache:
    """Git objects by SHA, shared by every commit read (bounded, least recently used out)."""

    def __init__(self, max_bytes: int = MAX_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._blobs: OrderedDict[str, bytes] = OrderedDict()
        self._trees: OrderedDict[str, dict[str, Entry]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def blob(self, sha: str) -> bytes | None:
        with self._lock:
            data = self._blobs.get(sha)
            if data is not None:
                self._blobs.move_to_end(sha)
            return data

    def put_blob(self, data: bytes, sha: str | None = None) -> str:
        """Keep `data` (e.g. a snapshot's file) under its blob SHA; returns the SHA."""
        sha = sha or blob_sha(data)
        with self._lock:
            if sha not in self._blobs and len(data) <= self.max_bytes:
                self._blobs[sha] = data
                self._size += len(data)
                while self._size > self.max_bytes:
                    _, old = self._blobs.popitem(last=False)
                    self._size -= len(old)
        return sha

    def tree(self, sha: str) -> dict[str, Entry] | None:
        with self._lock:
            return self._trees.get(sha)

    def put_tree(self, sha: str, entries: dict[str, Entry]) -> None:
        with self._lock:
            self._trees[sha] = entries
            if len(self._trees) > MAX_TREES:
                self._trees.popitem(last=False)


def tree_entries(data: Any) -> dict[str, Entry]:
    """The entries of a git tree as the REST API answers it (`GET …/git/trees/{sha}`)."""
    entries = {}
    for e in (data or {}).get("tree", []):
        if isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("sha"), str):
            entries[e["path"]] = Entry(e["path"], str(e.get("type", "blob")), e["sha"], e.get("size"))
    return entries


Get = Callable[[str], Any]
"""GET of a REST path (`/repos/o/r/git/trees/…`) as the installation; None for 404."""


class CommitFiles:
    """The files of `repo` at commit `sha`: exists, is-file, read, list a folder, size."""

    def __init__(self, get: Get, repo: str, sha: str, cache: ObjectCache) -> None:
        self._get = get
        self.repo = repo
        self.sha = sha
        self.cache = cache
        self.downloaded: list[str] = []  # paths whose blob had to be fetched (for logs and tests)

    # git objects ---------------------------------------------------------------------------

    def _tree(self, sha: str) -> dict[str, Entry]:
        cached = self.cache.tree(sha)
        if cached is not None:
            return cached
        entries = tree_entries(self._get(f"/repos/{self.repo}/git/trees/{sha}"))
        self.cache.put_tree(sha, entries)
        return entries

    @classmethod
    def at_ref(cls, get: Get, repo: str, ref: str, cache: ObjectCache) -> CommitFiles | None:
        """The files at branch `ref` now (None if there is no such branch): one request, for
        the root tree, which is then known (and kept) by its SHA like any other."""
        data = get(f"/repos/{repo}/git/trees/{ref}")
        if not isinstance(data, dict) or not isinstance(data.get("sha"), str):
            return None
        cache.put_tree(data["sha"], tree_entries(data))
        return cls(get, repo, data["sha"], cache)

    def entry(self, path: str) -> Entry | None:
        """The tree entry at `path` (None if absent); the root is a tree entry named ''."""
        clean = normalise(path)  # PathOutside for a path that leaves the repository
        current = Entry("", "tree", self.sha, None)
        for part in PurePosixPath(clean).parts if clean else ():
            if current.type != "tree":
                return None
            found = self._tree(current.sha).get(part)
            if found is None:
                return None
            current = found
        return current

    def _blob(self, path: str) -> Entry:
        e = self.entry(path)
        if e is None or e.type != "blob":
            raise FileMissing(f"No file at {normalise(path) or '.'} in {self.repo} at commit {self.sha[:7]}.",
                              hint="Commit and push the file, then try again.")
        return e

    def blob_sha(self, path: str) -> str:
        """The git blob SHA of the file at `path`, from the tree: nothing is downloaded."""
        return self._blob(path).sha

    # the file-source operations ---------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return self.entry(path) is not None

    def is_file(self, path: str) -> bool:
        e = self.entry(path)
        return e is not None and e.type == "blob"

    def is_dir(self, path: str) -> bool:
        e = self.entry(path)
        return e is not None and e.type == "tree"

    def is_symlink(self, path: str) -> bool:
        normalise(path)
        return False  # symlinks are blobs of mode 120000 in git; read as their target text

    def size(self, path: str) -> int:
        e = self._blob(path)
        return e.size if e.size is not None else len(self.read_bytes(path))

    def list_dir(self, path: str) -> list[str]:
        """Names in the folder at `path`."""
        e = self.entry(path)
        if e is None or e.type != "tree":
            raise FileMissing(f"No folder at {normalise(path) or '.'} in {self.repo} at commit {self.sha[:7]}.")
        return sorted(self._tree(e.sha))

    def read_bytes(self, path: str) -> bytes:
        """The file's bytes, from the cache when its blob SHA is known there."""
        e = self._blob(path)
        data = self.cache.blob(e.sha)
        if data is None:
            raw = self._get(f"/repos/{self.repo}/git/blobs/{e.sha}")
            if not isinstance(raw, dict):
                raise FileMissing(f"The blob of {path} ({e.sha[:7]}) is not in {self.repo}.")
            content = str(raw.get("content", ""))
            data = base64.b64decode(content) if raw.get("encoding", "base64") == "base64" else content.encode()
            self.cache.put_blob(data, e.sha)
            self.downloaded.append(path)
        return data

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")
