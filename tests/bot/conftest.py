"""Fixtures: a running bot (real HTTP, real githubkit) wired to a running GitHub stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botkit import BotEnv, bot_env

from bot.standin import make_app_credentials


@pytest.fixture(scope="session")
def credentials():
    """One RSA key pair for the whole run (generating one is the slow part)."""
    return make_app_credentials(4242)


@pytest.fixture
def env(tmp_path, credentials) -> Iterator[BotEnv]:
    """A bot on a fresh project and a stand-in holding acme/webapp with four collaborators."""
    with bot_env(tmp_path, credentials) as e:
        yield e
