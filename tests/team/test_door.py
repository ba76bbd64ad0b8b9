"""`agent-os mcp --server URL`: the same tools as solo, answered by the team server."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.standards import HashEmbedder
from agent_os_cli.team import create_team_app, issue_token
from standin.serving import BackgroundServer, free_port
from bot.settings import Settings
from mcp_server.door import TeamServer, build_door, repository_of
from mcp_server.server import build_server


@pytest.fixture
def team_server(tmp_path):
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    project = Project.open(server_dir)
    engine = Engine.open(project)
    app = create_team_app(Settings(), project=project, engine=engine, embedder=HashEmbedder())
    with BackgroundServer(app) as running:
        yield running.url, issue_token(engine, "agent"), engine
    engine.close()


def _tools(server) -> dict:
    async def go():
        async with Client(server) as client:
            return {t.name: (t.input_schema, t.description) for t in (await client.list_tools()).tools}
    return anyio.run(go)


def test_the_door_shows_the_model_the_same_tools_as_solo(tmp_path, team_server):
    url, token, _ = team_server
    clone = tmp_path / "clone"
    clone.mkdir()
    door = build_door(Project.open(clone), url, token)
    solo = build_server(Project.open(clone), embedder=HashEmbedder())
    assert _tools(door) == _tools(solo)


def test_sessions_live_on_the_server(tmp_path, team_server):
    url, token, engine = team_server
    clone = tmp_path / "clone"
    clone.mkdir()
    door = build_door(Project.open(clone), url, token)

    async def go():
        async with Client(door) as client:
            started = await client.call_tool("start_workflow", {"workflow_type": "spec_creation_v1",
                                                                 "target_file": "auth"})
            sid = started.structured_content["session"]["session_id"]
            state = await client.call_tool("get_workflow_state", {"session_id": sid})
            search = await client.call_tool("search_standards", {"query": "rate limiting"})
            bad = await client.call_tool("get_workflow_state", {"session_id": "ses_nosuchthing"})
            return sid, state, search, bad

    sid, state, search, bad = anyio.run(go)
    assert [s.session_id for s in engine.list_sessions()] == [sid]
    assert state.structured_content["current_phase"] == 0
    assert search.structured_content["results"]
    assert bad.is_error and "No session 'ses_nosuchthing'" in bad.content[0].text
    assert bad.content[0].text.count("Error executing tool") <= 1


def test_a_wrong_token_says_what_to_do(tmp_path, team_server):
    url, _, _ = team_server
    clone = tmp_path / "clone"
    clone.mkdir()
    door = build_door(Project.open(clone), url, "not-a-token")

    async def go():
        async with Client(door) as client:
            return await client.call_tool("list_workflows", {})

    result = anyio.run(go)
    assert result.is_error and "AGENT_OS_TOKEN" in result.content[0].text


def test_repository_from_the_git_remote(tmp_path):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert repository_of(tmp_path) is None
    for url in ("https://github.com/acme/webapp.git", "git@github.com:acme/webapp.git",
                "http://127.0.0.1:5000/acme/webapp"):
        subprocess.run(["git", "-C", str(tmp_path), "remote", "remove", "origin"], capture_output=True)
        subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", url], check=True)
        assert repository_of(tmp_path) == "acme/webapp"


def test_init_with_a_server_points_the_clients_at_the_door_and_keeps_the_token_out_of_the_project(
        tmp_path, monkeypatch):
    import json
    import os

    from typer.testing import CliRunner

    from agent_os_cli import app
    from agent_os_cli.credentials import token_for

    home = tmp_path / "home"
    monkeypatch.setenv("AGENT_OS_CONFIG_HOME", str(home))
    monkeypatch.delenv("AGENT_OS_TOKEN", raising=False)
    clone = tmp_path / "clone"
    clone.mkdir()
    result = CliRunner().invoke(app, ["init", "--project", str(clone), "--client", "claude",
                                      "--server", "https://aos.example.com", "--token", "aos_secret"])
    assert result.exit_code == 0, result.output
    entry = json.loads((clone / ".mcp.json").read_text())["mcpServers"]["agent-os"]
    assert entry["args"][-2:] == ["--server", "https://aos.example.com"]
    assert "aos_secret" not in (clone / ".mcp.json").read_text()
    assert token_for("https://aos.example.com/") == "aos_secret"
    assert oct(os.stat(home / "credentials.json").st_mode & 0o777) == "0o600"
    monkeypatch.setenv("AGENT_OS_TOKEN", "from-env")
    assert token_for("https://aos.example.com") == "from-env"
    refused = CliRunner().invoke(app, ["init", "--project", str(clone), "--token", "x"])
    assert refused.exit_code == 2 and "--token goes with --server" in refused.output


def test_a_file_over_the_doors_cap_is_reported_as_too_large_not_missing(tmp_path, team_server):
    from agent_os_cli.demo import demo_evidence, write_demo_project, write_spec_files

    url, token, engine = team_server
    clone = tmp_path / "clone"
    clone.mkdir()
    write_demo_project(clone)
    door = build_door(Project.open(clone), url, token)

    async def go():
        async with Client(door) as client:
            started = await client.call_tool("start_workflow", {"workflow_type": "spec_creation_v1",
                                                                 "target_file": "auth"})
            sid, spec_dir = (started.structured_content["session"][k] for k in ("session_id", "spec_dir"))
            (clone / spec_dir).mkdir(parents=True)
            done = await client.call_tool("complete_phase", {"session_id": sid, "phase": 0,
                                                             "evidence": demo_evidence(0)})
            assert not done.is_error, done.content[0].text
            write_spec_files(clone / spec_dir, 1)
            srd = clone / spec_dir / "srd.md"
            srd.write_text(srd.read_text() + "\n<!-- padding -->\n" + "x" * 2_500_000 + "\n")
            return sid, await client.call_tool("complete_phase", {"session_id": sid, "phase": 1,
                                                                   "evidence": demo_evidence(1)})

    sid, refused = anyio.run(go)
    text = refused.content[0].text
    assert refused.is_error
    assert "srd.md" in text and "too large (2.5 MB; the cap is 2 MB)" in text and "Split srd.md" in text
    assert "no such file" not in text
    assert engine.state(sid).current_phase == 1


def test_one_connection_serves_the_calls_and_a_restarted_server_costs_only_the_call_made_while_down(tmp_path):
    """A call on the door's open connection is one HTTP request; the server going away fails
    the calls made meanwhile, saying what to do, and the next call after it is back works."""
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    port = free_port()

    requests: list[str] = []

    def start() -> tuple[BackgroundServer, Engine]:
        engine = Engine.open(Project.open(server_dir))
        app = create_team_app(Settings(), project=Project.open(server_dir), engine=engine, embedder=HashEmbedder())

        async def counted(scope, receive, send):
            if scope["type"] == "http":  # noted as it arrives, before any answer
                requests.append(f"{scope['method']} {scope['path']}")
            await app(scope, receive, send)

        return BackgroundServer(counted, port=port).start(), engine

    running, engine = start()
    door = TeamServer(running.url, issue_token(engine, "agent"))
    try:
        sid = door.call("start_workflow", {"workflow_type": "spec_creation_v1", "target_file": "auth"})[
            "session"]["session_id"]
        before = len(requests)
        for _ in range(3):
            assert door.call("get_workflow_state", {"session_id": sid})["current_phase"] == 0
        assert requests[before:] == ["POST /mcp"] * 3

        running.stop()
        engine.close()
        with pytest.raises(ToolError, match="Cannot reach the team server .* check that it runs"):
            door.call("get_workflow_state", {"session_id": sid})

        running, engine = start()
        assert door.call("get_workflow_state", {"session_id": sid})["session_id"] == sid
        assert [s.session_id for s in engine.list_sessions()] == [sid]
    finally:
        door.close()
        running.stop()
        engine.close()
