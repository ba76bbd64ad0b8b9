"""GitHub's JSON for git data: contents, trees, blobs, commits, comparisons and PR files.

Everything is read from the repository's real git objects (`standin.git`), so a file's `sha` is
its blob id and a tree's is its tree id, as on GitHub.
"""

from __future__ import annotations

import base64
import difflib

from standin.git import CommitInfo, GitRepo, TreeEntry, email_login
from standin.state import Repo, iso


def b64_lines(data: bytes) -> str:
    """Base64 wrapped at 60 characters per line, as GitHub sends file and blob contents."""
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


class GitShapes:
    """Mixed into `Renderer` (which supplies `api`, `web`, `user` and `node_id`)."""

    api: str
    web: str

    def user(self, login: str) -> dict:  # pragma: no cover - provided by Renderer
        raise NotImplementedError

    # -- contents -------------------------------------------------------------------------
    def content(self, repo: Repo, path: str, ref: str | None) -> dict | list | None:
        """GET /contents/{path}: a file (base64) or a directory listing; None if absent."""
        ref_q = ref or repo.default_branch
        sha = repo.git.resolve(ref_q)
        if sha is None:
            return None
        path = path.strip("/")
        entries = repo.git.tree(sha)
        if path:
            match = next((e for e in entries if e.path == path), None)
            if match is None:
                return None
            if match.type == "blob":
                data = repo.git.blob(match.sha) or b""
                entry = self._content_entry(repo, match, ref_q)
                entry.update(encoding="base64", content=b64_lines(data))
                return entry
            if match.type == "commit":
                return self._content_entry(repo, match, ref_q)
        prefix = f"{path}/" if path else ""
        children = [
            e for e in entries if e.path.startswith(prefix) and "/" not in e.path[len(prefix) :]
        ]
        return [self._content_entry(repo, e, ref_q) for e in sorted(children, key=lambda e: e.path)]

    def _content_entry(self, repo: Repo, entry: TreeEntry, ref: str) -> dict:
        kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.type]
        if entry.mode == "120000":
            kind = "symlink"
        api = f"{self.api}/repos/{repo.full_name}"
        git_kind = "trees" if entry.type == "tree" else "blobs"
        view = "tree" if entry.type == "tree" else "blob"
        links = {
            "self": f"{api}/contents/{entry.path}?ref={ref}",
            "git": f"{api}/git/{git_kind}/{entry.sha}",
            "html": f"{self.web}/{repo.full_name}/{view}/{ref}/{entry.path}",
        }
        return {
            "type": kind,
            "size": entry.size or 0,
            "name": entry.path.rsplit("/", 1)[-1],
            "path": entry.path,
            "sha": entry.sha,
            "url": links["self"],
            "git_url": links["git"],
            "html_url": links["html"],
            "download_url": (
                f"{self.web}/{repo.full_name}/raw/{ref}/{entry.path}" if kind == "file" else None
            ),
            "_links": links,
        }

    # -- trees and blobs ------------------------------------------------------------------
    def git_tree(self, repo: Repo, tree_sha: str, entries: list[TreeEntry]) -> dict:
        """GET /git/trees/{sha}: the tree's entries (paths relative to it)."""
        api = f"{self.api}/repos/{repo.full_name}/git"
        items = []
        for e in entries:
            item = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
            if e.type == "blob":
                item.update(size=e.size or 0, url=f"{api}/blobs/{e.sha}")
            elif e.type == "tree":
                item["url"] = f"{api}/trees/{e.sha}"
            items.append(item)
        return {"sha": tree_sha, "url": f"{api}/trees/{tree_sha}", "tree": items, "truncated": False}

    def git_blob(self, repo: Repo, sha: str, data: bytes) -> dict:
        """GET /git/blobs/{sha}: the blob's bytes in base64."""
        return {
            "sha": sha,
            "node_id": _node("Blob", sha),
            "size": len(data),
            "url": f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}",
            "content": b64_lines(data),
            "encoding": "base64",
        }

    # -- commits and comparisons ----------------------------------------------------------
    def commit(self, repo: Repo, sha: str, *, with_files: bool = True) -> dict:
        """GET /commits/{ref}: a commit, its parents and (with files) its diff to the first."""
        info = repo.git.commit_info(sha)
        api = f"{self.api}/repos/{repo.full_name}"
        data = {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": _node("Commit", sha),
            "html_url": f"{self.web}/{repo.full_name}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": _git_user(info.author),
                "committer": _git_user(info.committer),
                "message": info.message.rstrip("\n"),
                "comment_count": 0,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "payload": None,
                    "signature": None,
                    "verified_at": None,
                },
            },
            "author": self._commit_user(info.author[1]),
            "committer": self._commit_user(info.committer[1]),
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/commits/{p}",
                    "html_url": f"{self.web}/{repo.full_name}/commit/{p}",
                }
                for p in info.parents
            ],
        }
        if with_files:
            files = self.diff_files(repo, info.parents[0] if info.parents else None, sha)
            adds = sum(f["additions"] for f in files)
            dels = sum(f["deletions"] for f in files)
            data.update(stats={"additions": adds, "deletions": dels, "total": adds + dels},
                        files=files)
        return data

    def comparison(self, repo: Repo, base: str, head: str, base_ref: str, head_ref: str) -> dict:
        """GET /compare/{base}...{head}: commits and files from the merge base to head."""
        git = repo.git
        merge_base = git.merge_base(base, head)
        ahead = git.log(head, base)
        behind = git.log(base, head)
        status = (
            "identical" if not ahead and not behind
            else "ahead" if not behind
            else "behind" if not ahead
            else "diverged"
        )
        api = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/compare/{base_ref}...{head_ref}"
        return {
            "url": f"{api}/compare/{base_ref}...{head_ref}",
            "html_url": html,
            "permalink_url": f"{self.web}/{repo.full_name}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": self.commit(repo, base, with_files=False),
            "merge_base_commit": self.commit(repo, merge_base or base, with_files=False),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": [self.commit(repo, c, with_files=False) for c in ahead],
            "files": self.diff_files(repo, merge_base, head),
        }

    def diff_files(self, repo: Repo, base: str | None, head: str) -> list[dict]:
        """Files that differ between two commits, as diff-entry objects (no renames)."""
        git = repo.git
        before = git.files(base) if base else {}
        after = git.files(head)
        changed = sorted(p for p in set(before) | set(after)
                         if getattr(before.get(p), "sha", None) != getattr(after.get(p), "sha", None))
        contents = git.blobs([e.sha for p in changed for e in (before.get(p), after.get(p)) if e])
        out = []
        for path in changed:
            old, new = before.get(path), after.get(path)
            old_text = _text(contents.get(old.sha)) if old else None
            new_text = _text(contents.get(new.sha)) if new else None
            status = "added" if old is None else "removed" if new is None else "modified"
            patch, adds, dels = _patch(old_text, new_text)
            at = new or old
            out.append(
                {
                    "sha": at.sha,
                    "filename": path,
                    "status": status,
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "blob_url": f"{self.web}/{repo.full_name}/blob/{head}/{path}",
                    "raw_url": f"{self.web}/{repo.full_name}/raw/{head}/{path}",
                    "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={head}",
                    "patch": patch,
                }
            )
        return out

    def _commit_user(self, email: str) -> dict | None:
        login = email_login(email)
        return None if login is None else self.user(login)


def _git_user(person: tuple) -> dict:
    name, email, when = person
    return {"name": name, "email": email, "date": iso(when)}


def _node(kind: str, sha: str) -> str:
    return base64.b64encode(f"0:{kind}{sha}".encode()).decode()


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode(errors="replace")


def _patch(before: str | None, after: str | None) -> tuple[str, int, int]:
    """GitHub's `patch` (hunks without file headers) and the added/deleted line counts."""
    old = (before or "").splitlines()
    new = (after or "").splitlines()
    lines = list(difflib.unified_diff(old, new, lineterm="", n=3))[2:]
    adds = sum(1 for line in lines if line.startswith("+"))
    dels = sum(1 for line in lines if line.startswith("-"))
    return "\n".join(lines), adds, dels


__all__ = ["CommitInfo", "GitRepo", "GitShapes", "b64_lines"]
