"""The team topology for tests: a GitHub stand-in serving real git repositories, a team
server in its own (empty, read-only) folder with its own database, and agents working in
their own clones, connected only through HTTP and `git push`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from botkit import SECRET, wait_until

from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.standards import HashEmbedder
from agent_os_cli.team import create_team_app, issue_token
from standin.serving import BackgroundServer
from bot.settings import Settings
from standin import GitHubStandIn

ROOT = Path(__file__).resolve().parents[2]
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
BASE_CONFIG = "gates:\n  approvals: 1\n  exclude_author: true\n"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def commit_and_push(clone: Path, message: str, branch: str = "work") -> str:
    """Commit everything in the clone and push the branch; returns the new head."""
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "--allow-empty", "-m", message)
    git(clone, "push", "--quiet", "origin", branch)
    return git(clone, "rev-parse", "HEAD")


@dataclass
class Team:
    gh: GitHubStandIn
    url: str
    token: str
    engine: Engine  # the server's, for looking (never its disk: its project folder is empty)
    server_dir: Path
    tmp: Path

    def clone(self, repo: str, name: str, branch: str = "work") -> Path:
        """A clone of `repo` in its own folder, on a new branch."""
        target = self.tmp / name
        git(self.tmp, "clone", "--quiet", self.gh.clone_url(repo), str(target))
        git(target, "checkout", "--quiet", "-b", branch)
        return target

    def door_command(self, clone: Path) -> tuple[str, list[str], dict[str, str]]:
        """How Claude Code would start the door in the clone: `agent-os mcp --server URL`."""
        env = {**os.environ, "AGENT_OS_TOKEN": self.token, "PYTHONPATH": str(ROOT)}
        env.pop("AGENT_OS_DB", None)
        return sys.executable, ["-m", "agent_os_cli", "mcp", "--project", str(clone), "--server", self.url], env

    def settle(self, app) -> None:  # noqa: ANN001
        bot = app.state.bot

        def quiet() -> bool:
            bot.worker.wake()
            row = bot.store.db.query_one(
                "SELECT (SELECT count(*) FROM bot_deliveries WHERE status = 'received')"
                " + (SELECT count(*) FROM bot_outbox WHERE status = 'pending') AS n")
            return row["n"] == 0
        wait_until(quiet, timeout=30, what="the bot to settle")
        bot.worker.drain(timeout=30)

    def checks(self, repo: str, sha: str) -> dict[str, tuple[str, str | None]]:
        return {name: (run.status, run.conclusion) for name, run in self.gh.check_runs(repo, sha).items()}


@contextmanager
def team(tmp_path: Path, credentials, repos: list[str]) -> Iterator[tuple[Team, object]]:
    """The stand-in holding `repos` and a team server in an empty read-only folder."""
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    state_dir = tmp_path / "server-state"
    state_dir.mkdir()
    key = state_dir / "app.pem"
    key.write_text(credentials.private_key_pem)
    server_dir.chmod(0o555)
    with GitHubStandIn(app_id=credentials.app_id, public_key_pem=credentials.public_key_pem,
                       webhook_secret=SECRET) as gh:
        for repo in repos:
            gh.create_repo(repo, files={".agent-os/config.yaml": BASE_CONFIG, "README.md": "# app\n"},
                           collaborators={"dev": "write", "rev": "write"})
        project = Project.open(server_dir, db=state_dir / "agent_os.db", index=state_dir / "index.db")
        settings = Settings(app_id=credentials.app_id, private_key=key, webhook_secret=SECRET,
                            github_url=gh.url, public_url="http://agent-os.test", backoff_base=0.05,
                            backoff_max=0.3)
        app = create_team_app(settings, project=project, embedder=HashEmbedder())
        try:
            with BackgroundServer(app) as running:
                gh.set_webhook(running.url + "/webhooks/github", SECRET)
                t = Team(gh, running.url, issue_token(app.state.engine, "agent"), app.state.engine, server_dir,
                         tmp_path)
                yield t, app
        finally:
            server_dir.chmod(0o755)
    assert not any(server_dir.iterdir()), "the team server wrote into its project folder"
