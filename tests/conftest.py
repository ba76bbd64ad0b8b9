"""Fixtures every test folder may use."""

from __future__ import annotations

import os
import tempfile

import pytest

# Every process the tests start (agent-os mcp, serve, demo) embeds with the hashing test
# double: no model loads outside the tests marked `model`, which ask for a backend by name.
os.environ["AGENT_OS_EMBEDDER"] = "fake"

# Every stand-in the run starts, in this process or a child, appends what it exchanged to one
# file, so the conformance test validates the whole run's traffic instead of re-running suites.
if "STANDIN_RECORD" not in os.environ:
    os.environ["STANDIN_RECORD"] = os.path.join(tempfile.mkdtemp(prefix="standin-traffic-"),
                                                "traffic.jsonl")

CONFORMANCE = "test_bot_and_stand_in_traffic_matches_githubs_description"


def pytest_configure(config):
    """The projects the tests build run their own small pytest suites (the engine runs the
    command tasks.md names): those need none of this environment's plugins, whose loading is
    most of such a run's cost (~1.3 s of CPU each). Set for the processes this one starts, so
    not in an xdist controller: its workers are started with its environment and need theirs."""
    if not getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"


def pytest_collection_modifyitems(config, items):
    """The conformance test goes last: by then every stand-in of the run has written its traffic."""
    last = [item for item in items if item.name == CONFORMANCE]
    items[:] = [item for item in items if item.name != CONFORMANCE] + last

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
