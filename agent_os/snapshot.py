"""The files a checkpoint reads, taken from a clone so another machine can check them.

In a team, the agent's clone and the server share nothing but GitHub. The agent's door
(`agent-os mcp --server URL`) reads the files the phase's checkpoint will read, here,
and sends them with `complete_phase`; the server checks the evidence against exactly
these bytes and keeps their git blob SHAs, so a later push can be compared file by file
without downloading what did not change.

Which files: every artifact of the phase (in the spec directory), the spec's tasks.md
when the phase checks it, and every path the evidence names (by value, from the project
root or from the spec directory). The model never types file contents: the door reads them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from . import files
from .errors import InputError
from .files import MAX_FILE_BYTES, blob_sha

MAX_TOTAL_BYTES = 16_000_000
MAX_FILES = 500


def repo_path(text: str) -> str | None:
    """`text` as a clean relative POSIX path inside a repository, or None if it is not one."""
    if not isinstance(text, str) or not text.strip() or "\x00" in text or "\\" in text:
        return None
    path = PurePosixPath(text.strip())
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or str(path) == ".":
        return None
    return path.as_posix()


def checkpoint_paths(spec_dir: str, fields: dict[str, dict[str, Any]], artifacts: list[str],
                     reads_tasks: bool, evidence: Any) -> list[str]:
    """Repository paths a checkpoint may read, given the phase's declared evidence `fields`
    ({name: {"type", "constraints"}}), its `artifacts` (paths in the spec directory),
    whether it reads tasks.md, and the `evidence` submitted."""
    wanted: list[str] = [f"{spec_dir}/{a}" for a in artifacts]
    if reads_tasks:
        wanted.append(f"{spec_dir}/tasks.md")
    values: list[str] = []
    if isinstance(evidence, dict):
        for name, spec in fields.items():
            value = evidence.get(name)
            kind = spec.get("type")
            items = (spec.get("constraints") or {}).get("items")
            if kind == "path" and isinstance(value, str):
                values.append(value)
            elif kind == "list" and items == "path" and isinstance(value, list):
                values += [v for v in value if isinstance(v, str)]
    for value in values:
        # A path is read from the project root, or (inside the spec directory) from there.
        for candidate in (value, f"{spec_dir}/{value}"):
            clean = repo_path(candidate)
            if clean is not None:
                wanted.append(clean)
    return [p for p in dict.fromkeys(wanted) if repo_path(p) is not None]


@dataclass(frozen=True)
class SnapshotFile:
    """One file as the door read it: its bytes and their git blob SHA."""

    path: str
    data: bytes
    sha: str


@dataclass
class Snapshot:
    """Files read from a clone (paths relative to its root), the folders named, and the files
    found but not sent because they pass a cap (path -> size in bytes)."""

    files: dict[str, SnapshotFile] = field(default_factory=dict)
    directories: list[str] = field(default_factory=list)
    too_large: dict[str, int] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The JSON form sent with `complete_phase` (contents base64-encoded)."""
        return {"files": [{"path": f.path, "sha": f.sha, "content": base64.b64encode(f.data).decode("ascii")}
                          for f in self.files.values()],
                "directories": list(self.directories),
                "too_large": [{"path": p, "size": n} for p, n in self.too_large.items()]}

    @classmethod
    def from_wire(cls, data: Any) -> Snapshot:
        """A snapshot received from a door; refused (InputError) unless every path is safe,
        every SHA matches its content and the size caps hold."""
        if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
            raise InputError("The snapshot is not an object with a list of files.",
                             hint="Upgrade agent-os on the agent's machine to match the server.")
        entries, dirs, big = data.get("files", []), data.get("directories", []), data.get("too_large", [])
        if (len(entries) > MAX_FILES or not isinstance(dirs, list) or len(dirs) > MAX_FILES
                or not isinstance(big, list) or len(big) > MAX_FILES):
            raise InputError(f"The snapshot names more than {MAX_FILES} files or folders.")
        snap, total = cls(), 0
        for entry in entries:
            path = repo_path(entry.get("path")) if isinstance(entry, dict) else None
            if path is None:
                raise InputError(f"The snapshot holds a file outside the repository: {entry!r:.80}.")
            try:
                raw = base64.b64decode(str(entry.get("content", "")), validate=True)
            except ValueError:
                raise InputError(f"The snapshot's content of {path} is not base64.") from None
            total += len(raw)
            if len(raw) > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
                raise InputError(f"The snapshot is too large at {path}: at most {MAX_FILE_BYTES} bytes a file "
                                 f"and {MAX_TOTAL_BYTES} in all.", hint="Split or trim the file.")
            sha = blob_sha(raw)
            if entry.get("sha") != sha:
                raise InputError(f"The snapshot's SHA of {path} does not match its content.")
            snap.files[path] = SnapshotFile(path, raw, sha)
        for d in dirs:
            clean = repo_path(d)
            if clean is None:
                raise InputError(f"The snapshot names a folder outside the repository: {d!r:.80}.")
            snap.directories.append(clean)
        for entry in big:
            path = repo_path(entry.get("path")) if isinstance(entry, dict) else None
            size = entry.get("size") if isinstance(entry, dict) else None
            if path is None or isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise InputError(f"The snapshot's too_large entry {entry!r:.80} is not a path and a size.")
            snap.too_large[path] = size
        return snap

    def source(self) -> files.Snapshot:
        """These files as a `FileSource` the core's checks read."""
        return files.Snapshot({p: f.data for p, f in self.files.items()}, directories=self.directories,
                              too_large=self.too_large, total_cap=MAX_TOTAL_BYTES)

    def hashes(self) -> dict[str, str]:
        """{path: blob SHA} of every file, what a checkpoint keeps."""
        return {p: f.sha for p, f in sorted(self.files.items())}


def read_snapshot(root: Path, paths: list[str]) -> Snapshot:
    """The files among `paths` that exist under `root` (a clone), size-capped.

    A path that is missing is simply absent: the server then reports it as missing, as a
    solo check would. A file over a cap is named with its size but not sent: the server
    then reports it as too large (and what to do), never as missing.
    """
    snap, total = Snapshot(), 0
    tree = files.WorkingTree(root)
    for rel in paths[:MAX_FILES]:
        try:
            if tree.is_dir(rel):
                snap.directories.append(rel)
                continue
            if not tree.is_file(rel):
                continue
            size = tree.size(rel)
        except files.PathOutside:
            continue
        if size > MAX_FILE_BYTES or total + size > MAX_TOTAL_BYTES:
            snap.too_large[rel] = size
            continue
        data = tree.read_bytes(rel)
        total += len(data)
        snap.files[rel] = SnapshotFile(rel, data, blob_sha(data))
    return snap
