"""Fixtures for the MCP server tests: a project an honest agent can work in, the server over
it (with the hashing embedder, so no model loads), an in-memory MCP client, and the demo's
good spec with the evidence an honest agent reports for it.

The tests talk to the server only as an agent would: tool calls, resource reads and
prompts, asserting what comes back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from agent_os.project import Project
from agent_os.standards import HashEmbedder
from agent_os_cli.demo import demo_evidence, write_demo_project, write_spec_files
from mcp_server.server import build_server

# What `Tool.run` says on its own: a crash; a deliberate refusal says more after it.
CRASH_PREFIX = "Error executing tool "


def make_project(root: Path) -> Project:
    """A project holding the files the demo's phase-0 evidence says the agent read."""
    write_demo_project(root)
    return Project.open(root)


class DemoSpec:
    """The demo's good user-authentication spec and its honest evidence, phase by phase."""

    phases = range(6)

    def evidence(self, phase: int) -> dict[str, Any]:
        return demo_evidence(phase)

    def write(self, root: Path, spec_dir: str, phase: int) -> None:
        """Write the spec files `phase` checks into the session's spec directory."""
        target = root / spec_dir
        assert target.is_dir(), f"the session's spec directory {spec_dir} was not created"
        write_spec_files(target, phase)


class Tools:
    """Tool calls as an agent sees them: accepted (structured content) or refused (text)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def ok(self, name: str, /, **args: Any) -> dict[str, Any]:
        result = await self.client.call_tool(name, args)
        text = result.content[0].text if result.content else ""
        assert not result.is_error, f"{name}({args}) was refused: {text}"
        assert isinstance(result.structured_content, dict), f"{name} returned no structured content"
        return result.structured_content

    async def refused(self, name: str, /, **args: Any) -> str:
        """The text of the tool error; a refusal must say why, not just that it failed."""
        result = await self.client.call_tool(name, args)
        assert result.is_error, f"{name}({args}) was accepted: {result.structured_content}"
        text = "\n".join(getattr(c, "text", "") for c in result.content)
        assert text.strip() != f"{CRASH_PREFIX}{name}", f"{name} crashed instead of refusing"
        return text


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("AGENT_OS_DB", raising=False)
    return make_project(tmp_path)


@pytest.fixture
def server(project: Project) -> MCPServer:
    return build_server(project, embedder=HashEmbedder())


@pytest.fixture
async def client(server: MCPServer, anyio_backend: str) -> AsyncIterator[Client]:
    async with Client(server) as c:
        yield c


@pytest.fixture
def tools(client: Client) -> Tools:
    return Tools(client)


@pytest.fixture
def demo() -> DemoSpec:
    return DemoSpec()


@pytest.fixture
def tools_for() -> type[Tools]:
    """The `Tools` wrapper, for tests that open their own client (stdio)."""
    return Tools


@pytest.fixture
def project_factory() -> Any:
    return make_project
