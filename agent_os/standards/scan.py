"""Finding the markdown standards under several roots, and fingerprinting them cheaply."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..resources import shipped_standards_dir

if TYPE_CHECKING:
    from ..project import Project

SKIPPED_NAMES = frozenset({"readme.md"})
"""A folder's README describes the library; it is not a standard."""


@dataclass(frozen=True)
class Root:
    """A directory of standards and the short label results cite it by.

    With `documents` (path -> bytes) the root is those documents, not a folder: a
    repository's own standards read through GitHub on a team server, never from its disk.
    """

    label: str
    path: Path
    documents: Mapping[str, bytes] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class FoundFile:
    """A markdown file under a root, with the stat fields that tell if it changed."""

    root: Root
    rel_path: str  # POSIX separators, relative to the root
    mtime_ns: int
    size: int

    @property
    def abs_path(self) -> Path:
        return self.root.path / self.rel_path

    @property
    def key(self) -> tuple[str, str]:
        return (self.root.label, self.rel_path)


def scan(roots: list[Root], dirs: dict[str, int | None] | None = None) -> list[FoundFile]:
    """Every `*.md` under `roots` (README.md and hidden entries skipped), in root order.

    Missing roots are skipped: a project without its own `.agent-os/standards` is normal.
    Only `stat` is called, never `open`, so a freshness check costs microseconds a file.
    With `dirs`, each directory listed (and each missing root) is recorded in it with its
    mtime as of before the listing (None: missing).
    """
    found: list[FoundFile] = []
    for root in roots:
        if root.documents is not None:
            # No stat to compare: a stamp of the content stands for the mtime.
            found += [FoundFile(root, rel, content_stamp(data), len(data)) for rel, data in
                      sorted(root.documents.items())]
        elif root.path.is_dir():
            _walk(root, str(root.path), "", found, dirs)
        elif dirs is not None:
            dirs[str(root.path)] = None
    return found


def content_stamp(data: bytes) -> int:
    """A number that changes when `data` does (stands for a file's mtime in a fingerprint)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=7).digest(), "big")


def _walk(root: Root, directory: str, prefix: str, found: list[FoundFile],
          dirs: dict[str, int | None] | None) -> None:
    # os.scandir rather than os.walk + pathlib: this runs before every search.
    if dirs is not None:
        dirs[directory] = _mtime(directory)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        try:
            if entry.is_symlink() and not _inside(Path(entry.path), root.path):
                continue  # a link out of the root must not publish files from elsewhere
            if entry.is_dir():
                _walk(root, entry.path, f"{prefix}{name}/", found, dirs)
            elif name.lower().endswith(".md") and name.lower() not in SKIPPED_NAMES:
                st = entry.stat()
                found.append(FoundFile(root, prefix + name, st.st_mtime_ns, st.st_size))
        except OSError:
            continue  # vanished between listing and stat


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def fingerprint(files: list[FoundFile]) -> dict[tuple[str, str], tuple[int, int]]:
    """(root label, path) -> (mtime_ns, size): what a freshness check compares."""
    return {f.key: (f.mtime_ns, f.size) for f in files}


class DiskWatch:
    """`fingerprint(scan(roots))`, walked again only when the disk may have changed.

    Listing the directories is most of a scan's cost (the shipped library: 0.23 ms, then
    more with the caches cold after the model ran). A directory's entries change only
    together with its mtime (an entry added, removed or renamed), so while no directory's
    mtime moved, stat-ing the directories and the files found answers the same question
    for half the cost. A directory modified less than RECENT_NS before the walk is not
    trusted (mtimes move in clock ticks, or whole seconds on some filesystems: an entry
    added in the same tick leaves it alone), so until it ages every check walks again.
    Roots given as documents in memory, or another list of roots than last time, are
    scanned every time. Not thread-safe.
    """

    RECENT_NS = 2_000_000_000

    def __init__(self) -> None:
        self._roots: list[Root] | None = None
        self._dirs: dict[str, int | None] = {}
        self._files: dict[str, tuple[int, int]] = {}
        self._fingerprint: dict[tuple[str, str], tuple[int, int]] | None = None
        self._trusted = False

    def fingerprint(self, roots: list[Root]) -> dict[tuple[str, str], tuple[int, int]]:
        """(root label, path) -> (mtime_ns, size) of every standard under `roots` now."""
        if (self._fingerprint is None or roots is not self._roots or not self._trusted
                or not self._unchanged()):
            self._fingerprint = self._walk(roots)
        return self._fingerprint

    def _walk(self, roots: list[Root]) -> dict[tuple[str, str], tuple[int, int]]:
        started = time.time_ns()
        dirs: dict[str, int | None] = {}
        found = scan(roots, dirs)
        self._roots = roots
        self._dirs = dirs
        self._files = {str(f.abs_path): (f.mtime_ns, f.size) for f in found}
        self._trusted = all(r.documents is None for r in roots) and all(
            m is None or m < started - self.RECENT_NS for m in dirs.values()
        )
        return fingerprint(found)

    def _unchanged(self) -> bool:
        for path, mtime in self._dirs.items():
            if _mtime(path) != mtime:
                return False
        for path, stamp in self._files.items():
            try:
                st = os.stat(path)
            except OSError:
                return False
            if (st.st_mtime_ns, st.st_size) != stamp:
                return False
        return True


def root_labels(project: Project) -> list[Root]:
    """The project's standards roots with their labels: `shipped`, `project`, or the path."""
    roots: list[Root] = []
    used: set[str] = set()
    shipped = shipped_standards_dir().resolve()
    own = (project.agent_os_dir / "standards").resolve()
    for raw in project.standards_roots():
        path = Path(raw).expanduser()
        path = (path if path.is_absolute() else project.root / path).resolve()
        if path == shipped:
            label = "shipped"
        elif path == own:
            label = "project"
        else:
            try:
                label = path.relative_to(project.root).as_posix()
            except ValueError:
                label = str(path)
        base, n = label, 2
        while label in used:
            label, n = f"{base}#{n}", n + 1
        used.add(label)
        roots.append(Root(label, path))
    return roots
