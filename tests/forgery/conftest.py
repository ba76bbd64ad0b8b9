"""A determined agent's forged submissions, through both doors (the CLI and MCP), on both
shipped workflows: a project an honest agent works in, the session brought honestly to
the phase under attack, and the two doors the forgery is sent through."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from typer.testing import CliRunner

from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.standards import HashEmbedder
from agent_os_cli import app
from agent_os_cli.demo import demo_evidence, write_demo_project, write_spec_files
from mcp_server.server import build_server

FIXTURES = Path(__file__).parent.parent / "fixtures"
# Real tests behind the three 'Tests:' commands of the fixture spec's tasks.md.
TEST_FILES = {"tests/test_login.py": 3, "tests/test_refresh.py": 2, "tests/test_rate_limit.py": 2}


def exec_evidence(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "evidence" / "spec_execution_v1" / f"{name}.json").read_text(encoding="utf-8"))


@dataclass
class Attempt:
    """What a door answered: accepted or refused, and the text the agent reads."""

    accepted: bool
    text: str


class CliDoor:
    """`agent-os complete ... --json`, as a script or an agent in a shell would call it."""

    name = "cli"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = CliRunner()

    async def complete(self, sid: str, phase: int, evidence: Any) -> Attempt:
        out = self.runner.invoke(app, ["complete", sid, str(phase), "--evidence", "-", "--json",
                                       "--project", str(self.root)], input=json.dumps(evidence))
        assert out.exit_code in (0, 1), f"the CLI crashed or misread the input: {out.output}"
        return Attempt(out.exit_code == 0, out.output)

    async def start(self, workflow: str, target: str) -> Attempt:
        out = self.runner.invoke(app, ["start", workflow, target, "--json", "--project", str(self.root)])
        assert out.exit_code in (0, 1, 2), out.output
        return Attempt(out.exit_code == 0, out.output)


class McpDoor:
    """The MCP tools, through the official SDK's in-memory client."""

    name = "mcp"

    def __init__(self, client: Client) -> None:
        self.client = client

    async def _call(self, tool: str, args: dict[str, Any]) -> Attempt:
        result = await self.client.call_tool(tool, args)
        text = "\n".join(getattr(c, "text", "") for c in result.content)
        assert not text.startswith("Error executing tool") or "\n" in text.strip(), f"{tool} crashed: {text}"
        return Attempt(not result.is_error, text)

    async def complete(self, sid: str, phase: int, evidence: Any) -> Attempt:
        return await self._call("complete_phase", {"session_id": sid, "phase": phase, "evidence": evidence})

    async def start(self, workflow: str, target: str) -> Attempt:
        return await self._call("start_workflow", {"workflow_type": workflow, "target_file": target})


class Workspace:
    """The project under attack, its engine (for honest set-up and for reading state)."""

    def __init__(self, root: Path, honest_sessions: tuple[Path, dict[tuple[str, int], str]]) -> None:
        self.root = root
        self.honest_sessions = honest_sessions
        root.mkdir(parents=True, exist_ok=True)
        write_demo_project(root)
        for rel, n in TEST_FILES.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"def test_{i}():\n    assert {i} + 1 > {i}\n" for i in range(n)), encoding="utf-8")
        self.engine = Engine.open(Project.open(root))

    def spec(self, sid: str) -> Path:
        return self.root / self.engine.state(sid).spec_dir

    def creation_at(self, phase: int) -> str:
        """A spec_creation_v1 session whose phases before `phase` were completed honestly."""
        sid = self.engine.start("spec_creation_v1", "user_authentication").session.session_id
        for p in range(phase):
            write_spec_files(self.spec(sid), p)
            self.engine.complete_phase(sid, p, demo_evidence(p))
        write_spec_files(self.spec(sid), phase)
        return sid

    def approved_spec(self) -> str:
        """The demo spec written by an honest spec_creation_v1 session and approved by a reviewer."""
        sid = self.creation_at(5)
        self.engine.complete_phase(sid, 5, demo_evidence(5))
        self.engine.approve(sid, by="reviewer")
        return self.engine.state(sid).spec_dir

    def execution_at(self, phase: int) -> str:
        """A spec_execution_v1 session on the approved demo spec, honest up to `phase` (0 or 1)."""
        spec_dir = self.approved_spec()
        sid = self.engine.start("spec_execution_v1", spec_dir).session.session_id
        if phase >= 1:
            self.engine.complete_phase(sid, 0, exec_evidence("phase-0"))
            tasks = self.root / spec_dir / "tasks.md"
            text = tasks.read_text(encoding="utf-8")
            first, rest = text.split("## Phase 2:", 1)
            tasks.write_text(first.replace("- [ ]", "- [x]") + "## Phase 2:" + rest, encoding="utf-8")
        return sid

    def at(self, workflow: str, phase: int) -> str:
        """A session on `workflow` brought honestly to `phase` (creation_at or execution_at),
        copied from the one this test process brought there first: the honest phases before
        the one under attack cost more than the attack, and every forgery on a phase needs
        the same start. The copy is this workspace's own (files and database), as if made here."""
        folder, made = self.honest_sessions
        template = folder / f"{workflow}-{phase}"
        if (workflow, phase) not in made:
            honest = Workspace(template, self.honest_sessions)
            made[workflow, phase] = (honest.creation_at(phase) if workflow == "spec_creation_v1"
                                     else honest.execution_at(phase))
            honest.engine.close()
        self.engine.close()
        shutil.rmtree(self.root)
        shutil.copytree(template, self.root, symlinks=True)
        self.engine = Engine.open(Project.open(self.root))
        return made[workflow, phase]

    def snapshot(self, sid: str) -> tuple[Any, ...]:
        """Everything a refused submission must leave as it was."""
        state = self.engine.state(sid)
        return (state.status, state.current_phase, [(p.number, p.state, p.title) for p in state.phases],
                len([e for e in self.engine.events(sid) if e.kind in ("evidence_accepted", "phase_completed")]))


@pytest.fixture(scope="session")
def honest_sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, int], str]]:
    """Where Workspace.at keeps its honest sessions, and their ids by (workflow, phase)."""
    return tmp_path_factory.mktemp("honest-sessions"), {}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, honest_sessions) -> AsyncIterator[Workspace]:
    monkeypatch.delenv("AGENT_OS_DB", raising=False)
    # The project's own pytest runs need none of this environment's plugins (faster start).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    ws = Workspace(tmp_path / "project", honest_sessions)
    yield ws
    ws.engine.close()


@pytest.fixture(params=["cli", "mcp"])
async def door(request: pytest.FixtureRequest, workspace: Workspace, anyio_backend: str) -> AsyncIterator[Any]:
    if request.param == "cli":
        yield CliDoor(workspace.root)
        return
    server = build_server(Project.open(workspace.root), embedder=HashEmbedder())
    async with Client(server) as client:
        yield McpDoor(client)


def rules_named(text: str) -> set[str]:
    """Every rule a refusal names, from the CLI's JSON or the MCP error's markdown."""
    return set(re.findall(r'"rule":\s*"([\w-]+)"', text)) | set(re.findall(r"\(([\w-]+)\)", text))
