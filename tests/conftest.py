"""Fixtures every test folder may use."""

from __future__ import annotations

import os

import pytest

# Every process the tests start (agent-os mcp, serve, demo) embeds with the hashing test
# double: no model loads outside the tests marked `model`, which ask for a backend by name.
os.environ["AGENT_OS_EMBEDDER"] = "fake"

from standin import AppCredentials, make_app_credentials


@pytest.fixture(scope="session")
def credentials() -> AppCredentials:
    """One GitHub App key pair for the whole run (generating an RSA key is the slow part)."""
    return make_app_credentials(4242)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the whole run (started on first use, deleted at the end).

    Skips, saying what to install, only where PostgreSQL's server programs are missing.
    """
    from pg import Unavailable, start_server

    try:
        server = start_server()
    except Unavailable as exc:
        pytest.skip(f"no PostgreSQL: {exc}")
    yield server
    server.stop()
