"""Fixtures: a running bot (real HTTP, real githubkit) wired to a running GitHub stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botkit import BASE_CONFIG, REPO, SECRET, BotEnv, make_settings

from agent_os.engine import Engine
from agent_os.project import Project
from bot.app import create_app
from bot.serving import BackgroundServer
from bot.standin import GitHubStandIn, make_app_credentials


@pytest.fixture(scope="session")
def credentials():
    """One RSA key pair for the whole run (generating one is the slow part)."""
    return make_app_credentials(4242)


@pytest.fixture
def env(tmp_path, credentials) -> Iterator[BotEnv]:
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    project = Project.open(project_dir)
    engine = Engine.open(project)
    with GitHubStandIn(app_id=credentials.app_id, public_key_pem=credentials.public_key_pem,
                       webhook_secret=SECRET) as gh:
        gh.create_repo(REPO, files={".agent-os/config.yaml": BASE_CONFIG, "README.md": "# webapp\n"},
                       collaborators={"dev": "write", "rev": "write", "rev2": "write", "reader": "read"})
        settings = make_settings(gh, tmp_path, credentials.private_key_pem)
        app = create_app(settings, engine)
        server = BackgroundServer(app).start()
        gh.set_webhook(server.url + "/webhooks/github", SECRET)
        try:
            yield BotEnv(gh, engine, project, app.state.bot, server, settings)
        finally:
            server.stop()
            engine.close()


