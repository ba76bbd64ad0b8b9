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


@pytest.fixture(scope="module")
def quiet(tmp_path_factory, credentials) -> Iterator[BotEnv]:
    """One bot per module, shared by the tests that change nothing a later one looks at."""
    with bot_env(tmp_path_factory.mktemp("quiet"), credentials) as e:
        yield e


@pytest.fixture
def refused(quiet) -> Iterator[BotEnv]:
    """The shared bot; afterwards, checks that nothing was recorded."""
    before = len(quiet.bot.store.deliveries())
    yield quiet
    assert len(quiet.bot.store.deliveries()) == before, "a refused request was recorded"
