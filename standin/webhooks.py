"""Webhooks as GitHub sends them: example payloads patched with the stand-in's records, signed.

Templates are GitHub's own examples (standin/payloads, from octokit/webhooks, MIT). Each builder
keeps the template's keys and replaces the objects it knows (repository, pull request, review,
check run, sender, installation) with the stand-in's, so handlers see GitHub's real shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field

import httpx

from standin.render import Renderer, template
from standin.state import (
    CheckRun,
    CommitStatus,
    IssueComment,
    PullRequest,
    Review,
    ReviewComment,
    ReviewThread,
    iso,
    now,
)

USER_AGENT = "GitHub-Hookshot/f3b1f5a"
# Review events carry a pull request without the counts and merge state (GitHub's own shape).
_NOT_IN_REVIEW_EVENTS = (
    "additions", "changed_files", "comments", "commits", "deletions", "maintainer_can_modify",
    "mergeable", "mergeable_state", "merged", "merged_by", "rebaseable", "review_comments",
)


@dataclass
class Delivery:
    """One webhook delivery: what was (or will be) POSTed, and the answer to the last send."""

    id: str
    event: str
    body: bytes
    headers: dict[str, str]
    response: httpx.Response | None = None
    attempts: list[int] = field(default_factory=list)  # status code of each send

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


# GitHub's order: a suite concludes with the first of these any of its runs has.
_SUITE_ORDER = ("action_required", "cancelled", "timed_out", "failure", "neutral", "success", "skipped", "stale")


def suite_conclusion(conclusions: list[str | None]) -> str:
    """A check suite's conclusion: the highest-priority conclusion among its runs."""
    return next((c for c in _SUITE_ORDER if c in conclusions), "success")


