"""Real git repositories behind the stand-in: bare repositories on disk, driven by the git CLI.

Writes from the Python API go through `git fast-import` (one process per commit); reads go
through `git cat-file`, `ls-tree` and `for-each-ref`. Objects are immutable, so what is read
by object id (trees of a commit, blobs, commit headers) is cached for the stand-in's lifetime.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# A git environment that ignores the machine's and the user's configuration.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}
_SAFE_REF = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/@{}~^+-]{1,250}$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
EMAIL_DOMAIN = "users.noreply.standin.local"


class GitError(Exception):
    """A git command failed (the message carries git's own words)."""


@dataclass(frozen=True)
class TreeEntry:
    """One entry of `git ls-tree -l`: a blob, a tree or a submodule commit."""

    path: str
    mode: str
    type: str  # blob | tree | commit
    sha: str
    size: int | None


@dataclass(frozen=True)
class CommitInfo:
    """A commit's header, as `git cat-file commit` shows it."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: tuple[str, str, datetime]  # name, email, when
    committer: tuple[str, str, datetime]
    message: str


def login_email(login: str) -> str:
    """The commit e-mail the stand-in uses for a user; `email_login` reads it back."""
    return f"{login}@{EMAIL_DOMAIN}"


def email_login(email: str) -> str | None:
    """The login behind a stand-in commit e-mail (None for any other address)."""
    name, _, domain = email.partition("@")
    return name if domain == EMAIL_DOMAIN and name else None


class GitRepo:
    """One bare repository: commit files onto branches, resolve refs, read trees and blobs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._trees: dict[tuple[str, bool], list[TreeEntry]] = {}
        self._blobs: dict[str, bytes] = {}
        self._commits: dict[str, CommitInfo] = {}
        self._known: set[str] = set()  # commit ids seen to exist
        self._merge_bases: dict[tuple[str, str], str | None] = {}
        self._branches: dict[str, str] | None = None  # dropped on every ref change

    @classmethod
    def create(cls, path: Path, default_branch: str) -> GitRepo:
        """`git init --bare` at `path` (refused if something is already there)."""
        if path.exists():
            raise GitError(f"{path} already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        _git(None, "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path))
        # Pushes over HTTP need receive-pack enabled; the stand-in never collects garbage so
        # every commit a test saw stays readable.
        with (path / "config").open("a", encoding="utf-8") as config:
            config.write("[http]\n\treceivepack = true\n[gc]\n\tauto = 0\n")
        return cls(path)

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        """Run `git ARGS` in this repository; GitError with git's message on failure."""
        return _git(self.path, *args, stdin=stdin)

    # -- refs -----------------------------------------------------------------------------
    def branches(self) -> dict[str, str]:
        """Every branch and the commit it points at."""
        with self.lock:
            if self._branches is None:
                out = self.run("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
                refs = {}
                for line in out.decode().splitlines():
                    name, _, sha = line.partition(" ")
                    refs[name.removeprefix("refs/heads/")] = sha
                self._branches = refs
                self._known.update(refs.values())
            return dict(self._branches)

    def refs_changed(self) -> None:
        """Forget cached branch heads (after a push or any ref update outside `commit`)."""
        with self.lock:
            self._branches = None

    def resolve(self, ref: str | None) -> str | None:
        """The commit a branch, tag, `refs/...` name or (abbreviated) sha names; None if none."""
        if not ref or not _SAFE_REF.match(ref):
            return None
        if _SHA.match(ref) and ref in self._known:
            return ref
        heads = self.branches()
        if ref in heads:
            return heads[ref]
        try:
            out = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
        except GitError:
            return None
        sha = out.decode().strip() or None
        if sha:
            self._known.add(sha)
        return sha

    def resolve_object(self, ref: str) -> tuple[str, str] | None:
        """(type, sha) of any object a ref or sha names (commit, tree, blob); None if none."""
        if not _SAFE_REF.match(ref):
            return None
        try:
            sha = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", ref)
            # rev-parse accepts any 40-hex id; cat-file says whether the object exists.
            kind = self.run("cat-file", "-t", sha.decode().strip())
        except GitError:
            return None
        return kind.decode().strip(), sha.decode().strip()

    def set_ref(self, ref: str, sha: str) -> None:
        """Point `ref` (a full name like refs/pull/1/head) at a commit."""
        with self.lock:
            self.run("update-ref", ref, sha)
            self._branches = None

    # -- objects --------------------------------------------------------------------------
    def commit_info(self, sha: str) -> CommitInfo:
        """The header of commit `sha` (cached: commits never change)."""
        if sha not in self._commits:
            raw = self.run("cat-file", "commit", sha).decode(errors="replace")
            head, _, message = raw.partition("\n\n")
            tree, parents, people = "", [], {}
            for line in head.splitlines():
                key, _, value = line.partition(" ")
                if key == "tree":
                    tree = value
                elif key == "parent":
                    parents.append(value)
                elif key in ("author", "committer"):
                    people[key] = _person(value)
            self._commits[sha] = CommitInfo(
                sha, tree, tuple(parents), people["author"], people["committer"], message
            )
        return self._commits[sha]

    def tree(self, treeish: str, *, recursive: bool = True) -> list[TreeEntry]:
        """Entries of a commit's or tree's tree (recursive: every blob and subtree)."""
        key = (treeish, recursive)
        if key not in self._trees:
            args = ["ls-tree", "-l", "-z", "--full-tree"]
            if recursive:
                args += ["-r", "-t"]
            entries = []
            for record in self.run(*args, treeish).split(b"\0"):
                if not record:
                    continue
                meta, _, path = record.decode(errors="surrogateescape").partition("\t")
                mode, kind, sha, size = meta.split()
                entries.append(TreeEntry(path, mode, kind, sha, None if size == "-" else int(size)))
            self._trees[key] = entries
        return self._trees[key]

    def files(self, commit: str) -> dict[str, TreeEntry]:
        """Every file (blob) at a commit by path."""
        return {e.path: e for e in self.tree(commit) if e.type == "blob"}

    def blobs(self, shas: list[str]) -> dict[str, bytes]:
        """Contents of blobs by sha, read in one `git cat-file --batch` (cached)."""
        missing = [s for s in dict.fromkeys(shas) if s not in self._blobs]
        if missing:
            out = self.run("cat-file", "--batch", stdin="\n".join(missing).encode() + b"\n")
            at = 0
            for sha in missing:
                end = out.index(b"\n", at)
                header = out[at:end].decode().split()
                at = end + 1
                if len(header) < 3:
                    continue  # "<sha> missing"
                size = int(header[2])
                if header[1] == "blob":
                    self._blobs[sha] = out[at : at + size]
                at += size + 1
        return {s: self._blobs[s] for s in shas if s in self._blobs}

    def blob(self, sha: str) -> bytes | None:
        """One blob's bytes; None if there is no such blob."""
        return self.blobs([sha]).get(sha)

    def text_files(self, commit: str) -> dict[str, str]:
        """Every file at a commit with its content as text (what the old in-memory store held)."""
        entries = self.files(commit)
        data = self.blobs([e.sha for e in entries.values()])
        return {p: data[e.sha].decode(errors="replace") for p, e in entries.items()}

    def log(self, head: str, base: str | None) -> list[str]:
        """Commits reachable from head but not from base, oldest first."""
        args = ["rev-list", "--reverse", head] + ([f"^{base}"] if base else [])
        return self.run(*args).decode().split()

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two commits (None for unrelated histories)."""
        if (a, b) not in self._merge_bases:
            try:
                found = self.run("merge-base", a, b).decode().strip() or None
            except GitError:
                found = None
            self._merge_bases[(a, b)] = found
        return self._merge_bases[(a, b)]

    # -- writes ---------------------------------------------------------------------------
    def commit(
        self,
        branch: str,
        changes: dict[str, str | bytes | None],
        *,
        parent: str | None,
        message: str,
        author: str,
        when: datetime | None = None,
    ) -> str:
        """Commit `changes` (None deletes a path) on `parent` and point `branch` at it."""
        stamp = int((when or datetime.now(UTC)).timestamp())
        person = f"{author} <{login_email(author)}> {stamp} +0000"
        ref = f"refs/heads/{branch}"
        msg = message.encode()
        parts = [] if parent else [f"reset {ref}\n".encode()]
        parts.append(f"commit {ref}\nauthor {person}\ncommitter {person}\n".encode())
        parts.append(b"data %d\n%s\n" % (len(msg), msg))
        if parent:
            parts.append(f"from {parent}\n".encode())
        for path, content in changes.items():
            quoted = _quote_path(path)
            if content is None:
                parts.append(b"D %s\n" % quoted)
                continue
            data = content.encode() if isinstance(content, str) else content
            parts.append(b"M 100644 inline %s\ndata %d\n%s\n" % (quoted, len(data), data))
        with self.lock:
            self.run("fast-import", "--quiet", "--force", "--done", stdin=b"".join(parts) + b"done\n")
            self._branches = None
            sha = self.run("rev-parse", ref).decode().strip()
            self._known.add(sha)
            return sha


def _quote_path(path: str) -> bytes:
    clean = path.strip("/")
    if not clean or any(part in ("", ".", "..", ".git") for part in clean.split("/")):
        raise GitError(f"refusing the path {path!r}: give a relative path inside the repository")
    if any(c in clean for c in '"\n\\') or clean.startswith(" "):
        escaped = clean.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'.encode()
    return clean.encode()


def _person(value: str) -> tuple[str, str, datetime]:
    name, _, rest = value.partition(" <")
    email, _, stamp = rest.partition("> ")
    seconds = int(stamp.split()[0]) if stamp else 0
    return name, email, datetime.fromtimestamp(seconds, UTC)


def _git(cwd: Path | None, *args: str, stdin: bytes | None = None) -> bytes:
    env = {**os.environ, **GIT_ENV}
    if cwd is not None:
        env["GIT_DIR"] = str(cwd)
    result = subprocess.run(
        ["git", *args], input=stdin, capture_output=True, env=env, check=False
    )
    if result.returncode != 0:
        raise GitError(f"git {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout
