"""A narrow stand-in for GitHub's git database API (trees and blobs), served from a real
git repository on disk, recording every request: for unit tests of the commit file source.
The end-to-end tests use the GitHub stand-in instead."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path


def git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, input=input).stdout


def commit(repo: Path, files: dict[str, str | None], message: str = "change") -> str:
    """Write (None: delete) `files` in the work tree of `repo`, commit, return the commit SHA."""
    for rel, text in files.items():
        path = repo / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").decode().strip()


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


class GitAPI:
    """`get(url)` answering /repos/{o}/{r}/git/trees/{sha} and /git/blobs/{sha} from `repo`."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.requests: list[str] = []

    def __call__(self, url: str):
        self.requests.append(url)
        kind, sha = url.split("/git/")[1].split("/", 1)
        if kind == "trees":
            out = git(self.repo, "ls-tree", "-l", sha).decode()
            tree = []
            for line in out.splitlines():
                meta, name = line.split("\t", 1)
                mode, typ, osha, size = meta.split()
                tree.append({"path": name, "mode": mode, "type": typ, "sha": osha,
                             **({"size": int(size)} if size != "-" else {})})
            return {"sha": sha, "tree": tree, "truncated": False}
        data = git(self.repo, "cat-file", "blob", sha)
        return {"sha": sha, "size": len(data), "encoding": "base64", "content": base64.b64encode(data).decode()}
