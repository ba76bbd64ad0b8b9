"""`agent-os init`: the `.agent-os/` folder and the MCP client configs, merged, never clobbered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_os_cli import app

runner = CliRunner()

CLIENT_FILES = {
    "claude": (".mcp.json", "mcpServers"),
    "cursor": (".cursor/mcp.json", "mcpServers"),
    "vscode": (".vscode/mcp.json", "servers"),
}


def init(root: Path, *args: str):
    return runner.invoke(app, ["init", "--project", str(root), *args])


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file and folder under `root`: path -> bytes (None for a folder)."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def expected_args(client: str) -> list[str]:
    """No absolute path: the committed file works in every clone."""
    return ["mcp"] if client == "claude" else ["mcp", "--project", "${workspaceFolder}"]


def test_empty_project_gets_agent_os_folder_and_every_client_config(tmp_path: Path):
    out = init(tmp_path)
    assert out.exit_code == 0, out.output

    base = tmp_path / ".agent-os"
    assert (base / "config.yaml").is_file()
    assert (base / "specs").is_dir() and (base / "standards").is_dir()
    # The local state stays out of git.
    assert "agent_os.db" in (base / ".gitignore").read_text(encoding="utf-8")
    # The template is all comments: a project opens with every default.
    from agent_os.project import Project

    assert Project.open(tmp_path).db_path == (tmp_path / ".agent-os" / "agent_os.db").resolve()

    for client, (rel, key) in CLIENT_FILES.items():
        data = json.loads((tmp_path / rel).read_text(encoding="utf-8"))
        assert list(data) == [key], client
        entry = data[key]["agent-os"]
        assert entry["command"] == "agent-os"
        assert entry["args"] == expected_args(client)
        assert str(tmp_path) not in json.dumps(entry)
    assert json.loads((tmp_path / ".vscode/mcp.json").read_text())["servers"]["agent-os"]["type"] == "stdio"
    assert "type" not in json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]["agent-os"]
    assert "created" in out.stdout and ".cursor/mcp.json" in out.stdout


def test_second_run_changes_nothing(tmp_path: Path):
    assert init(tmp_path).exit_code == 0
    before = snapshot(tmp_path)

    out = init(tmp_path, "--json")
    assert out.exit_code == 0, out.output
    changes = json.loads(out.stdout)["changes"]
    assert changes and {c["action"] for c in changes} == {"unchanged"}
    assert snapshot(tmp_path) == before


def test_json_output_lists_every_change(tmp_path: Path):
    out = init(tmp_path, "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["project"] == str(tmp_path.resolve())
    by_path = {c["path"]: c["action"] for c in report["changes"]}
    assert by_path == {
        ".agent-os/": "created",
        ".agent-os/specs/": "created",
        ".agent-os/standards/": "created",
        ".agent-os/config.yaml": "created",
        ".agent-os/.gitignore": "created",
        ".mcp.json": "created",
        ".cursor/mcp.json": "created",
        ".vscode/mcp.json": "created",
    }


def test_existing_configs_keep_their_servers_and_keys(tmp_path: Path):
    others = {
        "claude": {"mcpServers": {"github": {"command": "gh-mcp", "args": ["--x"], "env": {"T": "1"}}},
                   "note": "kept", "nested": {"a": [1, 2, {"b": None}]}},
        "cursor": {"mcpServers": {"z-last": {"url": "http://localhost:9/mcp"}, "a-first": {"command": "a"}}},
        "vscode": {"inputs": [{"id": "key", "type": "promptString", "description": "Clé d’API"}],
                   "servers": {"db": {"type": "stdio", "command": "db-mcp"}}},
    }
    for client, data in others.items():
        path = tmp_path / CLIENT_FILES[client][0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=4, ensure_ascii=False), encoding="utf-8")

    out = init(tmp_path, "--json")
    assert out.exit_code == 0, out.output
    actions = {c["path"]: (c["action"], c["detail"]) for c in json.loads(out.stdout)["changes"]}

    for client, data in others.items():
        rel, key = CLIENT_FILES[client]
        assert actions[rel] == ("updated", "added the agent-os entry")
        text = (tmp_path / rel).read_text(encoding="utf-8")
        after = json.loads(text)
        ours = after[key].pop("agent-os")
        assert ours["args"] == expected_args(client)
        # Everything else exactly as it was, key order included.
        assert after == data
        assert list(after) == list(data) and list(after[key]) == list(data[key])
    # A person's non-ASCII text stays readable, not turned into \u escapes.
    assert "Clé d’API" in (tmp_path / ".vscode/mcp.json").read_text(encoding="utf-8")


def test_a_stale_agent_os_entry_is_replaced_in_place(tmp_path: Path):
    path = tmp_path / ".mcp.json"
    path.write_text(json.dumps({"mcpServers": {
        "before": {"command": "x"},
        "agent-os": {"command": "/old/venv/bin/agent-os", "args": ["mcp", "--project", "/elsewhere"]},
        "after": {"command": "y"},
    }}), encoding="utf-8")

    out = init(tmp_path, "--client", "claude", "--json")
    assert out.exit_code == 0, out.output
    change = next(c for c in json.loads(out.stdout)["changes"] if c["path"] == ".mcp.json")
    assert change["action"] == "updated" and change["detail"] == "replaced the agent-os entry"
    servers = json.loads(path.read_text(encoding="utf-8"))["mcpServers"]
    assert list(servers) == ["before", "agent-os", "after"]
    assert servers["agent-os"] == {"command": "agent-os", "args": expected_args("claude")}
    assert servers["before"] == {"command": "x"} and servers["after"] == {"command": "y"}

    # Human-readable output names the replacement too.
    servers["agent-os"]["args"] = ["mcp", "--project", "/elsewhere"]
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    out = init(tmp_path, "--client", "claude")
    assert out.exit_code == 0 and "replaced the agent-os entry" in out.stdout


@pytest.mark.parametrize("content", [
    "{ \"mcpServers\": { \"x\": {\"command\": \"y\"}, } }",  # trailing comma
    "// comment\n{}",
    "[1, 2]",
    "\"just a string\"",
    "{\"mcpServers\": [\"not\", \"an\", \"object\"]}",
    "{\"mcpServers\": \"nope\"}",
    b"\xff\xfe\x00bad",
])
def test_an_unreadable_client_file_stops_init_before_anything_is_written(tmp_path: Path, content):
    # Claude's and VS Code's files are fine; Cursor's is not: nothing at all may change.
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode/mcp.json").write_text('{"servers": {}}', encoding="utf-8")
    bad = tmp_path / ".cursor" / "mcp.json"
    bad.parent.mkdir()
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    before = snapshot(tmp_path)

    out = init(tmp_path)
    assert out.exit_code == 2
    assert ".cursor/mcp.json" in out.stderr and "left untouched" in out.stderr
    assert "agent-os init" in out.stderr  # the hint: fix it and run init again
    assert snapshot(tmp_path) == before
    assert not (tmp_path / ".agent-os").exists()

    as_json = init(tmp_path, "--json")
    assert as_json.exit_code == 2
    assert ".cursor/mcp.json" in json.loads(as_json.stdout)["error"]
    assert snapshot(tmp_path) == before


def test_a_bad_file_of_an_unchosen_client_is_not_read(tmp_path: Path):
    (tmp_path / ".mcp.json").write_text("{broken", encoding="utf-8")
    out = init(tmp_path, "--client", "cursor")
    assert out.exit_code == 0, out.output
    assert (tmp_path / ".mcp.json").read_text(encoding="utf-8") == "{broken"


def test_client_option_writes_only_that_client(tmp_path: Path):
    out = init(tmp_path, "--client", "cursor", "--json")
    assert out.exit_code == 0, out.output
    assert (tmp_path / ".cursor/mcp.json").is_file()
    assert not (tmp_path / ".mcp.json").exists()
    assert not (tmp_path / ".vscode").exists()
    paths = [c["path"] for c in json.loads(out.stdout)["changes"]]
    assert ".cursor/mcp.json" in paths and ".mcp.json" not in paths and ".vscode/mcp.json" not in paths

    out = init(tmp_path, "--client", "vscode", "--client", "claude")
    assert out.exit_code == 0, out.output
    assert (tmp_path / ".mcp.json").is_file() and (tmp_path / ".vscode/mcp.json").is_file()


def test_unknown_client_is_refused_with_nothing_written(tmp_path: Path):
    out = init(tmp_path, "--client", "cursor", "--client", "emacs")
    assert out.exit_code == 2
    assert "emacs" in out.stderr and "claude" in out.stderr  # names the valid ones
    assert list(tmp_path.iterdir()) == []


def test_missing_project_directory_is_an_input_error(tmp_path: Path):
    out = init(tmp_path / "nope")
    assert out.exit_code == 2
    assert "does not exist" in out.stderr
    assert not (tmp_path / "nope").exists()


def test_existing_config_yaml_is_never_rewritten(tmp_path: Path):
    base = tmp_path / ".agent-os"
    base.mkdir()
    mine = "# my settings\ngates:\n  approvals: 2\n"
    (base / "config.yaml").write_text(mine, encoding="utf-8")
    (base / ".gitignore").write_text("custom\n", encoding="utf-8")

    out = init(tmp_path, "--json")
    assert out.exit_code == 0, out.output
    actions = {c["path"]: c["action"] for c in json.loads(out.stdout)["changes"]}
    assert actions[".agent-os/"] == "unchanged"
    assert actions[".agent-os/config.yaml"] == "unchanged"
    assert actions[".agent-os/.gitignore"] == "unchanged"
    assert actions[".agent-os/specs/"] == "created"
    assert (base / "config.yaml").read_text(encoding="utf-8") == mine
    assert (base / ".gitignore").read_text(encoding="utf-8") == "custom\n"


def test_init_runs_from_the_current_directory_by_default(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(app, ["init", "--client", "claude"])
    assert out.exit_code == 0, out.output
    entry = json.loads((tmp_path / ".mcp.json").read_text(encoding="utf-8"))["mcpServers"]["agent-os"]
    assert entry["args"] == expected_args("claude")
    assert (tmp_path / ".agent-os").is_dir()


def test_the_written_command_serves_the_project(tmp_path: Path):
    """The entry's args, given back to the CLI, name a project that opens (no typo in --project)."""
    init(tmp_path, "--client", "vscode")
    args = json.loads((tmp_path / ".vscode/mcp.json").read_text())["servers"]["agent-os"]["args"]
    assert args[0] == "mcp"
    # The editor puts the workspace folder in for ${workspaceFolder}.
    args = [a.replace("${workspaceFolder}", str(tmp_path)) for a in args]
    status = runner.invoke(app, ["status", *args[1:], "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["sessions"] == []


def test_the_team_form_runs_the_door_with_the_token_from_the_environment(tmp_path: Path):
    out = init(tmp_path, "--server", "https://agent-os.example.com", "--json")
    assert out.exit_code == 0, out.output
    for client, (rel, key) in CLIENT_FILES.items():
        entry = json.loads((tmp_path / rel).read_text(encoding="utf-8"))[key]["agent-os"]
        assert entry["args"] == [*expected_args(client), "--server", "https://agent-os.example.com"]
        assert set(entry["env"]) == {"AGENT_OS_TOKEN"} and "AGENT_OS_TOKEN" in entry["env"]["AGENT_OS_TOKEN"]
        assert entry["env"]["AGENT_OS_TOKEN"].startswith("${")


def test_the_mcp_server_finds_the_project_from_a_subfolder(tmp_path: Path, monkeypatch):
    from agent_os_cli.common import open_project

    assert init(tmp_path).exit_code == 0
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert open_project(None).root == tmp_path.resolve()
