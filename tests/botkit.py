"""Support for the bot tests: a running bot wired to a running GitHub stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent_os.engine import Engine
from agent_os.project import Project
from bot.app import Bot, create_app
from agent_os_cli.demo import SPEC_FILES, demo_evidence, write_demo_project, write_spec_files
from standin.serving import BackgroundServer
from bot.settings import Settings
from bot.signatures import sign
from standin import GitHubStandIn

REPO = "acme/webapp"
SECRET = "webhook-s3cret"
BASE_CONFIG = "gates:\n  approvals: 1\n"
ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = ROOT / "agent_os_cli" / "demo_data" / "spec"


@dataclass
class BotEnv:
    """Everything a bot test touches."""

    gh: GitHubStandIn
    engine: Engine
    project: Project
    bot: Bot
    server: BackgroundServer
    settings: Settings

    def drain(self) -> None:
        self.bot.worker.drain(timeout=15)

    def checks(self, sha: str) -> dict[str, tuple[str, str | None]]:
        return {name: (run.status, run.conclusion) for name, run in self.gh.check_runs(REPO, sha).items()}


def make_settings(gh: GitHubStandIn, tmp_path: Path, private_key_pem: str, **overrides) -> Settings:
    key = tmp_path / "app.pem"
    key.write_text(private_key_pem)
    values = dict(app_id=gh.app.id, private_key=key, webhook_secret=SECRET, github_url=gh.url,
                  public_url="http://agent-os.test", backoff_base=0.05, backoff_max=0.3, max_attempts=6,
                  delivery_attempts=4, recover_interval=0)
    values.update(overrides)
    return Settings(**values)


def spec_files(spec_dir: str) -> dict[str, str]:
    """The demo spec's files at their paths under the session's spec directory."""
    return {f"{spec_dir}/{n}": (DEMO_SPEC / n).read_text() for names in SPEC_FILES.values() for n in names}


def pr_files(engine: Engine, session_id: str) -> dict[str, str]:
    """What a PR carrying the session's work holds: the demo app and the spec files."""
    from agent_os_cli.demo import DEMO_APP_FILES

    root, spec_dir = engine.project.root, engine.state(session_id).spec_dir
    files = {rel: (root / rel).read_text() for rel in DEMO_APP_FILES if (root / rel).is_file()}
    files.update({f"{spec_dir}/{p.name}": p.read_text() for p in (root / spec_dir).glob("*.md")})
    return files


def run_to_gate(engine: Engine, session_id: str) -> None:
    """Complete phases 0-5 of spec_creation_v1 with the demo's files and evidence."""
    target = engine.project.root / engine.state(session_id).spec_dir
    write_demo_project(engine.project.root)
    for n in range(6):
        write_spec_files(target, n)
        engine.complete_phase(session_id, n, demo_evidence(n))


# --- shared by test_webhooks, test_payloads, test_outbox, test_commands, test_feedback ---

WEBHOOK_PATH = "/webhooks/github"


@contextmanager
def bot_env(tmp_path: Path, credentials, **overrides) -> Iterator[BotEnv]:
    """What the `env` fixture gives, with settings `overrides`, for any fixture scope."""
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    project = Project.open(project_dir)
    engine = Engine.open(project)
    with GitHubStandIn(app_id=credentials.app_id, public_key_pem=credentials.public_key_pem,
                       webhook_secret=SECRET) as gh:
        gh.create_repo(REPO, files={".agent-os/config.yaml": BASE_CONFIG, "README.md": "# webapp\n"},
                       collaborators={"dev": "write", "rev": "write", "rev2": "write", "reader": "read"})
        settings = make_settings(gh, tmp_path, credentials.private_key_pem, **overrides)
        app = create_app(settings, engine)
        server = BackgroundServer(app).start()
        # One client for every delivery of the run: the stand-in's own makes an SSL context per send.
        gh.set_webhook(server.url + WEBHOOK_PATH, SECRET, client=http_client())
        try:
            yield BotEnv(gh, engine, project, app.state.bot, server, settings)
        finally:
            server.stop()
            engine.close()


_http: httpx.Client | None = None


def http_client() -> httpx.Client:
    """One HTTP client for the run (a new one per request costs an SSL context, ~65 ms)."""
    global _http
    if _http is None:
        _http = httpx.Client(timeout=10)
    return _http


def post_webhook(url: str, event: str | None, body: bytes, *, delivery_id: str | None = None,
                 secret: str | None = SECRET, headers: dict[str, str | None] | None = None) -> httpx.Response:
    """POST `body` to the webhook endpoint of the bot at `url` as GitHub does, signed with
    `secret` (None: unsigned). `headers` adds or overrides headers; a None value drops one."""
    sent: dict[str, str | None] = {
        "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event, "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body) if secret is not None else None,
    }
    sent.update(headers or {})
    return http_client().post(url.rstrip("/") + WEBHOOK_PATH, content=body,
                      headers={k: v for k, v in sent.items() if v is not None})


def wait_until(predicate: Callable[[], object], *, timeout: float = 15.0, what: str = "the condition"):
    """Poll `predicate` until it is truthy (returns its value); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def serve(root: Path, gh: GitHubStandIn, port: int, key: Path, **env: str) -> subprocess.Popen:
    """`agent-os serve` in its own process on `port`, as GitHub's App for `gh`; `env` adds
    AGENT_OS_* settings. Returns once /healthz answers (stderr is kept: read it after)."""
    environ = {**os.environ, "AGENT_OS_APP_ID": str(gh.app.id), "AGENT_OS_PRIVATE_KEY": str(key),
               "AGENT_OS_WEBHOOK_SECRET": SECRET, "AGENT_OS_GITHUB_URL": gh.url,
               "AGENT_OS_PUBLIC_URL": f"http://127.0.0.1:{port}", "AGENT_OS_BACKOFF_BASE": "0.2",
               "AGENT_OS_BACKOFF_MAX": "1", **env}
    proc = subprocess.Popen([sys.executable, "-m", "agent_os_cli", "serve", "--project", str(root),
                             "--port", str(port)], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("agent-os serve did not come up")


def settle(env: BotEnv, timeout: float = 15.0) -> None:
    """Wait until no delivery and no outbox item is pending, retries included (`drain()` stops
    at the first moment nothing is *due*, which is too early while a retry is scheduled)."""
    def quiet() -> bool:
        env.bot.worker.wake()
        row = env.bot.store.db.query_one(
            "SELECT (SELECT count(*) FROM bot_deliveries WHERE status = 'received')"
            " + (SELECT count(*) FROM bot_outbox WHERE status = 'pending') AS n")
        return row["n"] == 0
    wait_until(quiet, timeout=timeout, what="the bot's deliveries and outbox to settle")
    env.drain()
