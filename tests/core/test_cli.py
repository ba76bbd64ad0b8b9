"""The CLI as a person or script uses it: --json shapes and exit codes 0/1/2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agent_os_cli import app

runner = CliRunner()


def run(project, *args: str, input: str | None = None):
    return runner.invoke(app, [*args, "--project", str(project.root)], input=input)


def test_start_status_complete_approve_round_trip(project):
    out = run(project, "start", "notes_v1", "user_authentication", "--author", "alice", "--json")
    assert out.exit_code == 0, out.output
    sid = json.loads(out.stdout)["session"]["session_id"]

    status = json.loads(run(project, "status", sid, "--json").stdout)
    assert {"session_id", "workflow", "spec_dir", "current_phase", "phases"} <= set(status)
    assert [(p["number"], p["state"]) for p in status["phases"]] == [(0, "active"), (1, "pending"), (2, "pending")]

    spec = project.root / status["spec_dir"]
    (spec / "notes.md").write_text("# N\n\n## Notes\n\n- NOTE-1 a note\n", encoding="utf-8")
    bad = project.root / "bad.json"
    bad.write_text(json.dumps({"notes_file": "notes.md", "items": 5}))
    refused = run(project, "complete", sid, "0", "--evidence", str(bad), "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["details"]["failures"][0]["rule"] == "count"

    good = project.root / "good.json"
    good.write_text(json.dumps({"notes_file": "notes.md", "items": 1}))
    assert run(project, "complete", sid, "0", "--evidence", str(good)).exit_code == 0
    assert run(project, "complete", sid, "check", "--evidence", "-", input='{"summary": "all checked here"}').exit_code == 0
    assert run(project, "complete", sid, "2", "--evidence", "-", input='{"summary": "ready for review"}').exit_code == 0

    again = run(project, "complete", sid, "2", "--evidence", "-", input='{"summary": "ready for review"}')
    assert again.exit_code == 1 and "waits for a person" in again.stderr
    assert run(project, "approve", sid, "--by", "alice").exit_code == 1  # the author
    approved = run(project, "approve", sid, "--by", "bob", "--json")
    assert approved.exit_code == 0
    assert json.loads(approved.stdout)["session"]["status"] == "complete"

    listing = json.loads(run(project, "status", "--json").stdout)
    assert [s["session_id"] for s in listing["sessions"]] == [sid]


def test_input_errors_exit_2(project):
    sid = json.loads(run(project, "start", "notes_v1", "x", "--json").stdout)["session"]["session_id"]
    assert run(project, "complete", sid, "0", "--evidence", "missing.json").exit_code == 2
    broken = project.root / "broken.json"
    broken.write_text("{not json")
    out = run(project, "complete", sid, "0", "--evidence", str(broken), "--json")
    assert out.exit_code == 2 and "not valid JSON" in json.loads(out.stdout)["error"]
    assert run(project, "start", "notes_v1", "../../etc").exit_code == 2
    assert run(project, "status", "ses_nope").exit_code == 2
    assert run(project, "start", "nope_v1", "x").exit_code == 2
    assert runner.invoke(app, ["status", "--project", str(project.root / "missing")]).exit_code == 2


def test_workflows_list_show_validate(project, tmp_path):
    listing = json.loads(run(project, "workflows", "list", "--json").stdout)
    names = {w["name"] for w in listing["workflows"]}
    assert {"notes_v1", "build_v1"} <= names
    shown = json.loads(run(project, "workflows", "show", "notes_v1", "--json").stdout)
    assert [p["id"] for p in shown["phases"]] == ["write", "check", "review"]
    assert run(project, "workflows", "validate", "notes_v1").exit_code == 0

    broken = tmp_path / "broken_v1"
    broken.mkdir()
    (broken / "workflow.yaml").write_text(
        "name: other_name\nversion: 0\ndescription: x\nphases:\n  - id: a\n    title: A\n    instructions: missing.md\n"
    )
    out = run(project, "workflows", "validate", str(broken), "--json")
    assert out.exit_code == 1
    problems = json.loads(out.stdout)["problems"]
    assert any("version" in p for p in problems)
    assert all(str(broken / "workflow.yaml") in p for p in problems)


def test_help_is_complete():
    out = runner.invoke(app, ["--help"])
    for command in ("workflows", "start", "status", "complete", "approve"):
        assert command in out.stdout
