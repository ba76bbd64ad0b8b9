"""GitHub's JSON for pull requests, reviews, review comments and a PR seen as an issue."""

from __future__ import annotations

from standin.templates import node_id, reactions, template
from standin.state import PullRequest, Review, ReviewComment, StandInState, iso


class PullShapes:
    """Mixed into `Renderer` (which supplies `api`, `web`, `state`, `user`, `repo`)."""

    state: StandInState
    api: str
    web: str

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
            "reactions": reactions(f"{api}/pulls/comments/{comment.id}/reactions"),
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

    def pull_files(self, pr: PullRequest) -> list[dict]:
        """The PR's diff as GET /pulls/{n}/files lists it (merge base to head, like GitHub)."""
        repo = self.state.repo(pr.repo)
        base = repo.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
        return self.diff_files(repo, base, pr.head_sha)

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
            "reactions": reactions(f"{api}/issues/{pr.number}/reactions"),
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