def signature_256(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value: `sha256=` + HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def make_delivery(event: str, payload: dict, *, secret: str, hook_id: int, app_id: int) -> Delivery:
    """Serialise and sign a payload with the headers GitHub sends."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    delivery_id = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-ID": str(app_id),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        # GitHub still sends the legacy SHA-1 signature beside the SHA-256 one.
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": signature_256(body, secret),
    }
    return Delivery(id=delivery_id, event=event, body=body, headers=headers)


class PayloadBuilder:
    """Builds event payloads from the templates and the stand-in's state."""

    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer
        self.state = renderer.state

    def _common(self, data: dict, repo: str, sender: str) -> dict:
        found = self.state.repo(repo)
        data.pop("organization", None)  # our owners are users, not organizations
        data["repository"] = self.r.repo(found)
        data["sender"] = self.r.user(sender)
        data["installation"] = {
            "id": found.installation_id,
            "node_id": f"MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{found.installation_id}",
        }
        return data

    def pull_request(
        self, pr: PullRequest, action: str, sender: str, before: str | None = None
    ) -> dict:
        name = {"opened": "opened", "synchronize": "synchronize", "closed": "closed"}[action]
        data = template(f"pull_request/{name}.payload.json")
        data.update(action=action, number=pr.number, pull_request=self.r.pull(pr))
        if action == "synchronize":
            data.update(before=before, after=pr.head_sha)
        return self._common(data, pr.repo, sender)

    def _trimmed_pull(self, pr: PullRequest) -> dict:
        data = self.r.pull(pr)
        for key in _NOT_IN_REVIEW_EVENTS:
            data.pop(key, None)
        return data

    def pull_request_review(
        self, pr: PullRequest, review: Review, action: str, sender: str
    ) -> dict:
        data = template(f"pull_request_review/{action}.payload.json")
        body = data["review"]
        body.update(self.r.review(review))
        body["state"] = review.state.lower()
        data.update(action=action, review=body, pull_request=self._trimmed_pull(pr))
        return self._common(data, pr.repo, sender)

    def pull_request_review_comment(self, pr: PullRequest, comment: ReviewComment) -> dict:
        data = template("pull_request_review_comment/created.payload.json")
        body = data["comment"]
        body.update(self.r.review_comment(comment))
        data.update(action="created", comment=body, pull_request=self._trimmed_pull(pr))
        return self._common(data, pr.repo, comment.user)

    def pull_request_review_thread(
        self, pr: PullRequest, thread: ReviewThread, action: str, sender: str
    ) -> dict:
        data = template(f"pull_request_review_thread/{action}.payload.json")
        comments = [
            self.r.review_comment(self.state.review_comments[i]) for i in thread.comment_ids
        ]
        data.update(
            action=action,
            thread={"node_id": thread.node_id, "comments": comments},
            pull_request=self._trimmed_pull(pr),
        )
        return self._common(data, pr.repo, sender)

    def issue_comment(self, pr: PullRequest, comment: IssueComment) -> dict:
        data = template("issue_comment/created.payload.json")
        body = data["comment"]
        body.update(self.r.issue_comment(comment))
        data.update(action="created", issue=self.r.issue_for_pull(pr), comment=body)
        return self._common(data, pr.repo, comment.user)

    def check_run(
        self, run: CheckRun, action: str, sender: str, identifier: str | None = None
    ) -> dict:
        data = template(f"check_run/{action}.payload.json")
        body = self.r.check_run(run)
        suite = data["check_run"]["check_suite"]
        branch = next(
            (pr.head_ref for pr in self.state.pulls.values() if pr.head_sha == run.head_sha),
            None,
        )
        suite.update(
            id=run.check_suite_id,
            node_id=f"CS_{run.check_suite_id}",
            head_branch=branch,
            head_sha=run.head_sha,
            status="completed" if run.status == "completed" else "in_progress",
            conclusion=run.conclusion if run.status == "completed" else None,
            url=f"{self.r.api}/repos/{run.repo}/check-suites/{run.check_suite_id}",
            before=None,
            after=run.head_sha,
            pull_requests=body["pull_requests"],
            app=self.r.app_json(run.app),
            created_at=iso(run.started_at),
            updated_at=iso(now()),
        )
        body["check_suite"] = suite
        data.update(action=action, check_run={**data["check_run"], **body})
        if action == "requested_action":
            data["requested_action"] = {"identifier": identifier}
        return self._common(data, run.repo, sender)

    def check_suite(self, runs: list[CheckRun], action: str, sender: str) -> dict:
        """check_suite.completed: one App's check runs on one commit, all completed."""
        first = runs[0]
        data = template(f"check_suite/{action}.payload.json")
        suite = data["check_suite"]
        pulls = self.r.check_run(first)["pull_requests"]
        branch = next((pr.head_ref for pr in self.state.pulls.values()
                       if pr.repo == first.repo and pr.head_sha == first.head_sha), None)
        url = f"{self.r.api}/repos/{first.repo}/check-suites/{first.check_suite_id}"
        commit = self.state.repo(first.repo).git.commit_info(first.head_sha)
        suite.update(
            id=first.check_suite_id,
            node_id=f"CS_{first.check_suite_id}",
            head_branch=branch,
            head_sha=first.head_sha,
            status="completed",
            conclusion=suite_conclusion([r.conclusion for r in runs]),
            url=url,
            before=None,
            after=first.head_sha,
            pull_requests=pulls,
            app=self.r.app_json(first.app),
            created_at=iso(min(r.started_at or now() for r in runs)),
            updated_at=iso(now()),
            latest_check_runs_count=len(runs),
            check_runs_url=f"{url}/check-runs",
            head_commit={
                "id": first.head_sha,
                "tree_id": commit.tree,
                "message": commit.message,
                "timestamp": iso(commit.committer[2]),
                "author": {"name": commit.author[0], "email": commit.author[1]},
                "committer": {"name": commit.committer[0], "email": commit.committer[1]},
            },
        )
        data.update(action=action, check_suite=suite)
        return self._common(data, first.repo, sender)

    def status(self, st: CommitStatus) -> dict:
        """A commit status was set (GitHub sends no example for it; built from its schema)."""
        repo = self.state.repo(st.repo)
        commit = self.r.commit(repo, st.sha, with_files=False)
        branches = [{"name": name, "commit": {"sha": sha, "url": f"{self.r.api}/repos/{st.repo}/commits/{sha}"},
                     "protected": False} for name, sha in repo.branches.items() if sha == st.sha][:10]
        creator = self.r.user(st.creator)
        data = {
            "id": st.id, "sha": st.sha, "name": st.repo, "avatar_url": creator.get("avatar_url"),
            "target_url": st.target_url, "context": st.context, "description": st.description,
            "state": st.state, "commit": commit, "branches": branches,
            "created_at": iso(st.created_at), "updated_at": iso(st.created_at),
        }
        return self._common(data, st.repo, st.creator)

    def ping(self, hook_id: int) -> dict:
        data = template("ping/payload.json")
        stamp = iso(now())
        hook = data["hook"]
        hook.update(
            type="App",
            id=hook_id,
            app_id=self.r.app.id,
            events=list(self.r.app_json()["events"]),
            created_at=stamp,
            updated_at=stamp,
            url=f"{self.r.api}/app/hook/config",
            deliveries_url=f"{self.r.api}/app/hook/deliveries",
        )
        hook.pop("test_url", None)
        hook["ping_url"] = f"{self.r.api}/app/hook/pings"
        # An App's ping concerns the App, not a repository.
        data.pop("repository", None)
        data.pop("organization", None)
        data.update(hook_id=hook_id, hook=hook, sender=self.r.user(self.r.app.owner))
        return data

    def installation_created(self, installation_id: int, account: str, sender: str) -> dict:
        data = template("installation/created.payload.json")
        repos = [r for r in self.state.repos.values() if r.installation_id == installation_id]
        data.update(
            action="created",
            # The webhook's installation object has no client_id (the REST one does).
            installation={
                k: v for k, v in self.r.installation(installation_id, account).items()
                if k != "client_id"
            },
            repositories=[
                {
                    "id": r.id,
                    "node_id": self.r.repo(r)["node_id"],
                    "name": r.name,
                    "full_name": r.full_name,
                    "private": r.private,
                }
                for r in repos
            ],
            sender=self.r.user(sender),
        )
        data.pop("requester", None)
        return data
