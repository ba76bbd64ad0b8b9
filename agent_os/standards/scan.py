"""Finding the markdown standards under several roots, and fingerprinting them cheaply."""

from __future__ import annotations

import hashlib
import os
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


def scan(roots: list[Root]) -> list[FoundFile]:
    """Every `*.md` under `roots` (README.md and hidden entries skipped), in root order.

    Missing roots are skipped: a project without its own `.agent-os/standards` is normal.
    Only `stat` is called, never `open`, so a freshness check costs microseconds a file.
    """
    found: list[FoundFile] = []
    for root in roots:
        if root.documents is not None:
            # No stat to compare: a stamp of the content stands for the mtime.
            found += [FoundFile(root, rel, content_stamp(data), len(data)) for rel, data in
                      sorted(root.documents.items())]
        elif root.path.is_dir():
            _walk(root, str(root.path), "", found)
    return found


def content_stamp(data: bytes) -> int:
    """A number that changes when `data` does (stands for a file's mtime in a fingerprint)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=7).digest(), "big")


def _walk(root: Root, directory: str, prefix: str, found: list[FoundFile]) -> None:
    # os.scandir rather than os.walk + pathlib: this runs before every search.
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
                _walk(root, entry.path, f"{prefix}{name}/", found)
            elif name.lower().endswith(".md") and name.lower() not in SKIPPED_NAMES:
                st = entry.stat()
                found.append(FoundFile(root, prefix + name, st.st_mtime_ns, st.st_size))
        except OSError:
            continue  # vanished between listing and stat


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def fingerprint(files: list[FoundFile]) -> dict[tuple[str, str], tuple[int, int]]:
    """(root label, path) -> (mtime_ns, size): what a freshness check compares."""
    return {f.key: (f.mtime_ns, f.size) for f in files}


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
