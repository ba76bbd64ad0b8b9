"""`GitHubStandIn`: the server, its state, fault injection and scenario helpers in one object."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from typing import NamedTuple, Self

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from standin.faults import Fault, FaultQueue
from standin.render import AppIdentity, Renderer
from standin.server import build_app
from standin.state import (
    CheckRun,
    IssueComment,
    PullRequest,
    Repo,
    RequestRecord,
    Review,
    ReviewComment,
    ReviewThread,
    StandInState,
    now,
)
from standin.webhooks import Delivery, PayloadBuilder, make_delivery

REVIEW_STATES = {
    "approved": "APPROVED",
    "changes_requested": "CHANGES_REQUESTED",
    "commented": "COMMENTED",
}


class AppCredentials(NamedTuple):
    app_id: int
    private_key_pem: str
    public_key_pem: str


def make_app_credentials(app_id: int = 4242) -> AppCredentials:
    """A fresh RSA key pair for a test GitHub App (PEM strings)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppCredentials(app_id, private, public)


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # pragma: no cover - older uvicorn only
        """Signals belong to the main thread's owner, not to a background server."""


class GitHubStandIn:
    """A local GitHub: REST endpoints on loopback, in-memory state, signed webhooks."""

    def __init__(
        self,
        *,
        app_id: int | None = None,
        public_key_pem: str | None = None,
        app_slug: str = "agent-os",
        app_name: str = "Agent OS",
        app_owner: str = "agent-os-dev",
        installation_id: int = 1,
        webhook_url: str | None = None,
        webhook_secret: str = "stand-in-secret",
        webhook_client: httpx.Client | None = None,
        token_lifetime: timedelta = timedelta(hours=1),
        hook_id: int = 424242,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.private_key_pem: str | None = None
        if public_key_pem is None:
            creds = make_app_credentials(app_id or 4242)
            app_id, public_key_pem, self.private_key_pem = (
                creds.app_id,
                creds.public_key_pem,
                creds.private_key_pem,
            )
        if app_id is None:
            raise ValueError("give app_id together with public_key_pem")
        self.app = AppIdentity(id=app_id, slug=app_slug, name=app_name, owner=app_owner)
        self.public_key = public_key_pem
        self.installation_id = installation_id
        self.installations: dict[int, str] = {installation_id: app_owner}
        self.token_lifetime = token_lifetime
        self.hook_id = hook_id
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_client = webhook_client
        self.state = StandInState()
        self.faults = FaultQueue()
        self.deliveries: list[Delivery] = []
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._renderer: Renderer | None = None
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> GitHubStandIn:
        """Serve on a loopback port in a background thread; returns when it accepts requests."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self.url = f"http://{self._host}:{sock.getsockname()[1]}"
        self._renderer = Renderer(self.state, self.url, self.app)
        config = uvicorn.Config(
            build_app(self),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
        )
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="github-standin"
        )
        self._thread.start()
        started = threading.Event()
        for _ in range(500):
            if self._server.started or not self._thread.is_alive():
                break
            started.wait(0.01)
        if not self._server.started:
            raise RuntimeError("the GitHub stand-in did not start")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            raise RuntimeError("start the stand-in first (its URLs depend on its port)")
        return self._renderer

    @property
    def bot_login(self) -> str:
        """The login the App writes under, e.g. `agent-os[bot]`."""
        return self.app.bot_login

    # -- repositories and people ----------------------------------------------------------
    def create_repo(
        self,
        full_name: str,
        *,
        files: dict[str, str] | None = None,
        branches: dict[str, dict[str, str]] | None = None,
        default_branch: str = "main",
        collaborators: dict[str, str] | None = None,
        private: bool = False,
        installation_id: int | None = None,
    ) -> Repo:
        """A repository with `files` on the default branch (and any other `branches`)."""
        owner, _, name = full_name.partition("/")
        if not owner or not name:
            raise ValueError(f"repository names look like owner/name, not {full_name!r}")
        inst = installation_id or self.installation_id
        self.installations.setdefault(inst, owner)
        with self.state.lock:
            repo = Repo(
                owner=owner,
                name=name,
                id=self.state.next_id(),
                installation_id=inst,
                default_branch=default_branch,
                private=private,
                collaborators=dict(collaborators or {}),
            )
            self.state.repos[full_name] = repo
            self.state.user(owner)
            repo.branches[default_branch] = self.state.commit(repo, dict(files or {}), None)
            for branch, content in (branches or {}).items():
                repo.branches[branch] = self.state.commit(repo, dict(content), None)
            return repo

    def set_files(
        self, repo: str, files: dict[str, str | None], *, branch: str | None = None
    ) -> str:
        """Commit `files` onto a branch (None deletes a path); returns the new head sha."""
        with self.state.lock:
            found = self.state.repo(repo)
            branch = branch or found.default_branch
            parent = found.branches.get(branch)
            current = dict(found.commits[parent].files) if parent else {}
            for path, text in files.items():
                if text is None:
                    current.pop(path, None)
                else:
                    current[path] = text
            sha = self.state.commit(found, current, parent)
            found.branches[branch] = sha
            return sha

    def add_collaborator(self, repo: str, login: str, role: str = "write") -> None:
        """Give `login` a role: admin, maintain, write, triage, read or none."""
        with self.state.lock:
            self.state.repo(repo).collaborators[login] = role

    def add_team(self, org: str, slug: str, members: list[str]) -> None:
        """An organisation team (`org/slug`) and its members, for `required_teams` gates."""
        with self.state.lock:
            for login in members:
                self.state.user(login)
            self.state.teams[f"{org}/{slug}".lower()] = list(members)

    # -- scenario helpers (record, then send the webhook GitHub would send) --------------
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
        """Branch `head_ref` from the base, commit `files` on it, open a PR (pull_request.opened)."""
        with self.state.lock:
            found = self.state.repo(repo)
            base_ref = base_ref or found.default_branch
            base_sha = found.branches[base_ref]
            found.branches[head_ref] = base_sha
            head_sha = self.set_files(repo, dict(files or {}), branch=head_ref)
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
            before = pr.head_sha
            pr.head_sha = self.set_files(repo, dict(files or {}), branch=pr.head_ref)
            pr.updated_at = now()
            payload = self._payloads().pull_request(
                pr, "synchronize", sender or pr.author, before=before
            )
        self._emit("pull_request", payload, send)
        return pr.head_sha

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
        """A person clicks "Re-run" on a check run (check_run.rerequested)."""
        with self.state.lock:
            run = self._run(repo, check_run_id)
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

    # -- webhooks -------------------------------------------------------------------------
    def set_webhook(
        self, url: str, secret: str | None = None, client: httpx.Client | None = None
    ) -> None:
        """Where deliveries go; `client` may be any httpx.Client (e.g. a Starlette TestClient)."""
        self.webhook_url = url
        if secret is not None:
            self.webhook_secret = secret
        if client is not None:
            self.webhook_client = client

    def build_delivery(self, event: str, payload: dict) -> Delivery:
        """Sign a payload as a new delivery (recorded, not sent)."""
        delivery = make_delivery(
            event, payload, secret=self.webhook_secret, hook_id=self.hook_id, app_id=self.app.id
        )
        with self.state.lock:
            self.deliveries.append(delivery)
        return delivery

    def send(self, delivery: Delivery) -> httpx.Response:
        """POST a delivery to the webhook URL; keeps and returns the response."""
        if not self.webhook_url:
            raise RuntimeError("no webhook URL: call set_webhook(url, secret) first")
        client = self.webhook_client or httpx.Client(timeout=10.0)
        try:
            response = client.post(
                self.webhook_url, content=delivery.body, headers=delivery.headers
            )
        finally:
            if self.webhook_client is None:
                client.close()
        delivery.response = response
        delivery.attempts.append(response.status_code)
        return response

    def redeliver(self, delivery_id: str) -> httpx.Response:
        """Send a past delivery again: same body, same X-GitHub-Delivery (GitHub's Redeliver)."""
        for delivery in self.deliveries:
            if delivery.id == delivery_id:
                return self.send(delivery)
        raise KeyError(f"no delivery {delivery_id}")

    @property
    def last_delivery(self) -> Delivery:
        """The most recent delivery built."""
        return self.deliveries[-1]

    # -- inspection -----------------------------------------------------------------------
    def check_runs(self, repo: str, head_sha: str) -> dict[str, CheckRun]:
        """The latest check run per name on a commit (as GitHub's UI shows them)."""
        with self.state.lock:
            latest: dict[str, CheckRun] = {}
            for run in sorted(self.state.check_runs.values(), key=lambda r: r.id):
                if run.repo == repo and run.head_sha == head_sha:
                    latest[run.name] = run
            return latest

    def all_check_runs(self, repo: str | None = None) -> list[CheckRun]:
        """Every check run ever created (optionally in one repository), oldest first."""
        with self.state.lock:
            runs = sorted(self.state.check_runs.values(), key=lambda r: r.id)
            return [r for r in runs if repo is None or r.repo == repo]

    def comments(self, repo: str, number: int) -> list[IssueComment]:
        """The PR's conversation comments, oldest first."""
        with self.state.lock:
            return [
                c
                for c in sorted(self.state.comments.values(), key=lambda c: c.id)
                if (c.repo, c.number) == (repo, number)
            ]

    def pull(self, repo: str, number: int) -> PullRequest:
        """A pull request record."""
        return self.state.pull(repo, number)

    def requests(
        self, method: str | None = None, path_pattern: str | None = None
    ) -> list[RequestRecord]:
        """The request log (answered and injected), optionally filtered (glob on path)."""
        with self.state.lock:
            probe = Fault(method or "*", path_pattern or "*")
            return [r for r in self.state.requests if probe.matches(r.method, r.path)]

    @property
    def token_issuances(self) -> int:
        """How many installation tokens were handed out (caching shows as few)."""
        return self.state.token_issuances

    def expire_tokens(self) -> None:
        """Make every issued installation token expired (the next call gets 401)."""
        with self.state.lock:
            for token in self.state.tokens.values():
                token.expires_at = now() - timedelta(seconds=1)

    # -- faults ---------------------------------------------------------------------------
    def inject(
        self,
        method: str,
        path_pattern: str,
        status: int | None = 503,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        message: str | None = None,
    ) -> Fault:
        """Answer the next `times` matching requests with `status` (after `delay` seconds).

        `status=None` with a `delay` makes a slow but correct answer. Faults fire in the order
        injected. Path patterns are globs on the URL path: `/repos/*/check-runs*`.
        """
        return self.faults.add(
            Fault(method, path_pattern, status, times, dict(headers or {}), delay, message)
        )

    # -- internals ------------------------------------------------------------------------
    def _payloads(self) -> PayloadBuilder:
        return PayloadBuilder(self.renderer)

    def _run(self, repo: str, check_run_id: int) -> CheckRun:
        run = self.state.check_runs.get(check_run_id)
        if run is None or run.repo != repo:
            raise KeyError(f"no check run {check_run_id} in {repo}")
        return run

    def _emit(self, event: str, payload: dict, send: bool) -> Delivery:
        delivery = self.build_delivery(event, payload)
        if send:
            self.send(delivery)
        return delivery
