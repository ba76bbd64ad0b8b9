"""Fixtures: a running bot (real HTTP, real githubkit) wired to a running GitHub stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botkit import BotEnv, bot_env


@pytest.fixture
def env(tmp_path, credentials) -> Iterator[BotEnv]:
    """A bot on a fresh project and a stand-in holding acme/webapp with four collaborators."""
    with bot_env(tmp_path, credentials) as e:
        yield e
