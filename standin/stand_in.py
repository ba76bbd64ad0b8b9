"""`GitHubStandIn`: the server, its state, fault injection and scenario helpers in one object."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import Self

import httpx
import uvicorn

from standin.deliveries import Attempt, Deliveries
from standin.keys import AppCredentials, make_app_credentials
from standin.faults import Fault, FaultQueue
from standin.git import GitRepo
from standin.render import AppIdentity, Renderer
from standin.scenario import Scenarios
from standin.scenario_ci import CIScenarios
from standin.server import build_app
from standin.serving import QuickServer  # uvicorn, stopped at once (a test run stops hundreds)
from standin.state import (
    CheckRun,
    IssueComment,
    PullRequest,
    Repo,
    RequestRecord,
    StandInState,
    Token,
    now,
)
from standin.webhooks import Delivery, PayloadBuilder

__all__ = ["AppCredentials", "GitHubStandIn", "make_app_credentials"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class GitHubStandIn(Scenarios, CIScenarios, Deliveries):
    """A local GitHub: REST endpoints and git over HTTP on loopback, real git repositories on
    disk, in-memory records, signed webhooks."""

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
        data_dir: Path | str | None = None,
    ) -> None:
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="standin-")
        # Where the bare repositories live: DATA_DIR/owner/name.git
        self.data_dir = Path(data_dir or self._tmp.name).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
        # Sign in with GitHub: the App's OAuth secret and the user the browser is signed in as.
        self.client_secret = secrets.token_hex(20)
        self.oauth_user = app_owner
        self.oauth_callback_url: str | None = None
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.webhook_client = webhook_client
        self.state = StandInState()
        self.faults = FaultQueue()
        self.deliveries: list[Delivery] = []
        self.attempts: list[Attempt] = []  # every POST of every delivery, oldest first
        # STANDIN_RECORD=FILE: keep every JSON answer and append the traffic to FILE at stop()
        # (what the conformance test checks against GitHub's API description).
        self.record_path = os.environ.get("STANDIN_RECORD") or None
        self.record_responses = self.record_path is not None
        self._host, self._port = host, port
        self._server: QuickServer | None = None
        self._thread: threading.Thread | None = None
        self._renderer: Renderer | None = None
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> GitHubStandIn:
        """Serve on a loopback port in a background thread; returns when it accepts requests."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this: without it a response written as headers then
        # body waits ~40 ms on Nagle's algorithm and the client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        self._server = QuickServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="github-standin"
        )
        self._thread.start()
        if not self._server.wait_started(5.0):
            raise RuntimeError("the GitHub stand-in did not start")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        if self._server is not None and self._thread is not None:
            self._server.request_stop()
            self._thread.join(timeout=10)
        self._server = self._thread = None
        if self.record_path:
            self.write_traffic(self.record_path)

    def write_traffic(self, path: str | Path) -> None:
        """Append every REST exchange and webhook payload so far to a JSON-lines file."""
        with self.state.lock:
            lines = [
                {"kind": "request", "method": r.method, "path": r.path, "status": r.status,
                 "injected": r.injected, "request": r.body, "response": r.response}
                for r in self.state.requests
            ] + [{"kind": "webhook", "event": d.event, "payload": d.payload}
                 for d in self.deliveries]
        with open(path, "a", encoding="utf-8") as out:
            for line in lines:
                out.write(json.dumps(line) + "\n")

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
    def client_id(self) -> str:
        """The App's OAuth client id; `client_secret` is its secret."""
        return self.app.client_id

    def adopt_app_from_manifest(
        self, manifest: dict, *, owner: str, webhook_secret: str | None
    ) -> AppCredentials:
        """Host the App a manifest describes from now on: a new id and key, its name, slug,
        permissions and events, and its webhook URL and secret (the manifest flow's end)."""
        name = str(manifest.get("name") or f"{owner}-app")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"
        creds = make_app_credentials(self.app.id + 1)
        self.app = AppIdentity(
            id=creds.app_id,
            slug=slug,
            name=name,
            owner=owner,
            description=str(manifest.get("description") or ""),
            permissions=tuple(sorted({"metadata": "read",
                                      **(manifest.get("default_permissions") or {})}.items())),
            events=tuple(manifest.get("default_events") or ()),
        )
        self.public_key, self.private_key_pem = creds.public_key_pem, creds.private_key_pem
        self.client_secret = secrets.token_hex(20)
        self.installations[self.installation_id] = owner
        hook = manifest.get("hook_attributes") or {}
        if hook.get("url") and hook.get("active", True):
            self.webhook_url = str(hook["url"])
        if webhook_secret:
            self.webhook_secret = webhook_secret
        if self._renderer is not None:
            self._renderer.app = self.app
        return creds

    def user_token(self, login: str, lifetime: timedelta = timedelta(hours=8)) -> str:
        """A user's token (as the OAuth flow hands out) without the browser dance."""
        token = Token(token="ghu_" + secrets.token_urlsafe(27)[:36], installation_id=0,
                      expires_at=now() + lifetime, login=login)
        with self.state.lock:
            self.state.user(login)
            self.state.tokens[token.token] = token
        return token.token

    def sign_in_as(self, login: str) -> None:
        """The user `GET /login/oauth/authorize` approves as from now on."""
        self.state.user(login)
        self.oauth_user = login

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
        """A bare git repository with `files` committed on the default branch (and any other
        `branches`, each its own root commit); push to `clone_url(full_name)`."""
        owner, _, name = full_name.partition("/")
        if not (_NAME.match(owner) and _NAME.match(name)) or name.endswith(".git") or "." in (
            owner.strip("."), name.strip(".")
        ):
            raise ValueError(f"repository names look like owner/name, not {full_name!r}")
        with self.state.lock:
            if full_name in self.state.repos:
                raise ValueError(f"{full_name} exists already")
            git = GitRepo.create(self.data_dir / owner / f"{name}.git", default_branch)
            inst = installation_id or self.installation_id
            self.installations.setdefault(inst, owner)
            repo = Repo(
                owner=owner,
                name=name,
                id=self.state.next_id(),
                installation_id=inst,
                default_branch=default_branch,
                private=private,
                collaborators=dict(collaborators or {}),
                git=git,
            )
            self.state.user(owner)
            message = "Initial commit\n"
            git.commit(default_branch, dict(files or {}), parent=None, message=message,
                       author=owner)
            for branch, content in (branches or {}).items():
                git.commit(branch, dict(content), parent=None, message=message, author=owner)
            self.state.repos[full_name] = repo
            return repo

    def set_files(
        self,
        repo: str,
        files: dict[str, str | bytes | None],
        *,
        branch: str | None = None,
        message: str | None = None,
        author: str | None = None,
    ) -> str:
        """Commit `files` onto a branch (None deletes a path); returns the new head sha.

        No webhook is sent: use `push` (or a real `git push`) to move a PR's head.
        """
        with self.state.lock:
            found = self.state.repo(repo)
            branch = branch or found.default_branch
            return found.git.commit(
                branch,
                dict(files),
                parent=found.branches.get(branch),
                message=message or self._commit_message(files),
                author=author or found.owner,
            )

    def clone_url(self, repo: str) -> str:
        """The URL `git clone` / `git push` use for a repository (smart HTTP, no auth)."""
        self.state.repo(repo)
        return f"{self.url}/{repo}.git"

    def git_dir(self, repo: str) -> Path:
        """The bare repository on disk (read it with `git --git-dir`; push over HTTP)."""
        return self.state.repo(repo).git.path

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
