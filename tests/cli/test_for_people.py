"""The CLI as a person meets it: what a phase asks for, in command-line words; help screens
without Python types; a version; ids that can be copied; every problem at once; and
read-only commands that leave an uninitialised folder as it was."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent_os_cli import command
from agent_os_cli.demo import write_demo_project
from agent_os_cli.words import TOOL_NAMES, cli_words

REPO = Path(__file__).resolve().parents[2]
TOOL_WORD = re.compile(r"\b(" + "|".join(TOOL_NAMES) + r")\b")


def agent_os(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`agent-os ARGS` as a person runs it in `cwd` (this checkout's code)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    env.pop("AGENT_OS_DB", None)
    return subprocess.run([sys.executable, "-m", "agent_os_cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120)


@functools.cache
def _command():  # noqa: ANN202 - a click command
    # Built once, as `agent-os` builds it once per process: building walks every command.
    return command()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The real command in this process: (exit code, stdout, stderr)."""
    code = _command().main(list(args), prog_name="agent-os", standalone_mode=False)
    out = capsys.readouterr()
    return code or 0, out.out, out.err


def test_a_cli_walkthrough_never_names_an_mcp_tool(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write_demo_project(tmp_path)
    said: list[str] = []

    def note(args: tuple[str, ...], ok: bool, code: int, out: str, err: str) -> str:
        assert (code == 0) == ok, f"agent-os {' '.join(args)}: {out}{err}"
        said.append(f"$ agent-os {' '.join(args)}\n{out}{err}")
        return out

    def step(*args: str, ok: bool = True) -> str:
        # The real command in this process (a CLI process costs a second of start-up per step).
        return note(args, ok, *cli(capsys, *args))

    # The first step as a person runs it: `agent-os` in its own process, in the folder.
    done = agent_os(tmp_path, "init")
    note(("init",), True, done.returncode, done.stdout, done.stderr)
    # The rest in this process, as that one ran: from the folder, 100 columns, no AGENT_OS_DB.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("AGENT_OS_DB", raising=False)
    step("start", "spec_creation_v1", "user_authentication")
    sid = json.loads(step("status", "--json"))["sessions"][0]["session_id"]
    shown = step("phase", sid)
    assert "phase 0 of 6, Context gathering" in shown
    assert "Evidence fields" in shown and "learnings: string, required, at least 40 characters" in shown
    assert 'agent-os search "rate limiting login attempts"' in shown
    assert "Good example" in shown
    step("phase", sid, "--task", "consult-standards")
    # The evidence, written from what `phase` printed: its good example, true of these files.
    (tmp_path / "evidence.json").write_text(step("phase", sid, "--example"), encoding="utf-8")
    step("complete", sid, "1", "--evidence", "evidence.json", ok=False)  # not the active phase
    step("complete", sid, "0", "--evidence", "evidence.json")
    status = step("status", sid)
    assert "Requirements — in progress" in status and f"agent-os phase {sid}" in status
    step("status")
    step("status", "ses_000000000000", ok=False)
    transcript = "\n".join(said)
    assert not TOOL_WORD.search(transcript), TOOL_WORD.search(transcript).group(0) + "\n" + transcript


def test_engine_hints_read_as_commands() -> None:
    hint = ("Work on phase 1 (Requirements): read get_current_phase('ses_1'), do the work, then call "
            "complete_phase with the evidence it asks for.")
    assert cli_words(hint) == ("Work on phase 1 (Requirements): run agent-os phase ses_1, do the work, then run "
                               "agent-os complete SESSION PHASE --evidence FILE.json with the evidence it asks for.")
    assert cli_words("list_sessions shows the sessions; start_workflow starts one.") == \
        "agent-os status shows the sessions; agent-os start WORKFLOW TARGET starts one."
    assert cli_words('`search_standards("retries")`') == '`agent-os search "retries"`'


def _commands(cmd, path=()):  # noqa: ANN001, ANN202
    yield path
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_help_screens_speak_command_line_not_python(capsys: pytest.CaptureFixture[str]) -> None:
    paths = list(_commands(command()))
    assert ("phase",) in paths and ("token", "list") in paths
    for path in paths:
        code, out, _ = cli(capsys, *path, "--help")
        assert code == 0
        python = re.search(r"<(bool|str|int|float|path)>|list\[|\{[a-z_]+\}", out, re.IGNORECASE)
        assert python is None, f"agent-os {' '.join(path)} --help shows {python.group(0)}:\n{out}"
    _, out, _ = cli(capsys, "search", "--help")
    assert "Usage: agent-os search [OPTIONS] QUERY" in out and "PATH" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from agent_os import __version__

    assert cli(capsys, "--version")[1] == f"agent-os {__version__}\n"


def test_token_list_shows_the_whole_id_revoke_needs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    cli(capsys, "token", "create", "a teammate with a long name", "--project", str(tmp_path))
    tid = json.loads(cli(capsys, "token", "list", "--json", "--project", str(tmp_path))[1])["tokens"][0]["id"]
    _, out, _ = cli(capsys, "token", "list", "--project", str(tmp_path))
    assert tid in out
    assert cli(capsys, "token", "revoke", tid, "--project", str(tmp_path))[0] == 0


def _broken_workflow(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "workflow.yaml").write_text(
        f"name: {folder.name}\nversion: 0\ndescription: x\nphases:\n  - id: a\n    title: A\n    instructions: missing.md\n",
        encoding="utf-8")


def test_validate_lists_schema_problems_and_missing_files_at_once(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _broken_workflow(tmp_path / "broken_v1")
    code, out, _ = cli(capsys, "workflows", "validate", str(tmp_path / "broken_v1"), "--json",
                       "--project", str(tmp_path))
    problems = json.loads(out)["problems"]
    assert code == 1
    assert any("version" in p for p in problems)
    assert any("'missing.md' does not exist" in p for p in problems)


def test_workflows_list_names_an_invalid_workflow_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _broken_workflow(tmp_path / ".agent-os" / "workflows" / "broken_v1")
    code, out, _ = cli(capsys, "workflows", "list", "--project", str(tmp_path))
    assert code == 0 and "spec_creation_v1" in out
    assert "✗ broken_v1" in out and "cannot be started" in out and "agent-os workflows validate broken_v1" in out
    listing = json.loads(cli(capsys, "workflows", "list", "--json", "--project", str(tmp_path))[1])
    assert [b["name"] for b in listing["invalid"]] == ["broken_v1"]


def test_read_only_commands_create_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["status"], ["status", "--json"], ["workflows", "list"], ["workflows", "show", "spec_creation_v1"],
                 ["workflows", "validate", "spec_creation_v1"], ["token", "list"]):
        code, _, err = cli(capsys, *args, "--project", str(tmp_path))
        assert code == 0, (args, err)
    code, _, err = cli(capsys, "phase", "ses_000000000000", "--project", str(tmp_path))
    assert code == 2 and "No session" in err
    assert list(tmp_path.iterdir()) == []
