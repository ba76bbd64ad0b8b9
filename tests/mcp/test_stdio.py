"""The real door: `agent-os mcp --project DIR` spawned as a subprocess and driven over stdio,
the way Claude Code or Cursor run it.

Everything the server prints on stdout must be protocol; logs, model loading and tracebacks
belong on stderr. The server embeds with the hashing double (AGENT_OS_EMBEDDER=fake, set for
every test process in tests/conftest.py); the project's standards are cut down to two documents.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from agent_os.engine import Engine
from agent_os.errors import StoreError
from agent_os.project import Project
from agent_os.standards import HashEmbedder
from mcp_server.backend import Backend

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
# The four documents the demo's evidence cites: checkpoints look standards paths up.
SMALL_LIBRARY = ["security/authentication-tokens.md", "security/rate-limiting.md", "api/errors.md",
                 "testing/test-pyramid.md"]
TOOL_NAMES = {
    "search_standards", "list_workflows", "start_workflow", "get_current_phase", "get_task",
    "complete_phase", "get_workflow_state", "list_sessions", "create_workflow", "validate_workflow",
    "link_pull_request", "get_review_feedback",
}


@pytest.fixture
def root(tmp_path: Path, project_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose standards are two shipped documents, copied into .agent-os/standards."""
    monkeypatch.delenv("AGENT_OS_DB", raising=False)
    root = tmp_path / "project"
    root.mkdir()
    for rel in SMALL_LIBRARY:
        target = root / ".agent-os" / "standards" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "standards" / rel, target)
    (root / ".agent-os" / "config.yaml").write_text("standards: [.agent-os/standards]\n", encoding="utf-8")
    project_factory(root)
    return root


def server_command(root: Path) -> list[str]:
    return ["-m", "agent_os_cli", "mcp", "--project", str(root)]


@asynccontextmanager
async def stdio_session(root: Path, stderr_log: Path, not_protocol: list[Exception]) -> AsyncIterator[Client]:
    """A client of the CLI's stdio server; stdout lines that are not JSON-RPC land in `not_protocol`."""

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            not_protocol.append(message)

    # The SDK hands the server only a few safe variables; ours must reach it too.
    env = {k: os.environ[k] for k in ("AGENT_OS_EMBEDDER", "PYTHONPATH") if k in os.environ}
    params = StdioServerParameters(command=sys.executable, args=server_command(root), cwd=str(root.parent),
                                   env=env)
    with stderr_log.open("w", encoding="utf-8") as errlog:
        async with Client(stdio_client(params, errlog=errlog), message_handler=on_message,
                          read_timeout_seconds=120) as client:
            yield client


async def test_a_whole_session_over_stdio_with_every_refusal(root: Path, tmp_path: Path, tools_for: Any,
                                                               demo: Any) -> None:
    not_protocol: list[Exception] = []
    stderr_log = tmp_path / "server-stderr.log"
    async with stdio_session(root, stderr_log, not_protocol) as client:
        tools = tools_for(client)
        assert client.server_info is not None and client.server_info.name == "agent-os"
        assert "search_standards" in (client.instructions or "")
        assert {t.name for t in (await client.list_tools()).tools} == TOOL_NAMES

        # A hostile target: refused, and nothing is created.
        text = await tools.refused("start_workflow", workflow_type="spec_creation_v1", target_file="../../etc")
        assert "Invalid input." in text
        assert (await tools.ok("list_sessions"))["sessions"] == []
        assert not (root / ".agent-os" / "specs").exists() or not any((root / ".agent-os" / "specs").iterdir())

        started = await tools.ok("start_workflow", workflow_type="spec_creation_v1", target_file="user_authentication")
        sid, spec_dir = started["session"]["session_id"], started["session"]["spec_dir"]
        assert (root / spec_dir).is_dir()
        assert (await tools.ok("start_workflow", workflow_type="spec_creation_v1",
                               target_file="user_authentication"))["resumed"] is True

        # An unknown session, a skipped phase, thin evidence: each refused, nothing moves.
        assert "Not found." in await tools.refused("get_workflow_state", session_id="ses_0123456789ab")
        before = await tools.ok("get_workflow_state", session_id=sid)
        demo.write(root, spec_dir, 3)
        text = await tools.refused("complete_phase", session_id=sid, phase=3, evidence=demo.evidence(3))
        assert "Refused: wrong phase." in text and "phase 0" in text
        assert await tools.ok("get_workflow_state", session_id=sid) == before
        thin = {**demo.evidence(0), "project_files_reviewed": [], "learnings": "Looked around."}
        text = await tools.refused("complete_phase", session_id=sid, phase=0, evidence=thin)
        assert "Refused: the checkpoint rejected the evidence." in text
        assert "**project_files_reviewed**" in text and "**learnings**" in text
        assert (await tools.ok("get_current_phase", session_id=sid))["number"] == 0

        # The search answers from the project's two documents.
        found = await tools.ok("search_standards", query="how long should an access token live and how do "
                               "refresh tokens rotate", n_results=2)
        assert found["results"][0]["path"] == "security/authentication-tokens.md"
        assert {r["path"] for r in found["results"]} <= set(SMALL_LIBRARY)

        for number in range(5):
            demo.write(root, spec_dir, number)
            done = await tools.ok("complete_phase", session_id=sid, phase=number, evidence=demo.evidence(number))
            assert done["phase_state"] == "complete", done["message"]
        waiting = await tools.ok("complete_phase", session_id=sid, phase=5, evidence=demo.evidence(5))
        assert waiting["phase_state"] == "awaiting_approval"
        text = await tools.refused("complete_phase", session_id=sid, phase=5, evidence=demo.evidence(5))
        assert "Refused: this phase waits for a person's approval; no tool can approve it." in text

        # A person approves from another process (as `agent-os approve` would); the server sees it.
        engine = Engine.open(Project.open(root))
        try:
            engine.approve(sid, by="reviewer")
        finally:
            engine.close()
        state = await tools.ok("get_workflow_state", session_id=sid)
        assert state["status"] == "complete"
        assert [p["state"] for p in state["phases"]] == ["complete"] * 6

    assert not_protocol == [], f"the server wrote non-protocol lines to stdout: {not_protocol}"
    stderr = stderr_log.read_text(encoding="utf-8")
    assert "Traceback" not in stderr, stderr


@pytest.mark.slow
def test_stdout_carries_only_json_rpc_from_start_to_exit(root: Path) -> None:
    """Every byte on stdout, up to the process's exit, is a JSON-RPC message answering a request."""
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "start_workflow",
                    "arguments": {"workflow_type": "spec_creation_v1", "target_file": "/etc"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "list_workflows", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 5, "method": "resources/read", "params": {"uri": "standards://../config.yaml"}},
    ]
    env = {k: v for k, v in os.environ.items() if k != "AGENT_OS_DB"}
    proc = subprocess.Popen([sys.executable, *server_command(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=root.parent, env=env)
    watchdog = threading.Timer(120, proc.kill)  # a hung server fails the test instead of blocking it
    watchdog.start()
    lines: list[str] = []
    try:
        assert proc.stdin is not None and proc.stdout is not None
        for request in requests:
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
            if "id" in request:  # one answer per request, in order: the next line is it
                lines.append(proc.stdout.readline().decode("utf-8"))
        # Closing stdin is how a client says goodbye: the server must exit on its own,
        # writing nothing more that is not protocol.
        rest, err = proc.communicate()
        lines += rest.decode("utf-8").splitlines()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]
    messages = [json.loads(line) for line in lines if line.strip()]  # a stray print would fail here
    assert len(messages) == len(lines), lines
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    by_id = {m["id"]: m for m in messages if "id" in m}
    assert set(by_id) == {1, 2, 3, 4, 5}, lines
    assert by_id[1]["result"]["serverInfo"]["name"] == "agent-os"
    assert {t["name"] for t in by_id[2]["result"]["tools"]} == TOOL_NAMES
    assert by_id[3]["result"]["isError"] is True
    assert "Invalid input." in by_id[3]["result"]["content"][0]["text"]
    assert {w["name"] for w in by_id[4]["result"]["structuredContent"]["workflows"]} >= {"spec_creation_v1"}
    assert "error" in by_id[5] and "result" not in by_id[5]
    assert "[.agent-os/standards]" not in json.dumps(by_id[5])  # the config file's text is not read out
    assert not (root / ".agent-os" / "specs").exists() or not any((root / ".agent-os" / "specs").iterdir())


class BlockingEmbedder(HashEmbedder):
    """The hashing embedder, but embedding waits until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = threading.Event()
        self.release = threading.Event()

    def embed(self, texts: list[str]) -> Any:
        self.embedding.set()
        self.release.wait(60)
        return super().embed(texts)


def test_shutdown_does_not_wait_for_the_standards_index_to_warm(root: Path) -> None:
    """The stdio server warms the index in the background; when the client leaves, the
    server closes its backend, and that must not wait for a sync that may take a minute."""
    embedder = BlockingEmbedder()
    backend = Backend(Project.open(root), embedder=embedder)
    backend.handshake.set()  # as after tools/list: the warm-up starts at once
    # An earlier test in this process may have left its own warm-up thread running.
    earlier = set(threading.enumerate())
    backend.start_background_work(build_index=True)
    warm = next(t for t in threading.enumerate() if t.name == "agent-os-warm" and t not in earlier)
    try:
        assert embedder.embedding.wait(30), "the warm-up never started embedding"
        warming = backend.index
        closer = threading.Thread(target=backend.close, daemon=True)
        closer.start()
        closer.join(30)
        assert not closer.is_alive(), "close() waited for the warm-up sync"
        assert not embedder.release.is_set()
    finally:
        embedder.release.set()
        warm.join(30)
    # The warm-up finished its sync and closed the index it held; the backend opens a new one.
    with pytest.raises(StoreError, match="closed"):
        warming.documents()
    fresh = backend.index
    assert fresh is not warming
    assert fresh.search("rate limiting", n_results=1).results[0].path == "security/rate-limiting.md"
    backend.close()
