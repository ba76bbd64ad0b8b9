"""GitHub's JSON shapes for the stand-in's records, as the REST API and webhooks send them.

Shapes follow docs.github.com and carry every field githubkit's models require; the big
repository object is GitHub's own example (standin/payloads) with its values patched.
"""

from __future__ import annotations

from dataclasses import dataclass

from standin.render_git import GitShapes
from standin.render_pulls import PullShapes
from standin.state import LEGACY_PERMISSION, CheckRun, IssueComment, Repo, StandInState, iso
from standin.templates import node_id, reactions, template

__all__ = ["APP_EVENTS", "APP_PERMISSIONS", "CI_APP", "AppIdentity", "Renderer", "rewrite", "template"]

# Permissions the stand-in's installation reports (what app.yml asks for).
APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "read",
}
APP_EVENTS = [
    "check_run",
    "check_suite",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "pull_request_review_thread",
    "status",
]


@dataclass(frozen=True)
class AppIdentity:
    """The GitHub App the stand-in plays host to."""

    id: int
    slug: str
    name: str
    owner: str
    description: str = "Agent OS phases as check runs"
    permissions: tuple[tuple[str, str], ...] = tuple(APP_PERMISSIONS.items())
    events: tuple[str, ...] = tuple(APP_EVENTS)

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"

    @property
    def client_id(self) -> str:
        """The App's OAuth client id (what "Sign in with GitHub" sends)."""
        return f"Iv1.{self.id:016x}"


# The CI whose check runs the stand-in can play (scenario `ci_check_run`): GitHub Actions,
# with its real App id and slug.
CI_APP = AppIdentity(
    id=15368, slug="github-actions", name="GitHub Actions", owner="github",
    description="Automate your workflow from idea to production",
    permissions=(("actions", "write"), ("checks", "write"), ("contents", "write"),
                 ("metadata", "read"), ("statuses", "write")),
    events=("check_run", "check_suite", "pull_request", "push"),
)


class Renderer(GitShapes, PullShapes):
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

    def public_user(self, login: str) -> dict:
        """GET /user: the signed-in user with the profile fields of `public-user`."""
        data = self.user(login)
        data.update(
            name=login, company=None, blog="", location=None, email=None, hireable=None,
            bio=None, public_repos=sum(1 for r in self.state.repos.values() if r.owner == login),
            public_gists=0, followers=0, following=0,
            created_at="2024-01-01T00:00:00Z", updated_at="2024-01-01T00:00:00Z",
        )
        return data

    def app_json(self, slug: str | None = None) -> dict:
        """The App `slug` names (a CI's), else the stand-in's own."""
        app = CI_APP if slug == CI_APP.slug else self.app
        stamp = "2024-01-01T00:00:00Z"
        return {
            "id": app.id,
            "slug": app.slug,
            "client_id": app.client_id,
            "node_id": node_id("App", app.id),
            "owner": self.user(app.owner),
            "name": app.name,
            "description": app.description,
            "external_url": f"{self.web}/apps/{app.slug}",
            "html_url": f"{self.web}/apps/{app.slug}",
            "created_at": stamp,
            "updated_at": stamp,
            "permissions": dict(app.permissions),
            "events": list(app.events),
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
            "client_id": self.app.client_id,
            "target_id": acct["id"],
            "target_type": acct["type"],
            "permissions": dict(self.app.permissions),
            "events": list(self.app.events),
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

    def full_repo(self, repo: Repo, permissions: dict | None = None) -> dict:
        """GET /repos/{o}/{r}: the repository with the counts only the REST answer carries."""
        data = self.repo(repo)
        data.update(network_count=0, subscribers_count=0, has_discussions=False)
        if permissions is not None:
            data["permissions"] = permissions
        return data

    def branch_short(self, repo: Repo, name: str, sha: str) -> dict:
        """A branch as GET /branches lists it."""
        return {
            "name": name,
            "commit": {"sha": sha, "url": f"{self.api}/repos/{repo.full_name}/commits/{sha}"},
            "protected": False,
        }

    def repo_ref(self, repo: Repo) -> dict:
        """The small `{id, url, name}` repository in a check run's pull_requests."""
        return {"id": repo.id, "url": f"{self.api}/repos/{repo.full_name}", "name": repo.name}

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
            "app": self.app_json(run.app),
            "pull_requests": pulls,
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
            "reactions": reactions(f"{api}/issues/comments/{comment.id}/reactions"),
        }

    def collaborator_permission(self, repo: Repo, login: str) -> dict:
        role = self.state.role(repo, login)
        user = self.user(login)
        user["role_name"] = role
        user["permissions"] = self.state.permissions(repo, login)
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
