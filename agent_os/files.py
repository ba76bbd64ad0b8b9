"""Where a session's files are read: one small interface, several sources.

Evidence checks, spec-directory creation and collision checks, tasks.md expansion and the
review phase's re-checks read files only through a `FileSource`, so the same core checks
run against the agent's working tree (solo), a snapshot the agent's door sends with a
checkpoint, or a commit of a GitHub repository (the bot's source). Paths are POSIX paths
relative to the source's root; "" or "." is the root. A path that leaves the root
(`..`, absolute, or a symlink pointing out) raises `PathOutside` in every source.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from .errors import InputError, NotFoundError


class PathOutside(InputError):
    """A path that is absolute, escapes the root with `..`, or leads out through a symlink."""


class FileMissing(NotFoundError):
    """No file at a path the caller meant to read."""


class FileTooLarge(FileMissing):
    """A file that exists but whose bytes were not sent: over the door's cap for one file, or
    past its cap for one checkpoint's files in all. Its size is known; its content is not."""

    def __init__(self, path: str, size: int, *, total_cap: int | None = None) -> None:
        self.path, self.size = path, size
        self.found = (too_large(size, MAX_FILE_BYTES) if total_cap is None else
                      f"left out ({megabytes(size)}): the files of one checkpoint may hold "
                      f"{megabytes(total_cap)} in all")
        super().__init__(f"{path} is {self.found}.",
                         hint="Split the file or trim it below the cap, or name smaller files in the evidence.")


MAX_FILE_BYTES = 2_000_000
"""The most a file read by a checkpoint may hold (the door sends no more of one file)."""


def megabytes(size: int) -> str:
    """`size` bytes as people read it: "2.4 MB"."""
    return f"{size / 1_000_000:.1f} MB".replace(".0 MB", " MB")


def too_large(size: int, cap: int = MAX_FILE_BYTES) -> str:
    """What a file over `cap` is called in every refusal: "too large (N MB; the cap is 2 MB)"."""
    return f"too large ({megabytes(size)}; the cap is {megabytes(cap)})"


def blob_sha(data: bytes) -> str:
    """Git's blob id of `data`: sha1 of `blob <size>\\0` followed by the bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def normalise(path: str) -> str:
    """`path` as a clean relative POSIX path ("" for the root), or `PathOutside`."""
    if not isinstance(path, str) or "\x00" in path:
        raise PathOutside(f"{path!r} is not a path.", hint="Give a path relative to the project root.")
    text = path.replace("\\", "/").strip()
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise PathOutside(f"{path!r} is absolute.", hint="Give the path relative to the project root, without a leading '/'.")
    clean = posixpath.normpath(text) if text else "."
    if clean == ".." or clean.startswith("../"):
        raise PathOutside(f"{path!r} leaves the project.", hint="Give a path inside the project, without '..'.")
    return "" if clean == "." else clean


def join(*parts: str) -> str:
    """Relative paths joined and normalised (a later part never makes it absolute)."""
    return normalise("/".join(p.strip("/") for p in parts if p and p.strip("/") not in ("", ".")))


def inside(path: str, directory: str) -> bool:
    """Whether normalised `path` is `directory` or below it (both relative, normalised)."""
    return directory == "" or path == directory or path.startswith(directory + "/")


@runtime_checkable
class FileSource(Protocol):
    """Read-only files under one root. `read_*`, `size`, `list_dir` and `blob_sha` raise
    `FileMissing` when nothing suitable is there; every method raises `PathOutside`."""

    def exists(self, path: str) -> bool: ...
    def is_file(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def is_symlink(self, path: str) -> bool: ...
    def read_bytes(self, path: str) -> bytes: ...
    def read_text(self, path: str) -> str: ...
    def list_dir(self, path: str) -> list[str]: ...
    def size(self, path: str) -> int: ...
    def blob_sha(self, path: str) -> str: ...


@runtime_checkable
class WritableSource(FileSource, Protocol):
    """A source that can also make directories: only the solo working tree."""

    def make_dir(self, path: str) -> None: ...


class WorkingTree:
    """The files on this machine under `root`, confined to it."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"WorkingTree({str(self.root)!r})"

    def local(self, path: str) -> Path:
        """The absolute path of `path` on disk, refused if it (or a symlink on it) leaves the root."""
        rel = normalise(path)
        if not rel:
            return self.root
        target = self.root / rel
        # The root is resolved, so only a link at or below it can lead out: look at those
        # components (a few lstat calls) and resolve the whole path only if one is a link
        # (resolve() lstat-ed every component from / each time: ~25 us a call, for every read).
        probe = str(self.root)
        for part in rel.split("/"):
            probe = f"{probe}/{part}"
            if os.path.islink(probe):
                real = target.resolve()
                if real != self.root and not real.is_relative_to(self.root):
                    raise PathOutside(f"{path!r} leads outside the project (through a symlink).",
                                      hint="Name a file that lives inside the project.")
                break
        return target

    def exists(self, path: str) -> bool:
        return self.local(path).exists()

    def is_file(self, path: str) -> bool:
        return self.local(path).is_file()

    def is_dir(self, path: str) -> bool:
        return self.local(path).is_dir()

    def is_symlink(self, path: str) -> bool:
        return self.local(path).is_symlink()

    def _file(self, path: str) -> Path:
        target = self.local(path)
        if not target.is_file():
            raise FileMissing(f"No file at {normalise(path) or '.'}.", hint="Check the path, relative to the project root.")
        return target

    def read_bytes(self, path: str) -> bytes:
        return self._file(path).read_bytes()

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def list_dir(self, path: str) -> list[str]:
        target = self.local(path)
        if not target.is_dir():
            raise FileMissing(f"No folder at {normalise(path) or '.'}.")
        return sorted(p.name for p in target.iterdir())

    def size(self, path: str) -> int:
        return self._file(path).stat().st_size

    def blob_sha(self, path: str) -> str:
        return blob_sha(self.read_bytes(path))

    def make_dir(self, path: str) -> None:
        """Create the folder `path` (and its parents) inside the root."""
        self.local(path).mkdir(parents=True, exist_ok=True)


