"""Results come from runs: in solo mode the engine runs the command the approved tasks.md
names for the phase, in the project root, and holds the agent's claim up against it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import approved_spec

from agent_os.engine import Engine
from agent_os.errors import EvidenceRejected
from agent_os.testrun import LocalRunner

TASKS = """# Tasks

## Phase 1: Calculator
- [x] Add the calculator
Tests: `{command}`
"""

PASSING = "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n\ndef test_zero():\n    assert add(2, 0) == 2\n"


@pytest.fixture(autouse=True)
def no_cached_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The projects' own test runs compile their modules afresh. Python trusts a cached .pyc
    whose source has the same size and the same mtime to the second: the bug fixed below
    (`a - b` to `a + b`) within one second would otherwise still run the bug."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")


def start_execution(engine: Engine, command: str) -> str:
    """An execution session on an approved spec whose only phase names `command`, at phase 1."""
    spec_dir = approved_spec(engine, "calc", TASKS.format(command=command))
    sid = engine.start("build_v1", spec_dir).session.session_id
    engine.complete_phase(sid, 0, {"read": True})
    return sid


def write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


def failures(exc: pytest.ExceptionInfo[EvidenceRejected]) -> dict[tuple[str, str], str]:
    return {(f["field"], f["rule"]): f["found"] for f in exc.value.data["failures"]}


def test_a_real_failing_run_is_refused_even_when_the_agent_claims_it_passed(engine: Engine):
    root = engine.project.root
    write(root, "calc.py", "def add(a, b):\n    return a - b\n")  # the bug the tests catch
    write(root, "tests/test_calc.py", PASSING)
    sid = start_execution(engine, "python -m pytest -q tests/test_calc.py")
    before = engine.state(sid)
    with pytest.raises(EvidenceRejected) as refused:
        engine.complete_phase(sid, 1, {"test_command": "python -m pytest -q tests/test_calc.py",
                                       "test_summary": "2 passed in 0.01s"})
    found = failures(refused)
    assert "1 passed, 1 failed" in found[("test_command", "tests_run")]
    after = engine.state(sid)
    assert [(p.number, p.state) for p in after.phases] == [(p.number, p.state) for p in before.phases]
    assert after.current_phase == 1
    run = [e for e in engine.events(sid) if e.kind == "command_run"][-1]
    assert run.data["exit_code"] == 1 and "assert 0 == 4" in run.data["output_tail"]
    # Fix the code: the same claim is now true, and accepted.
    write(root, "calc.py", "def add(a, b):\n    return a + b\n")
    result = engine.complete_phase(sid, 1, {"test_command": "python -m pytest -q tests/test_calc.py",
                                            "test_summary": "2 passed in 0.01s"})
    assert result.phase_state == "complete"
    assert any("ran `python -m pytest -q tests/test_calc.py` here: exit 0: 2 passed, 0 failed" in v for v in result.verified)


def test_a_claim_that_differs_from_the_run_is_refused(engine: Engine):
    root = engine.project.root
    write(root, "calc.py", "def add(a, b):\n    return a + b\n")
    write(root, "tests/test_calc.py", PASSING)
    sid = start_execution(engine, "python -m pytest -q tests/test_calc.py")
    with pytest.raises(EvidenceRejected) as refused:
        engine.complete_phase(sid, 1, {"test_command": "python -m pytest -q tests/test_calc.py",
                                       "test_summary": "40 passed in 0.01s"})
    assert set(failures(refused)) == {("test_summary", "claim_matches_run")}


def test_only_commands_tasks_md_names_are_run(engine: Engine, tmp_path: Path):
    marker = tmp_path / "ran"
    sid = start_execution(engine, "python -m unittest discover -s tests")
    with pytest.raises(EvidenceRejected) as refused:
        engine.complete_phase(sid, 1, {"test_command": f"touch {marker}; echo '3 passed in 0.1s'",
                                       "test_summary": "3 passed in 0.1s"})
    assert set(failures(refused)) == {("test_command", "tests_named")}
    assert not marker.exists()
    assert not [e for e in engine.events(sid) if e.kind == "command_run"]


CALC = "def add(a, b):\n    return a + b\n"
HONEST = {
    "unittest": ({"calc.py": CALC, "tests/test_calc.py": (
        "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(1, 1), 2)\n")},
        "python -m unittest discover -s tests", "Ran 1 test in 0.000s\n\nOK"),
    "node": ({"test/calc.test.mjs": (
        "import test from 'node:test';\nimport assert from 'node:assert';\n"
        "test('adds', () => assert.equal(1 + 1, 2));\ntest('more', () => assert.equal(2 + 2, 4));\n")},
        "node --test test/", "# tests 2\n# pass 2\n# fail 0"),
    "cargo": ({"Cargo.toml": '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n',
               "src/lib.rs": ("pub fn add(a: u64, b: u64) -> u64 { a + b }\n#[cfg(test)]\nmod tests {\n"
                              "    #[test] fn adds() { assert_eq!(super::add(2, 2), 4); }\n}\n")},
              "cargo test --offline",
              "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s"),
    "prove": ({"lib/Calc.pm": "package Calc;\nsub add { return $_[0] + $_[1] }\n1;\n",
               "t/calc.t": "use strict; use warnings;\nuse Test::More tests => 2;\nuse Calc;\n"
                           "is(Calc::add(2, 2), 4, 'adds');\nis(Calc::add(2, 0), 2, 'adds zero');\n"},
              "prove -l t/", "All tests successful.\nFiles=1, Tests=2,  0 wallclock secs\nResult: PASS"),
}
TOOL = {"unittest": "python", "node": "node", "cargo": "cargo", "prove": "prove"}


@pytest.mark.parametrize("runner", sorted(HONEST))
def test_honest_runner_output_is_accepted(engine: Engine, runner: str):
    if shutil.which(TOOL[runner]) is None:
        pytest.skip(f"{TOOL[runner]} is not installed here, so its real run cannot be made")
    project_files, command, summary = HONEST[runner]
    for rel, text in project_files.items():
        write(engine.project.root, rel, text)
    sid = start_execution(engine, command)
    result = engine.complete_phase(sid, 1, {"test_command": command, "test_summary": summary})
    assert result.phase_state == "complete"


def test_a_run_that_hangs_is_stopped_and_fails(tmp_path: Path):
    run = LocalRunner(tmp_path, timeout=1).run("echo started; sleep 30")
    assert run.timed_out and run.describe() == "timed out after 1s" and "started" in run.output


def test_huge_output_is_capped_but_its_summary_still_read(tmp_path: Path):
    run = LocalRunner(tmp_path, max_output=2000).run("yes noise | head -c 500000; echo; echo '7 passed in 0.2s'")
    assert run.output_bytes > 500000 and len(run.output) < 2200 and run.counts.passed == 7
    assert run.to_record()["output_tail"].endswith("7 passed in 0.2s\n")


def test_the_lint_command_tasks_md_names_is_the_one_reported_and_it_is_run(tmp_path: Path):
    from agent_os.definitions import load_workflow
    from agent_os.evidence import CheckContext, check_evidence
    from agent_os.files import WorkingTree
    from agent_os.resources import shipped_workflows_dir

    quality = next(p for p in load_workflow(shipped_workflows_dir() / "spec_execution_v1").phases if p.id == "quality")
    spec = tmp_path / "spec"
    spec.mkdir()
    claim = {"test_command": "python -m pytest -q", "test_summary": "3 passed in 0.1s", "lint_command": "",
             "lint_result": "ok", "open_tasks": 0, "requirements_verified": ["FR-1: tests/test_calc.py"]}

    def check(lint_line: str, command: str) -> set[tuple[str, str]]:
        (spec / "tasks.md").write_text(f"# Tasks\n\n## Phase 1: X\n- [x] done\n{lint_line}\n", encoding="utf-8")
        ctx = CheckContext(WorkingTree(tmp_path), "spec", runner=LocalRunner(tmp_path, timeout=60))
        return {(f.field, f.rule) for f in check_evidence(quality.checkpoint, claim | {"lint_command": command}, ctx).failures}

    assert check("", "my own linter") == set()  # tasks.md names none: the claim stands alone
    assert check("Lint: `python -m compileall -q spec`", "ruff check .") == {("lint_command", "lint_named")}
    assert check("Lint: `python -m compileall -q spec`", "python -m compileall -q spec") == set()
    failing = "python -c 'import sys; sys.exit(3)'"
    assert check(f"**Lint:** `{failing}`", failing) == {("lint_command", "lint_run")}
