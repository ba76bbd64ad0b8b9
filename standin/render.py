"""GitHub's JSON shapes for the stand-in's records, as the REST API and webhooks send them.

Shapes follow docs.github.com and carry every field githubkit's models require; the big
repository object is GitHub's own example (standin/payloads) with its values patched.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from standin.state import (
    LEGACY_PERMISSION,
    CheckRun,
    IssueComment,
    PullRequest,
    Repo,
    Review,
    ReviewComment,
    StandInState,
    iso,
)

PAYLOADS = Path(__file__).resolve().parent / "payloads"

# Permissions the stand-in's installation reports (what app.yml asks for).
APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
}
APP_EVENTS = [
    "check_run",
    "check_suite",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
]


@cache
def _template_text(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


def template(name: str) -> dict:
    """A fresh copy of a GitHub example payload, e.g. `pull_request/opened.payload.json`."""
    return json.loads(_template_text(name))


def blob_sha(content: str) -> str:
    """Git's blob id for a file's content (what GitHub reports as a file's `sha`)."""
    data = content.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def node_id(kind: str, number: int) -> str:
    """An opaque GraphQL-style node id."""
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


@dataclass(frozen=True)
class AppIdentity:
    """The GitHub App the stand-in plays host to."""

    id: int
    slug: str
    name: str
    owner: str

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


class Renderer:
    """Turns state records into GitHub JSON with URLs under the stand-in's base URL."""

    def __init__(self, state: StandInState, base_url: str, app: AppIdentity) -> None:
        self.state = state
        self.api = base_url.rstrip("/")
        self.web = self.api  # html_url links land on the stand-in too (unserved, harmless)
        self.app = app

    # -- people and apps ------------------------------------------------------------------
    def user(self, login: str) -> dict:
        u = self.state.user(login)
        base = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": u.id,
            "node_id": node_id("User", u.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.web}/{login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": u.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def app_json(self) -> dict:
        stamp = "2024-01-01T00:00:00Z"
        return {
            "id": self.app.id,
            "slug": self.app.slug,
            "client_id": f"Iv1.{self.app.id:016x}",
            "node_id": node_id("App", self.app.id),
            "owner": self.user(self.app.owner),
            "name": self.app.name,
            "description": "Agent OS phases as check runs",
            "external_url": f"{self.web}/apps/{self.app.slug}",
            "html_url": f"{self.web}/apps/{self.app.slug}",
            "created_at": stamp,
            "updated_at": stamp,
            "permissions": APP_PERMISSIONS,
            "events": APP_EVENTS,
        }

    def installation(self, installation_id: int, account: str) -> dict:
        stamp = "2024-01-01T00:00:00Z"
        acct = self.user(account)
        return {
            "id": installation_id,
            "account": acct,
            "repository_selection": "all",
            "access_tokens_url": f"{self.api}/app/installations/{installation_id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/settings/installations/{installation_id}",
            "app_id": self.app.id,
            "app_slug": self.app.slug,
            "client_id": f"Iv1.{self.app.id:016x}",
            "target_id": acct["id"],
            "target_type": acct["type"],
            "permissions": APP_PERMISSIONS,
            "events": APP_EVENTS,
            "created_at": stamp,
            "updated_at": stamp,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    # -- repositories ---------------------------------------------------------------------
    def repo(self, repo: Repo) -> dict:
        data = template("pull_request/opened.payload.json")["repository"]
        old_full = data["full_name"]
        old_owner = data["owner"]["login"]
        pairs = [
            (f"https://api.github.com/repos/{old_full}", f"{self.api}/repos/{repo.full_name}"),
            (f"https://github.com/{old_full}", f"{self.web}/{repo.full_name}"),
            (f"git://github.com/{old_full}", f"git://127.0.0.1/{repo.full_name}"),
            (f"git@github.com:{old_full}", f"git@127.0.0.1:{repo.full_name}"),
            (f"https://api.github.com/users/{old_owner}", f"{self.api}/users/{repo.owner}"),
        ]
        data = rewrite(data, pairs)
        stamp = "2024-01-01T00:00:00Z"
        data.update(
            id=repo.id,
            node_id=node_id("Repository", repo.id),
            name=repo.name,
            full_name=repo.full_name,
            owner=self.user(repo.owner),
            private=repo.private,
            visibility="private" if repo.private else "public",
            default_branch=repo.default_branch,
            created_at=stamp,
            updated_at=stamp,
            pushed_at=stamp,
            license=None,
            description=None,
            homepage=None,
            mirror_url=None,
            language="Python",
            fork=False,
            forks=0,
            forks_count=0,
            open_issues=0,
            open_issues_count=0,
            stargazers_count=0,
            watchers=0,
            watchers_count=0,
            size=1,
            has_pages=False,
            disabled=False,
            archived=False,
        )
        return data

    def repo_ref(self, repo: Repo) -> dict:
        """The small `{id, url, name}` repository in a check run's pull_requests."""
        return {"id": repo.id, "url": f"{self.api}/repos/{repo.full_name}", "name": repo.name}

    # -- pull requests --------------------------------------------------------------------
    def pull(self, pr: PullRequest) -> dict:
        repo = self.state.repo(pr.repo)
        data = template("pull_request/opened.payload.json")["pull_request"]
        api = f"{self.api}/repos/{pr.repo}"
        html = f"{self.web}/{pr.repo}/pull/{pr.number}"
        repo_json = self.repo(repo)
        head_repo = dict(repo_json)
        head_owner = repo.owner
        if pr.from_fork:
            head_owner = f"{pr.author}"
            head_repo.update(
                id=repo.id + 1_000_000,
                full_name=f"{head_owner}/{repo.name}",
                owner=self.user(head_owner),
                fork=True,
            )
        files = self.pull_files(pr)
        data.update(
            url=f"{api}/pulls/{pr.number}",
            id=pr.id,
            node_id=node_id("PullRequest", pr.id),
            html_url=html,
            diff_url=f"{html}.diff",
            patch_url=f"{html}.patch",
            issue_url=f"{api}/issues/{pr.number}",
            commits_url=f"{api}/pulls/{pr.number}/commits",
            review_comments_url=f"{api}/pulls/{pr.number}/comments",
            review_comment_url=f"{api}/pulls/comments{{/number}}",
            comments_url=f"{api}/issues/{pr.number}/comments",
            statuses_url=f"{api}/statuses/{pr.head_sha}",
            number=pr.number,
            state=pr.state,
            locked=False,
            title=pr.title,
            user=self.user(pr.author),
            body=pr.body,
            labels=[],
            milestone=None,
            assignee=None,
            assignees=[],
            requested_reviewers=[],
            requested_teams=[],
            active_lock_reason=None,
            created_at=iso(pr.created_at),
            updated_at=iso(pr.updated_at),
            closed_at=iso(pr.closed_at),
            merged_at=iso(pr.closed_at) if pr.merged else None,
            merge_commit_sha=None,
            draft=pr.draft,
            head={
                "label": f"{head_owner}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "user": self.user(head_owner),
                "repo": head_repo,
            },
            base={
                "label": f"{repo.owner}:{pr.base_ref}",
                "ref": pr.base_ref,
                "sha": pr.base_sha,
                "user": self.user(repo.owner),
                "repo": repo_json,
            },
            _links={
                "self": {"href": f"{api}/pulls/{pr.number}"},
                "html": {"href": html},
                "issue": {"href": f"{api}/issues/{pr.number}"},
                "comments": {"href": f"{api}/issues/{pr.number}/comments"},
                "review_comments": {"href": f"{api}/pulls/{pr.number}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/pulls/{pr.number}/commits"},
                "statuses": {"href": f"{api}/statuses/{pr.head_sha}"},
            },
            author_association=self.state.author_association(repo, pr.author),
            auto_merge=None,
            merged=pr.merged,
            mergeable=None if pr.merged else True,
            rebaseable=None if pr.merged else True,
            mergeable_state="unknown" if pr.merged else "clean",
            merged_by=None,
            comments=sum(
                1
                for c in self.state.comments.values()
                if (c.repo, c.number) == (pr.repo, pr.number)
            ),
            review_comments=sum(
                1
                for c in self.state.review_comments.values()
                if (c.repo, c.number) == (pr.repo, pr.number)
            ),
            maintainer_can_modify=False,
            commits=1,
            additions=sum(f["additions"] for f in files),
            deletions=sum(f["deletions"] for f in files),
            changed_files=len(files),
        )
        return data

    def pull_minimal(self, pr: PullRequest) -> dict:
        repo = self.state.repo(pr.repo)
        ref = self.repo_ref(repo)
        return {
            "url": f"{self.api}/repos/{pr.repo}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": ref},
            "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": ref},
        }

    def pull_files(self, pr: PullRequest) -> list[dict]:
        """The PR's diff as GET /pulls/{n}/files lists it (base commit vs head commit)."""
        repo = self.state.repo(pr.repo)
        base = repo.commits[pr.base_sha].files
        head = repo.commits[pr.head_sha].files
        out = []
        for path in sorted(set(base) | set(head)):
            before, after = base.get(path), head.get(path)
            if before == after:
                continue
            if before is None:
                status, adds, dels = "added", _lines(after), 0
            elif after is None:
                status, adds, dels = "removed", 0, _lines(before)
            else:
                status, adds, dels = "modified", _lines(after), _lines(before)
            sha = blob_sha(after if after is not None else before)
            raw = f"{self.web}/{pr.repo}/raw/{pr.head_sha}/{path}"
            out.append(
                {
                    "sha": sha,
                    "filename": path,
                    "status": status,
                    "additions": adds,
                    "deletions": dels,
                    "changes": adds + dels,
                    "blob_url": f"{self.web}/{pr.repo}/blob/{pr.head_sha}/{path}",
                    "raw_url": raw,
                    "contents_url": f"{self.api}/repos/{pr.repo}/contents/{path}?ref={pr.head_sha}",
                    "patch": _patch(before, after),
                }
            )
        return out

    def review(self, review: Review) -> dict:
        repo = self.state.repo(review.repo)
        html = f"{self.web}/{review.repo}/pull/{review.number}#pullrequestreview-{review.id}"
        pr_url = f"{self.api}/repos/{review.repo}/pulls/{review.number}"
        return {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(review.user),
            "body": review.body or "",
            "state": review.state,
            "html_url": html,
            "pull_request_url": pr_url,
            "author_association": self.state.author_association(repo, review.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "submitted_at": iso(review.submitted_at),
            "commit_id": review.commit_id,
        }

    def review_comment(self, comment: ReviewComment) -> dict:
        repo = self.state.repo(comment.repo)
        api = f"{self.api}/repos/{comment.repo}"
        html = f"{self.web}/{comment.repo}/pull/{comment.number}#discussion_r{comment.id}"
        data = {
            "url": f"{api}/pulls/comments/{comment.id}",
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": f"@@ -1,{comment.line} +1,{comment.line} @@",
            "path": comment.path,
            "position": comment.line,
            "original_position": comment.line,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.user(comment.user),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.created_at),
            "html_url": html,
            "pull_request_url": f"{api}/pulls/{comment.number}",
            "author_association": self.state.author_association(repo, comment.user),
            "_links": {
                "self": {"href": f"{api}/pulls/comments/{comment.id}"},
                "html": {"href": html},
                "pull_request": {"href": f"{api}/pulls/{comment.number}"},
            },
            "reactions": _reactions(f"{api}/pulls/comments/{comment.id}/reactions"),
            "start_line": None,
            "original_start_line": None,
            "start_side": None,
            "line": comment.line,
            "original_line": comment.line,
            "side": "RIGHT",
            "subject_type": "line",
        }
        if comment.in_reply_to is not None:
            data["in_reply_to_id"] = comment.in_reply_to
        return data

    # -- checks and comments --------------------------------------------------------------
    def check_run(self, run: CheckRun) -> dict:
        api = f"{self.api}/repos/{run.repo}"
        pulls = [
            self.pull_minimal(pr)
            for pr in self.state.pulls.values()
            if pr.repo == run.repo and pr.head_sha == run.head_sha and not pr.from_fork
        ]
        output = run.output
        return {
            "id": run.id,
            "head_sha": run.head_sha,
            "node_id": node_id("CheckRun", run.id),
            "external_id": run.external_id or "",
            "url": f"{api}/check-runs/{run.id}",
            "html_url": f"{self.web}/{run.repo}/runs/{run.id}",
            "details_url": run.details_url or f"{self.web}/{run.repo}/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": output.get("title"),
                "summary": output.get("summary"),
                "text": output.get("text"),
                "annotations_count": len(output.get("annotations") or []),
                "annotations_url": f"{api}/check-runs/{run.id}/annotations",
            },
            "name": run.name,
            "check_suite": {"id": run.check_suite_id},
            "app": self.app_json(),
            "pull_requests": pulls,
            "deployment": None,
        }

    def issue_comment(self, comment: IssueComment) -> dict:
        repo = self.state.repo(comment.repo)
        api = f"{self.api}/repos/{comment.repo}"
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{api}/issues/comments/{comment.id}",
            "html_url": f"{self.web}/{comment.repo}/pull/{comment.number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self.user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "issue_url": f"{api}/issues/{comment.number}",
            "author_association": self.state.author_association(repo, comment.user),
            "performed_via_github_app": (
                self.app_json() if comment.user == self.app.bot_login else None
            ),
            "reactions": _reactions(f"{api}/issues/comments/{comment.id}/reactions"),
        }

    def issue_for_pull(self, pr: PullRequest) -> dict:
        """A pull request seen as an issue (what issue_comment events carry)."""
        repo = self.state.repo(pr.repo)
        api = f"{self.api}/repos/{pr.repo}"
        html = f"{self.web}/{pr.repo}/pull/{pr.number}"
        return {
            "url": f"{api}/issues/{pr.number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{pr.number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{pr.number}/comments",
            "events_url": f"{api}/issues/{pr.number}/events",
            "html_url": html,
            "id": pr.id + 500_000,
            "node_id": node_id("Issue", pr.id),
            "number": pr.number,
            "title": pr.title,
            "user": self.user(pr.author),
            "labels": [],
            "state": pr.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": sum(
                1
                for c in self.state.comments.values()
                if (c.repo, c.number) == (pr.repo, pr.number)
            ),
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "author_association": self.state.author_association(repo, pr.author),
            "active_lock_reason": None,
            "draft": pr.draft,
            "body": pr.body,
            "reactions": _reactions(f"{api}/issues/{pr.number}/reactions"),
            "pull_request": {
                "url": f"{api}/pulls/{pr.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": iso(pr.closed_at) if pr.merged else None,
            },
            "timeline_url": f"{api}/issues/{pr.number}/timeline",
            "performed_via_github_app": None,
            "state_reason": None,
        }

    def content(self, repo: Repo, path: str, ref: str | None) -> dict | list | None:
        """GET /contents/{path}: a file (base64) or a directory listing; None if absent."""
        files = repo.snapshot(ref)
        if files is None:
            return None
        ref_q = ref or repo.default_branch
        path = path.strip("/")
        if path in files:
            return self._content_entry(repo, path, ref_q, files[path], with_content=True)
        prefix = f"{path}/" if path else ""
        children: dict[str, str | None] = {}
        for name, text in files.items():
            if name.startswith(prefix):
                head, sep, _ = name[len(prefix) :].partition("/")
                children[head] = None if sep else text
        if not children:
            return None
        listing = []
        for head, text in sorted(children.items()):
            child = f"{prefix}{head}"
            if text is None:
                listing.append(self._dir_entry(repo, child, ref_q))
            else:
                listing.append(self._content_entry(repo, child, ref_q, text, with_content=False))
        return listing

    def _content_entry(
        self, repo: Repo, path: str, ref: str, text: str, *, with_content: bool
    ) -> dict:
        sha = blob_sha(text)
        api = f"{self.api}/repos/{repo.full_name}"
        links = {
            "self": f"{api}/contents/{path}?ref={ref}",
            "git": f"{api}/git/blobs/{sha}",
            "html": f"{self.web}/{repo.full_name}/blob/{ref}/{path}",
        }
        entry = {
            "type": "file",
            "size": len(text.encode()),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": links["self"],
            "git_url": links["git"],
            "html_url": links["html"],
            "download_url": f"{self.web}/{repo.full_name}/raw/{ref}/{path}",
            "_links": links,
        }
        if with_content:
            # GitHub wraps the base64 at 60 characters per line.
            encoded = base64.b64encode(text.encode()).decode()
            lines = [encoded[i : i + 60] for i in range(0, len(encoded), 60)]
            entry.update(encoding="base64", content="\n".join(lines) + "\n")
        return entry

    def _dir_entry(self, repo: Repo, path: str, ref: str) -> dict:
        api = f"{self.api}/repos/{repo.full_name}"
        sha = hashlib.sha1(f"tree:{path}".encode()).hexdigest()
        links = {
            "self": f"{api}/contents/{path}?ref={ref}",
            "git": f"{api}/git/trees/{sha}",
            "html": f"{self.web}/{repo.full_name}/tree/{ref}/{path}",
        }
        return {
            "type": "dir",
            "size": 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": links["self"],
            "git_url": links["git"],
            "html_url": links["html"],
            "download_url": None,
            "_links": links,
        }

    def collaborator_permission(self, repo: Repo, login: str) -> dict:
        role = repo.collaborators.get(login)
        if login == repo.owner:
            role = "admin"
        if role is None:
            role = "none" if repo.private else "read"
        user = self.user(login)
        user["role_name"] = role
        user["permissions"] = {
            "admin": role == "admin",
            "maintain": role in ("admin", "maintain"),
            "push": role in ("admin", "maintain", "write"),
            "triage": role in ("admin", "maintain", "write", "triage"),
            "pull": role != "none",
        }
        return {"permission": LEGACY_PERMISSION[role], "role_name": role, "user": user}


def rewrite(obj: object, pairs: list[tuple[str, str]]) -> object:
    """Replace URL prefixes in every string of a JSON value (example payload -> stand-in)."""
    if isinstance(obj, dict):
        return {k: rewrite(v, pairs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rewrite(v, pairs) for v in obj]
    if isinstance(obj, str):
        for old, new in pairs:
            if obj.startswith(old):
                return new + obj[len(old) :]
    return obj


def _lines(text: str | None) -> int:
    return 0 if not text else len(text.splitlines())


def _patch(before: str | None, after: str | None) -> str:
    old = (before or "").splitlines()
    new = (after or "").splitlines()
    body = [f"-{line}" for line in old] + [f"+{line}" for line in new]
    return f"@@ -{1 if old else 0},{len(old)} +{1 if new else 0},{len(new)} @@\n" + "\n".join(body)


def _reactions(url: str) -> dict:
    return {
        "url": url,
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }
