"""`agent-os mcp` with the real ONNX model exits cleanly when its client leaves while the
project's own standards are still being embedded in the background."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import write_own_standards

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.model
def test_the_server_exits_cleanly_when_the_client_leaves_mid_build(tmp_path):
    write_own_standards(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "AGENT_OS_EMBEDDER"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    server = subprocess.Popen(
        [sys.executable, "-m", "agent_os_cli", "mcp", "--project", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )

    def ask(message: dict) -> dict:
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()
        return json.loads(server.stdout.readline())

    try:
        ask({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        server.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        found = ask({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "search_standards", "arguments": {"query": "race conditions"}}})
        assert found["result"]["structuredContent"]["partial"] is True  # still embedding
        server.stdin.close()  # the client leaves
        code = server.wait(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
    stderr = server.stderr.read()
    assert code == 0, stderr[-2000:]
    assert "terminate called" not in stderr