class Snapshot:
    """Files sent with a checkpoint: path → bytes, each with its git blob SHA.

    Folders are implied by the files' paths, plus any named in `directories` (a folder the
    evidence names may hold nothing the checkpoint reads). `too_large` names files that exist
    but were not sent, with their sizes: reading one raises `FileTooLarge`, so a check says
    "too large", never "missing". There are no symlinks in a snapshot.
    """

    def __init__(self, files: Mapping[str, bytes], directories: Iterable[str] = (),
                 too_large: Mapping[str, int] = (), *, total_cap: int | None = None) -> None:
        self.directories = {normalise(d) for d in directories}
        # Files the door found but did not send (over a cap): they exist, with this size.
        self.too_large = {normalise(p): int(n) for p, n in dict(too_large).items()}
        self.total_cap = total_cap
        self.files: dict[str, bytes] = {}
        for path, data in files.items():
            rel = normalise(path)
            if not rel:
                raise PathOutside("A snapshot file needs a name.", hint="Send files by their path from the project root.")
            if not isinstance(data, (bytes, bytearray)):
                raise InputError(f"Snapshot file {rel} is not bytes.")
            self.files[rel] = bytes(data)
        self.shas = {p: blob_sha(d) for p, d in self.files.items()}

    def __repr__(self) -> str:
        return f"Snapshot({len(self.files)} files)"

    def exists(self, path: str) -> bool:
        return self.is_file(path) or self.is_dir(path)

    def is_file(self, path: str) -> bool:
        rel = normalise(path)
        return rel in self.files or rel in self.too_large

    def is_dir(self, path: str) -> bool:
        rel = normalise(path)
        return rel in self.directories or any(inside(p, rel) and p != rel
                                              for p in (*self.files, *self.directories, *self.too_large))

    def is_symlink(self, path: str) -> bool:
        normalise(path)
        return False

    def read_bytes(self, path: str) -> bytes:
        rel = normalise(path)
        if rel in self.too_large:
            size = self.too_large[rel]
            raise FileTooLarge(rel, size, total_cap=None if size > MAX_FILE_BYTES else self.total_cap)
        if rel not in self.files:
            raise FileMissing(f"No file at {rel or '.'} in the snapshot sent with this checkpoint.",
                              hint="Send the file with the checkpoint (the door attaches the files the evidence names).")
        return self.files[rel]

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8")

    def list_dir(self, path: str) -> list[str]:
        rel = normalise(path)
        prefix = rel + "/" if rel else ""
        names = {p[len(prefix):].split("/", 1)[0] for p in (*self.files, *self.directories, *self.too_large)
                 if p.startswith(prefix) and p != rel}
        if not names and not self.is_dir(rel):
            raise FileMissing(f"No folder at {rel or '.'} in the snapshot.")
        return sorted(names)

    def size(self, path: str) -> int:
        rel = normalise(path)
        return self.too_large[rel] if rel in self.too_large else len(self.read_bytes(rel))

    def blob_sha(self, path: str) -> str:
        self.read_bytes(path)
        return self.shas[normalise(path)]


def snapshot_of(source: FileSource, paths: Iterable[str], *, max_bytes: int) -> Snapshot:
    """A snapshot of the files at `paths` in `source` (folders taken whole), at most
    `max_bytes` in all; paths that name nothing are left out (the checks will say so)."""
    files: dict[str, bytes] = {}
    total = 0
    pending = [normalise(p) for p in paths]
    while pending:
        rel = pending.pop(0)
        if rel in files:
            continue
        if source.is_dir(rel):
            pending += [join(rel, name) for name in source.list_dir(rel)]
        elif source.is_file(rel):
            total += source.size(rel)
            if total > max_bytes:
                raise InputError(f"The files for this checkpoint exceed {max_bytes} bytes (at {rel}).",
                                 hint="Name fewer or smaller files in the evidence.")
            files[rel] = source.read_bytes(rel)
    return Snapshot(files)


def symlinked_part(source: FileSource, path: str) -> str | None:
    """The first component of `path` (itself included) that is a symlink, or that leads out
    of the root; None when every component is a real directory or file of the source."""
    parts = normalise(path).split("/") if normalise(path) else []
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        try:
            if source.is_symlink(prefix):
                return prefix
        except PathOutside:
            return prefix
    return None


class StandardsLookup(Protocol):
    """Which standards documents exist, by their path within a standards root."""

    def has(self, path: str) -> bool: ...


class StandardsRoots:
    """Standards documents on disk under `roots` (the shipped library, the project's own)."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.trees = [WorkingTree(r) for r in roots]

    def has(self, path: str) -> bool:
        """Whether some root holds a markdown file at `path`."""
        if not isinstance(path, str) or not path.endswith(".md"):
            return False
        for tree in self.trees:
            try:
                if tree.root.is_dir() and tree.is_file(path):
                    return True
            except PathOutside:
                return False
        return False
