"""Fixtures every test folder may use."""

from __future__ import annotations

import functools
import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

# What this process imports from here to the end of collection (the product, the SDKs, the
# test modules) lives for the whole run: the collector's passes over it while it is being
# imported are wasted. Collection's end freezes it and turns the collector back on.
gc.disable()

import httpx._transports.default as _httpx_transports
import httpx2._transports.default as _httpx2_transports
import pytest
import typer.testing
from scheduling import CONFORMANCE, ConformanceLast

if TYPE_CHECKING:
    from standin import AppCredentials

# Every process the tests start (agent-os mcp, serve, demo) embeds with the hashing test
# double: no model loads outside the tests marked `model`, which ask for a backend by name.
os.environ["AGENT_OS_EMBEDDER"] = "fake"


def _scratch_in_memory(least: int = 4 * 2**30) -> None:
    """Scratch files (tmp_path, the stand-in's bare repositories, databases, clones) go to a
    tmpfs where the machine has one with room: making and deleting them on this VM's ext4
    cost a run ~2 s of kernel CPU (10.2 -> 8.2 s of system time). A TMPDIR already set is kept (an
    xdist controller's workers inherit the one it chose)."""
    shm = Path("/dev/shm")
    if os.environ.get("TMPDIR") or not shm.is_dir():
        return
    try:
        room = os.statvfs(shm)
    except OSError:
        return
    if room.f_bavail * room.f_frsize < least:  # a container's 64 MB /dev/shm, say
        return
    scratch = shm / "agent-os-tests"
    scratch.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = tempfile.tempdir = str(scratch)


_scratch_in_memory()

# Every stand-in the run starts, in this process or a child, appends what it exchanged to a
# file in one folder for the whole run, so the conformance test validates the whole run's
# traffic instead of re-running suites. One file per test process ("main", or the xdist
# worker's id): parallel workers never append to the same file. The folder is made once, in
# the first process (an xdist controller's workers inherit its environment).
_MADE_TRAFFIC = "STANDIN_TRAFFIC" not in os.environ  # this process removes it at the end
if _MADE_TRAFFIC:
    os.environ["STANDIN_TRAFFIC"] = tempfile.mkdtemp(prefix="standin-traffic-")
