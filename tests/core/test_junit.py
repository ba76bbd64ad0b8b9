"""JUnit reports: when the command tasks.md names writes a JUnit XML report, Agent OS reads it
(inside the project, size-capped) after running the command, uses its counts, and refuses a
report that disagrees with the run's own output, that the run did not write, or that lies
outside the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import approved_spec

from agent_os.engine import Engine
from agent_os.errors import EvidenceRejected
from agent_os.junit import disagreement, report_paths
from agent_os.runners import RunCounts

TASKS = "# Tasks\n\n## Phase 1: Calculator\n- [x] Add the calculator\nTests: `{command}`\n"
TESTS = ("import pytest\nfrom calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n\n"
         "@pytest.mark.xfail(reason='rounding comes later')\ndef test_round():\n    assert add(0.1, 0.2) == 0.3\n")
PYTEST = "python -m pytest -q -p no:cacheprovider --junitxml=reports/junit.xml tests"


def project_with_tests(engine: Engine, command: str) -> str:
    root = engine.project.root
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_calc.py").write_text(TESTS)
    (root / "reports").mkdir(exist_ok=True)
    sid = engine.start("build_v1", approved_spec(engine, "calc", TASKS.format(command=command))).session.session_id
    engine.complete_phase(sid, 0, {"read": True})
    return sid


def refusal(engine: Engine, sid: str, command: str, summary: str) -> dict[tuple[str, str], str]:
    with pytest.raises(EvidenceRejected) as refused:
        engine.complete_phase(sid, 1, {"test_command": command, "test_summary": summary})
    return {(f["field"], f["rule"]): f["found"] for f in refused.value.data["failures"]}


def test_a_real_pytest_run_with_its_junit_report_is_accepted(engine: Engine):
    sid = project_with_tests(engine, PYTEST)
    result = engine.complete_phase(sid, 1, {"test_command": PYTEST, "test_summary": "1 passed, 1 xfailed in 0.05s"})
    assert result.phase_state == "complete"
    said = next(v for v in result.verified if v.startswith("tests: ran"))
    # pytest prints the expected failure as passing; its report files it as skipped: they agree.
    assert "its JUnit report reports/junit.xml agrees: 1 passed, 0 failed, 1 skipped (junit xml)" in said
    # The report is the run's output, not part of the change: it is not kept with the checkpoint.
    accepted = [e for e in engine.events(sid) if e.kind == "evidence_accepted"][-1]
    assert "reports/junit.xml" not in accepted.data["files"]


def test_a_report_that_disagrees_with_the_run_is_refused(engine: Engine):
    forge = ("python -c \"import pathlib; p = pathlib.Path('reports/junit.xml'); "
             "p.write_text(p.read_text().replace('</testsuite>', '<testcase name=\\'extra\\'/></testsuite>'))\"")
    command = f"{PYTEST} && {forge}"
    sid = project_with_tests(engine, command)
    found = refusal(engine, sid, command, "1 passed, 1 xfailed in 0.05s")
    assert found[("test_command", "junit_report")] == "the report has 3 tests passed or skipped, the output 2"
    assert engine.state(sid).current_phase == 1


def test_a_report_the_run_did_not_write_is_refused(engine: Engine):
    command = "true --junitxml=reports/junit.xml && echo '5 passed in 0.1s'"
    sid = project_with_tests(engine, command)
    stale = engine.project.root / "reports" / "junit.xml"
    stale.write_text("<testsuite><testcase name='a'/></testsuite>")
    found = refusal(engine, sid, command, "5 passed in 0.1s")
    assert "unchanged since before the run" in found[("test_command", "junit_report")]
    stale.unlink()
    found = refusal(engine, sid, command, "5 passed in 0.1s")
    assert "the run wrote none" in found[("test_command", "junit_report")]


@pytest.mark.parametrize("where", ["../outside.xml", "/tmp/agent-os-junit.xml"])
def test_a_report_outside_the_project_is_not_read(engine: Engine, where: str):
    command = f"python -m pytest -q -p no:cacheprovider --junitxml={where} tests"
    sid = project_with_tests(engine, command)
    found = refusal(engine, sid, command, "1 passed, 1 xfailed in 0.05s")
    assert "outside the project" in found[("test_command", "junit_report")]


def test_node_writing_only_a_junit_report_is_read_from_the_report(engine: Engine):
    if shutil.which("node") is None:
        pytest.skip("node is not installed here, so its real run cannot be made")
    root = engine.project.root
    (root / "test").mkdir()
    (root / "test" / "calc.test.mjs").write_text(
        "import test from 'node:test';\nimport assert from 'node:assert';\n"
        "test('adds', () => assert.equal(1 + 1, 2));\ntest('later', { skip: true }, () => {});\n")
    command = "node --test --test-reporter=junit --test-reporter-destination=reports/node.xml test/"
    sid = project_with_tests(engine, command)
    result = engine.complete_phase(sid, 1, {"test_command": command, "test_summary": "# pass 1\n# skipped 1"})
    assert result.phase_state == "complete"
    assert "1 passed, 0 failed, 1 skipped (junit xml)" in " ".join(result.verified)


def test_the_report_paths_a_command_names():
    assert report_paths("pytest --junitxml=reports/junit.xml tests") == ["reports/junit.xml"]
    assert report_paths("pytest --junit-xml out/j.xml") == ["out/j.xml"]
    assert report_paths("node --test --test-reporter=spec --test-reporter-destination=stdout "
                        "--test-reporter=junit --test-reporter-destination=r.xml") == ["r.xml"]
    assert report_paths("npx vitest run --reporter=junit --outputFile=reports/v.xml") == ["reports/v.xml"]
    assert report_paths("npx mocha --reporter mocha-junit-reporter --reporter-options mochaFile=m.xml") == ["m.xml"]
    assert report_paths("JEST_JUNIT_OUTPUT_FILE=j.xml npx jest --reporters=default --reporters=jest-junit") == ["j.xml"]
    assert report_paths("gotestsum --junitfile unit.xml ./...") == ["unit.xml"]
    assert report_paths("pytest -q tests") == [] and report_paths("vitest --outputFile=x.json") == []


def test_disagreement():
    assert disagreement(RunCounts(2, 0, 1), RunCounts(1, 0, 2)) is None
    assert disagreement(RunCounts(2, 0, 0), RunCounts(1, 1, 0)) == "the report has 1 failed, the output 0"
    assert disagreement(RunCounts(2, 0, 0), RunCounts(40, 0, 0)) is not None


def test_team_mode_reads_no_report(engine: Engine, tmp_path: Path):
    from agent_os.files import WorkingTree

    command = "true --junitxml=reports/junit.xml"
    sid = project_with_tests(engine, command)
    result = engine.complete_phase(sid, 1, {"test_command": command, "test_summary": "2 passed in 0.1s"},
                                   files=WorkingTree(engine.project.root))
    assert result.phase_state == "complete"  # nothing ran on the server, nothing was read
