"""Support for the bot tests: a running bot wired to a running GitHub stand-in."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from agent_os.engine import Engine
from agent_os.project import Project
from bot.app import Bot, create_app
from bot.serving import BackgroundServer
from bot.settings import Settings
from bot.standin import GitHubStandIn, make_app_credentials

REPO = "acme/webapp"
SECRET = "webhook-s3cret"
BASE_CONFIG = "gates:\n  approvals: 1\n"
ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = ROOT / "bot" / "demo_data" / "spec"
DEMO_EVIDENCE = ROOT / "bot" / "demo_data" / "evidence"


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
                  delivery_attempts=4)
    values.update(overrides)
    return Settings(**values)


def spec_files(env: BotEnv, spec_dir: str) -> dict[str, str]:
    """The demo spec's files at their paths under the session's spec directory."""
    return {f"{spec_dir}/{p.name}": p.read_text() for p in sorted(DEMO_SPEC.glob("*.md"))}


def write_project_files(root: Path) -> None:
    """The files phase 0 of the demo evidence says it reviewed."""
    (root / "README.md").write_text("# Acme API\n", encoding="utf-8")
    (root / "app" / "users").mkdir(parents=True, exist_ok=True)
    (root / "app" / "users" / "models.py").write_text("class User: ...\n", encoding="utf-8")


def run_to_gate(env: BotEnv, session_id: str) -> None:
    """Complete phases 0-5 of spec_creation_v1 with the demo's files and evidence."""
    import json

    state = env.engine.state(session_id)
    target = env.project.root / state.spec_dir
    target.mkdir(parents=True, exist_ok=True)
    for p in DEMO_SPEC.glob("*.md"):
        shutil.copy(p, target / p.name)
    write_project_files(env.project.root)
    for n in range(6):
        evidence = json.loads((DEMO_EVIDENCE / f"phase-{n}.json").read_text())
        env.engine.complete_phase(session_id, n, evidence)