TRAFFIC = Path(os.environ["STANDIN_TRAFFIC"])
os.environ["STANDIN_RECORD"] = str(TRAFFIC / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.jsonl")


# Compiled modules are cached even where PYTHONDONTWRITEBYTECODE is set: every test process and
# every `agent-os` process the tests start otherwise compiles (and pytest re-writes the asserts
# of) every module it imports, again in each of the run's processes and runs.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def _share_default_ssl_context(transports) -> None:
    """httpx (and httpx2, the MCP SDK's fork of it) builds a new SSL context for each client it
    opens, loading certifi's CA bundle (~27 ms of CPU); the tests open thousands of clients,
    all to loopback http. The default context is built once per test process, the same way;
    any other request is built as asked."""
    create = transports.create_ssl_context

    @functools.lru_cache(maxsize=None)
    def default(trust_env: bool):
        return create(verify=True, cert=None, trust_env=trust_env)

    def shared(verify=True, cert=None, trust_env=True):
        if verify is True and cert is None:
            return default(trust_env)
        return create(verify=verify, cert=cert, trust_env=trust_env)

    transports.create_ssl_context = shared


_share_default_ssl_context(_httpx_transports)
_share_default_ssl_context(_httpx2_transports)

# typer's test runner rebuilds the whole click command tree from the CLI's signatures on
# every invoke (~38 ms of CPU); the tree of one app never changes during a run.
typer.testing._get_command = functools.lru_cache(maxsize=None)(typer.testing._get_command)


def pytest_xdist_auto_num_workers(config):
    """How many worker processes `-n auto` (the addopts in pyproject.toml) starts: three for a
    run of folders or the whole suite, whose tests often wait on servers and processes, so
    three keep two cores busy (the fast loop on this 2-core VM, work stealing, same minutes:
    42.1-43.1 s with three, 44.5-44.7 with four, 48 with two); none (one process, no worker
    start-up) when every argument names a file or a test, or output is not captured (-s:
    workers' output is not shown). PYTEST_XDIST_AUTO_NUM_WORKERS, or -n N, decides instead."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    if config.getoption("capture") == "no":
        return 0
    named = [a.split("::")[0] for a in config.args]
    if named and all(a.endswith(".py") for a in named):
        return 0
    return 3


def pytest_configure(config):
    """The projects the tests build run their own small pytest suites (the engine runs the
    command tasks.md names): those need none of this environment's plugins, whose loading is
    most of such a run's cost (~1.3 s of CPU each). Set for the processes this one starts, so
    not in an xdist controller: its workers are started with its environment and need theirs."""
    if not getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    else:
        _collector_on()  # an xdist controller collects no tests: its imports are done here


def pytest_collection_finish(session):
    """Everything imported so far (the product, githubkit's models, the test modules) lives
    for the whole run: frozen, the collector's full passes skip its ~400k objects instead of
    walking them again every few seconds (about a tenth of a worker's CPU otherwise).

    Nothing is frozen after this point: `gc.get_referrers` cannot see frozen objects, and
    Hypothesis (in its `ci` profile, which the `CI` variable selects) calls `gc.collect()` and
    then asks who refers to the generator it is about to seed. Freezing what survived each
    full pass, tried for ~1 s of CPU per worker, made it warn and fail the first example."""
    _collector_on()


def _collector_on() -> None:
    gc.freeze()
    gc.enable()


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` go first: a parallel run then ends on short tests, which work
    stealing spreads over the workers (in the collection's order, the end-to-end tests of
    tests/web came last, and the run waited ~3 s on one worker running them one by one).

    The conformance test goes last: by then every stand-in of the run has written its traffic
    (in parallel runs, its own worker's; it waits for the other workers' `.done` marks, and
    `scheduling.ConformanceLast` hands it out last)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept
    last = [item for item in items if item.name == CONFORMANCE]
    items[:] = [item for item in items if item.name != CONFORMANCE] + last


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist worksteal` (the default here) with the conformance test handed out last."""
    return ConformanceLast(config, log) if config.option.dist == "worksteal" else None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist's controller tells each worker how it hands tests out (the conformance test's
    wait for the other workers is right only if nothing runs after it on its worker: so with
    `load`, which follows collection order, and `worksteal`, which holds it back)."""
    node.workerinput["dist"] = node.config.option.dist


def pytest_sessionfinish(session):
    """An xdist worker marks its traffic file complete: all its tests and fixtures are done.

    Then one full collection runs the finalizers of what the run left in cycles (pytest still
    reports what they raise); frozen afterwards, pytest's own five collections at exit skip
    the heap instead of walking it five more times (~0.3 s of CPU per process). The mark
    comes first: the conformance test waits for it, and the collection takes 0.2-0.6 s."""
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker:
        (TRAFFIC / f"{worker}.done").write_text("done\n", encoding="utf-8")
    gc.unfreeze()  # what was frozen is collected too: its finalizers' errors are reported
    gc.collect()
    gc.freeze()


def pytest_unconfigure(config):
    """The process that made the run's traffic folder removes it once the run is over."""
    if _MADE_TRAFFIC and not hasattr(config, "workerinput"):
        shutil.rmtree(TRAFFIC, ignore_errors=True)

@pytest.fixture(scope="session")
def credentials() -> AppCredentials:
    """One GitHub App key pair for the whole run (generating an RSA key is the slow part)."""
    # Imported here: an xdist controller loads this file but runs no test, and the stand-in
    # brings FastAPI and cryptography (~0.2 s before any worker can start).
    from standin import make_app_credentials

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
