"""Scenario helpers of the GitHub stand-in: what people do on GitHub, recorded, then sent as
the webhook GitHub would send (unless `send=False`)."""

from __future__ import annotations

from standin.state import (
    CheckRun,
    IssueComment,
    PullRequest,
    Review,
    ReviewComment,
    ReviewThread,
    StandInState,
    now,
)
from standin.webhooks import Delivery, PayloadBuilder

REVIEW_STATES = {
    "approved": "APPROVED",
    "changes_requested": "CHANGES_REQUESTED",
    "commented": "COMMENTED",
}


class StandInParts:
    """What `GitHubStandIn` supplies to the scenario mixins: state, payloads and sending."""

    state: StandInState

    def _payloads(self) -> PayloadBuilder:  # pragma: no cover - provided by GitHubStandIn
        raise NotImplementedError

    def _emit(self, event: str, payload: dict, send: bool) -> Delivery:  # pragma: no cover
        raise NotImplementedError

    def _run(self, repo: str, check_run_id: int) -> CheckRun:  # pragma: no cover
        raise NotImplementedError


class Scenarios(StandInParts):
    """Mixed into `GitHubStandIn` (which supplies state, git writes, payloads and sending)."""

    installations: dict[int, str]
    installation_id: int
    hook_id: int

    def open_pull_request(
        self,
        repo: str,
        *,
        author: str,
        files: dict[str, str | None] | None = None,
        title: str = "Agent OS change",
        body: str | None = None,
        head_ref: str = "feature",
        base_ref: str | None = None,
        draft: bool = False,
        from_fork: bool = False,
        send: bool = True,
    ) -> PullRequest:
        """Open a PR from `head_ref` into the base (pull_request.opened).

        A branch pushed with git (and used by no open PR) is taken as it is when `files` is
        None. Otherwise `head_ref` starts again from the base with one commit holding `files`.
        """
        with self.state.lock:
            found = self.state.repo(repo)
            base_ref = base_ref or found.default_branch
            branches = found.branches
            if base_ref not in branches:
                raise KeyError(f"{repo} has no branch {base_ref!r}")
            base_sha = branches[base_ref]
            busy = any(
                p.head_ref == head_ref and p.state == "open" and p.repo == repo
                for p in self.state.pulls.values()
            )
            if files is None and head_ref in branches and not busy:
                head_sha = branches[head_ref]
            else:
                head_sha = found.git.commit(
                    head_ref,
                    dict(files or {}),
                    parent=base_sha,
                    message=self._commit_message(files or {}),
                    author=author,
                )
            number = self.state.next_number(repo)
            pr = PullRequest(
                repo=repo,
                number=number,
                id=self.state.next_id(),
                author=author,
                title=title,
                body=body,
                head_ref=head_ref,
                head_sha=head_sha,
                base_ref=base_ref,
                base_sha=base_sha,
                draft=draft,
                from_fork=from_fork,
            )
            self.state.pulls[(repo, number)] = pr
            found.git.set_ref(f"refs/pull/{number}/head", head_sha)
            payload = self._payloads().pull_request(pr, "opened", author)
        self._emit("pull_request", payload, send)
        return pr

    def push(
        self,
        repo: str,
        number: int,
        files: dict[str, str | None] | None = None,
        *,
        sender: str | None = None,
        send: bool = True,
    ) -> str:
        """A new commit on the PR's head branch (pull_request.synchronize); returns its sha."""
        with self.state.lock:
            pr = self.state.pull(repo, number)
            found = self.state.repo(repo)
            head = found.git.commit(
                pr.head_ref,
                dict(files or {}),
                parent=pr.head_sha,
                message=self._commit_message(files or {}),
                author=sender or pr.author,
            )
        self._synchronize(pr, head, sender or pr.author, send)
        return head

    def pushed(self, repo: str, updates: dict[str, tuple[str | None, str | None]],
               pusher: str | None = None) -> list[Delivery]:
        """What GitHub does after a `git push` moved branches (`{branch: (old, new)}`).

        Each open PR whose head branch moved gets its new head and a `synchronize`.
        """
        deliveries = []
        with self.state.lock:
            moved = [
                (pr, updates[pr.head_ref][1])
                for pr in sorted(self.state.pulls.values(), key=lambda p: p.number)
                if pr.repo == repo and pr.state == "open" and not pr.from_fork
                and pr.head_ref in updates and updates[pr.head_ref][1]
            ]
        send = bool(getattr(self, "webhook_url", None))  # a push never fails for want of a hook
        for pr, new in moved:
            if new != pr.head_sha:
                deliveries.append(self._synchronize(pr, new, pusher or pr.author, send))
        return deliveries

    def _synchronize(self, pr: PullRequest, head: str, sender: str, send: bool) -> Delivery:
        with self.state.lock:
            before = pr.head_sha
            pr.head_sha = head
            pr.updated_at = now()
            self.state.repo(pr.repo).git.set_ref(f"refs/pull/{pr.number}/head", head)
            payload = self._payloads().pull_request(pr, "synchronize", sender, before=before)
        return self._emit("pull_request", payload, send)

    def _commit_message(self, files: dict) -> str:
        # A unique trailer: two commits of the same files on the same parent in the same second
        # would otherwise be one commit.
        names = ", ".join(sorted(files)[:3]) + (" ..." if len(files) > 3 else "")
        subject = f"Update {names}" if files else "Empty commit"
        return f"{subject}\n\nStand-in commit {self.state.next_id()}\n"

    def close_pull_request(
        self,
        repo: str,
        number: int,
        *,
        merged: bool = False,
        sender: str | None = None,
        send: bool = True,
    ) -> PullRequest:
        """Close (or merge) a PR (pull_request.closed)."""
        with self.state.lock:
            pr = self.state.pull(repo, number)
            pr.state, pr.merged, pr.closed_at = "closed", merged, now()
            pr.updated_at = pr.closed_at
            payload = self._payloads().pull_request(pr, "closed", sender or pr.author)
        self._emit("pull_request", payload, send)
        return pr

    def submit_review(
        self,
        repo: str,
        number: int,
        reviewer: str,
        state: str,
        *,
        body: str | None = None,
        commit_id: str | None = None,
        send: bool = True,
    ) -> Review:
        """A review (approved, changes_requested, commented) on the PR's head by default."""
        rest_state = REVIEW_STATES.get(state.lower())
        if rest_state is None:
            raise ValueError(f"review state must be one of {', '.join(REVIEW_STATES)}")
        with self.state.lock:
            pr = self.state.pull(repo, number)
            review = Review(
                id=self.state.next_id(),
                repo=repo,
                number=number,
                user=reviewer,
                state=rest_state,
                body=body,
                commit_id=commit_id or pr.head_sha,
            )
            self.state.reviews[review.id] = review
            payload = self._payloads().pull_request_review(pr, review, "submitted", reviewer)
        self._emit("pull_request_review", payload, send)
        return review

    def dismiss_review(
        self,
        repo: str,
        number: int,
        review_id: int,
        *,
        sender: str | None = None,
        send: bool = True,
    ) -> Review:
        """Dismiss a review (pull_request_review.dismissed); its state becomes DISMISSED."""
        with self.state.lock:
            pr = self.state.pull(repo, number)
            review = self.state.reviews[review_id]
            review.state = "DISMISSED"
            payload = self._payloads().pull_request_review(
                pr, review, "dismissed", sender or self.state.repo(repo).owner
            )
        self._emit("pull_request_review", payload, send)
        return review

    def comment(
        self, repo: str, number: int, user: str, body: str, *, send: bool = True
    ) -> IssueComment:
        """A conversation comment on the PR (issue_comment.created)."""
        with self.state.lock:
            pr = self.state.pull(repo, number)
            comment = IssueComment(
                id=self.state.next_id(), repo=repo, number=number, user=user, body=body
            )
            self.state.comments[comment.id] = comment
            payload = self._payloads().issue_comment(pr, comment)
        self._emit("issue_comment", payload, send)
        return comment

    def review_comment(
        self,
        repo: str,
        number: int,
        user: str,
        path: str,
        line: int,
        body: str,
        *,
        in_reply_to: int | None = None,
        send: bool = True,
    ) -> ReviewComment:
        """A review comment on a line (pull_request_review_comment.created).

        A new comment starts a thread (see `.thread_id`); `in_reply_to` adds to one.
        """
        with self.state.lock:
            pr = self.state.pull(repo, number)
            comment_id = self.state.next_id()
            if in_reply_to is not None:
                thread_id = self.state.review_comments[in_reply_to].thread_id
            else:
                thread_id = f"PRRT_standin{comment_id}"
                self.state.threads[thread_id] = ReviewThread(thread_id, repo, number, [])
            comment = ReviewComment(
                id=comment_id,
                repo=repo,
                number=number,
                user=user,
                path=path,
                line=line,
                body=body,
                commit_id=pr.head_sha,
                thread_id=thread_id,
                review_id=self.state.next_id(),
                in_reply_to=in_reply_to,
            )
            self.state.review_comments[comment.id] = comment
            self.state.threads[thread_id].comment_ids.append(comment.id)
            payload = self._payloads().pull_request_review_comment(pr, comment)
        self._emit("pull_request_review_comment", payload, send)
        return comment

    def resolve_thread(
        self,
        repo: str,
        number: int,
        thread_id: str,
        *,
        sender: str,
        resolved: bool = True,
        send: bool = True,
    ) -> ReviewThread:
        """Resolve (or unresolve) a review thread (pull_request_review_thread)."""
        with self.state.lock:
            pr = self.state.pull(repo, number)
            thread = self.state.threads[thread_id]
            thread.resolved = resolved
            action = "resolved" if resolved else "unresolved"
            payload = self._payloads().pull_request_review_thread(pr, thread, action, sender)
        self._emit("pull_request_review_thread", payload, send)
        return thread

    def rerequest_check_run(
        self, repo: str, check_run_id: int, *, sender: str, send: bool = True
    ) -> Delivery:
        """A person clicks "Re-run" on a check run (check_run.rerequested).

        GitHub offers Re-run only on completed runs; ValueError for one still running.
        """
        with self.state.lock:
            run = self._run(repo, check_run_id)
            if run.status != "completed":
                raise ValueError(f"check run {check_run_id} is {run.status}: only a completed "
                                 "run can be re-run")
            payload = self._payloads().check_run(run, "rerequested", sender)
        return self._emit("check_run", payload, send)

    def request_action(
        self, repo: str, check_run_id: int, identifier: str, *, sender: str, send: bool = True
    ) -> Delivery:
        """A person clicks one of the check run's action buttons (check_run.requested_action)."""
        with self.state.lock:
            run = self._run(repo, check_run_id)
            if identifier not in {a.get("identifier") for a in run.actions}:
                raise ValueError(f"check run {check_run_id} has no action {identifier!r}")
            payload = self._payloads().check_run(run, "requested_action", sender, identifier)
        return self._emit("check_run", payload, send)

    def ping(self, *, send: bool = True) -> Delivery:
        """The ping GitHub sends when the App's webhook is set up."""
        return self._emit("ping", self._payloads().ping(self.hook_id), send)

    def install(self, *, sender: str | None = None, send: bool = True) -> Delivery:
        """The App installed on its installation's repositories (installation.created)."""
        account = self.installations[self.installation_id]
        with self.state.lock:
            payload = self._payloads().installation_created(
                self.installation_id, account, sender or account
            )
        return self._emit("installation", payload, send)

