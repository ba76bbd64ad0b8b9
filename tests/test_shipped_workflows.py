"""The two shipped workflows, as data: they load, their instructions are real, and their
checkpoints accept a good spec and refuse the ways agents get it wrong.

The fixture spec (agent_os_cli/demo_data/spec, also at tests/fixtures/specs/user-authentication) is a complete, good spec; the
fixture evidence (tests/fixtures/evidence/) is what an honest agent would report for it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent_os import markdown
from agent_os.definitions import Checkpoint, Phase, Workflow, load_workflow
from agent_os.evidence import CheckContext, CheckResult, check_evidence
from agent_os.execution import expand_tasks_md
from agent_os.files import WorkingTree

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SPEC = FIXTURES / "specs" / "user-authentication"  # a link to agent_os_cli/demo_data/spec, which the demo plays
EVIDENCE = FIXTURES / "evidence"
SPEC_REL = ".agent-os/specs/2026-01-15-user-authentication"
SHIPPED = ["spec_creation_v1", "spec_execution_v1"]


def workflow(name: str) -> Workflow:
    return load_workflow(WORKFLOWS / name)


def phase(wf: Workflow, phase_id: str) -> Phase:
    return next(p for p in wf.phases if p.id == phase_id)


def evidence(relative: str) -> dict[str, Any]:
    return json.loads((EVIDENCE / relative).read_text(encoding="utf-8"))


def failures(result: CheckResult) -> set[tuple[str, str]]:
    return {(f.field, f.rule) for f in result.failures}


@pytest.fixture
def project(tmp_path: Path) -> CheckContext:
    """A project holding a copy of the fixture spec and the files phase 0 says it read."""
    spec = tmp_path / SPEC_REL
    shutil.copytree(SPEC, spec)
    (tmp_path / "README.md").write_text("# Acme API\n", encoding="utf-8")
    (tmp_path / "app" / "users").mkdir(parents=True)
    (tmp_path / "app" / "users" / "models.py").write_text("class User: ...\n", encoding="utf-8")
    return CheckContext(files=WorkingTree(tmp_path), spec_dir=SPEC_REL)


def spec(ctx: CheckContext) -> Path:
    """The spec directory of `ctx` on disk."""
    return ctx.files.root / ctx.spec_dir


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def tick_all(tasks_md: Path) -> None:
    text = tasks_md.read_text(encoding="utf-8")
    tasks_md.write_text(re.sub(r"^(\s*[-*+]\s+)\[ \]", r"\1[x]", text, flags=re.MULTILINE), encoding="utf-8")


# -- definitions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_workflow_loads_without_problems(name: str) -> None:
    wf = workflow(name)
    assert wf.name == name
    assert wf.version == 1


def test_phase_ids_and_titles_are_the_published_contract() -> None:
    creation, execution = workflow("spec_creation_v1"), workflow("spec_execution_v1")
    assert creation.target == "new_spec"
    assert [(p.id, p.title) for p in creation.phases] == [
        ("context", "Context gathering"),
        ("requirements", "Requirements"),
        ("design", "Technical design"),
        ("tasks", "Task breakdown"),
        ("implementation", "Implementation guidance"),
        ("review", "Team review"),
    ]
    assert execution.target == "existing_spec"
    assert [(p.id, p.title, p.expand) for p in execution.phases] == [
        ("intake", "Spec intake", None),
        ("implement", "Implementation", "tasks_md"),
        ("quality", "Quality checks", None),
        ("ship", "Ship", None),
    ]


def test_only_the_review_and_ship_phases_wait_for_people() -> None:
    creation, execution = workflow("spec_creation_v1"), workflow("spec_execution_v1")
    assert [p.id for p in creation.phases if p.gate] == ["review"]
    assert [p.id for p in execution.phases if p.gate] == ["ship"]
    review = phase(creation, "review").gate
    assert review is not None
    assert (review.approvals, review.exclude_author, review.exclude_bots, review.require_resolved_threads) == (
        1, True, True, True,
    )
    ship = phase(execution, "ship").gate
    assert ship is not None
    assert (ship.approvals, ship.exclude_author, ship.dismiss_stale_on_push) == (1, True, True)


@pytest.mark.parametrize("name", SHIPPED)
def test_instruction_files_are_written_for_an_agent(name: str) -> None:
    wf = workflow(name)
    for p in wf.phases:
        text = wf.read_text(p.instructions)
        assert markdown.word_count(text) >= 150, f"{p.instructions} is too thin"
        assert "```json" in text, f"{p.instructions} shows no evidence example"
        assert "Refused" in text, f"{p.instructions} shows no refused evidence"
        for field in p.checkpoint.evidence:
            assert field in text, f"{p.instructions} never mentions evidence field {field!r}"
        for task in p.tasks:
            assert task.instructions, f"task {p.id}/{task.id} has no instructions file"
            assert markdown.word_count(wf.read_text(task.instructions)) >= 50, f"{task.instructions} is too thin"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_required_evidence_field_shows_an_example(name: str) -> None:
    for p in workflow(name).phases:
        for field, spec in p.checkpoint.evidence.items():
            assert spec.description, f"{p.id}.{field} has no description"
            if spec.required:
                assert spec.example is not None, f"{p.id}.{field} has no example"


def test_instructions_point_to_the_standards_library() -> None:
    text = " ".join(
        workflow("spec_creation_v1").read_text(p.instructions) for p in workflow("spec_creation_v1").phases
    )
    for cited in ("security/authentication-tokens.md", "api/errors.md", "testing/test-pyramid.md",
                  "agent/honest-evidence.md"):
        assert cited in text
    assert text.count("search_standards(") >= 10


# -- spec_creation_v1 against the fixture spec ------------------------------------------------


@pytest.mark.parametrize("number", range(6))
def test_good_evidence_passes_each_creation_phase(project: CheckContext, number: int) -> None:
    checkpoint = workflow("spec_creation_v1").phases[number].checkpoint
    result = check_evidence(checkpoint, evidence(f"spec_creation_v1/phase-{number}.json"), project)
    assert result.passed, result.summary()


@pytest.mark.parametrize("name", SHIPPED)
def test_the_good_example_in_each_phase_instructions_passes(project: CheckContext, name: str) -> None:
    """The example an agent copies from the instructions is itself accepted."""
    tick_all(spec(project) / "tasks.md")  # execution examples assume finished tasks
    wf = workflow(name)
    phases = list(wf.phases)
    if name == "spec_execution_v1":
        expanded, problems = expand_tasks_md(phase(wf, "implement"), (spec(project) / "tasks.md").read_text())
        assert not problems
        phases = [phases[0], expanded[0].phase, *phases[2:]]
        sections = {expanded[0].phase.id: expanded[0].section_title}
    else:
        sections = {}
    for p in phases:
        block = re.search(r"```json\n(.*?)\n```", wf.read_text(p.instructions), re.DOTALL)
        assert block, p.instructions
        ctx = CheckContext(project.files, project.spec_dir, sections.get(p.id))
        result = check_evidence(p.checkpoint, json.loads(block.group(1)), ctx)
        assert result.passed, f"{p.instructions}: {result.summary()}"


def test_a_wrong_requirement_count_is_refused_with_the_true_count(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_creation_v1"), "requirements").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-1-wrong-count.json"), project)
    assert failures(result) == {("functional_requirements", "count")}
    (failure,) = result.failures
    assert failure.found == "8"
    assert "12" in failure.expected


def test_a_missing_srd_heading_is_refused(project: CheckContext) -> None:
    edit(spec(project) / "srd.md", "## Out of Scope\n", "")
    checkpoint = phase(workflow("spec_creation_v1"), "requirements").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-1.json"), project)
    assert failures(result) == {("srd.md", "heading")}
    assert "Out of Scope" in result.failures[0].expected


def test_a_missing_srd_file_is_refused(project: CheckContext) -> None:
    (spec(project) / "srd.md").unlink()
    checkpoint = phase(workflow("spec_creation_v1"), "requirements").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-1.json"), project)
    assert failures(result) == {("srd.md", "exists")}


def test_template_placeholders_left_in_the_design_are_refused(project: CheckContext) -> None:
    edit(spec(project) / "specs.md", "Writes structured audit events", "TBD: writes structured audit events")
    checkpoint = phase(workflow("spec_creation_v1"), "design").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-2.json"), project)
    assert failures(result) == {("specs.md", "placeholder")}


def test_an_untraced_requirement_is_refused(project: CheckContext) -> None:
    edit(spec(project) / "specs.md", "| FR-8 | AuditLog | tests/test_audit.py |\n", "")
    checkpoint = phase(workflow("spec_creation_v1"), "design").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-2.json"), project)
    assert failures(result) == {("requirements_traced", "count")}
    assert result.failures[0].found == "7"


def test_acceptance_criteria_written_as_checkboxes_change_the_task_count(project: CheckContext) -> None:
    edit(spec(project) / "tasks.md", "- No password or hash appears", "- [ ] No password or hash appears")
    checkpoint = phase(workflow("spec_creation_v1"), "tasks").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-3.json"), project)
    assert failures(result) == {("total_tasks", "count")}


def test_a_phase_without_a_test_command_is_refused(project: CheckContext) -> None:
    edit(spec(project) / "tasks.md", "**Tests:** `pytest tests/test_refresh.py`", "**Tests:** run the refresh tests")
    checkpoint = phase(workflow("spec_creation_v1"), "tasks").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-3.json"), project)
    assert failures(result) == {("test_commands", "count")}


def test_mistyped_and_unknown_fields_are_refused_together(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_creation_v1"), "tasks").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-3-wrong-types.json"), project)
    assert failures(result) == {
        ("implementation_phases", "type"), ("total_tasks", "type"), ("notes", "unknown"),
    }


def test_paths_escaping_the_project_are_refused(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_creation_v1"), "context").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-0-path-escape.json"), project)
    assert failures(result) == {("spec_dir", "path"), ("project_files_reviewed[0]", "path")}


def test_a_file_the_agent_did_not_read_is_refused(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_creation_v1"), "context").checkpoint
    claim = evidence("spec_creation_v1/phase-0.json") | {"project_files_reviewed": ["app/auth/login.py"]}
    result = check_evidence(checkpoint, claim, project)
    assert failures(result) == {("project_files_reviewed[0]", "exists")}


def test_thin_context_evidence_is_refused(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_creation_v1"), "context").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-0-thin.json"), project)
    assert failures(result) == {
        ("project_files_reviewed", "min_items"), ("standards_consulted[0]", "pattern"), ("learnings", "min_length"),
        ("learnings", "substance"),
    }


def test_the_review_phase_rechecks_the_whole_spec(project: CheckContext) -> None:
    edit(spec(project) / "README.md", "Written and awaiting team review.", "Status: TODO")
    checkpoint = phase(workflow("spec_creation_v1"), "review").checkpoint
    result = check_evidence(checkpoint, evidence("spec_creation_v1/phase-5.json"), project)
    assert failures(result) == {("README.md", "placeholder")}


@pytest.mark.parametrize("reference", ["#128", "acme api 128", "https://github.com/acme/api/issues/128"])
def test_a_pull_request_must_name_its_repository(project: CheckContext, reference: str) -> None:
    checkpoint = phase(workflow("spec_creation_v1"), "review").checkpoint
    claim = evidence("spec_creation_v1/phase-5.json") | {"pull_request": reference}
    assert failures(check_evidence(checkpoint, claim, project)) == {("pull_request", "pattern")}


# -- spec_execution_v1 -------------------------------------------------------------------------


def test_intake_accepts_a_true_reading_of_the_spec(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_execution_v1"), "intake").checkpoint
    result = check_evidence(checkpoint, evidence("spec_execution_v1/phase-0.json"), project)
    assert result.passed, result.summary()


def test_intake_refuses_a_wrong_phase_count_and_files_outside_the_spec(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_execution_v1"), "intake").checkpoint
    claim = evidence("spec_execution_v1/phase-0.json") | {"implementation_phases": 4}
    claim["spec_files_read"] = [*claim["spec_files_read"][:4], "../../../etc/passwd"]
    assert failures(check_evidence(checkpoint, claim, project)) == {
        ("implementation_phases", "count"), ("spec_files_read[4]", "path"),
    }


def expanded_phases(ctx: CheckContext) -> list[tuple[Checkpoint, str, int]]:
    template = phase(workflow("spec_execution_v1"), "implement")
    found, problems = expand_tasks_md(template, (spec(ctx) / "tasks.md").read_text(encoding="utf-8"))
    assert not problems
    return [(e.phase.checkpoint, e.section_title, len(e.phase.tasks)) for e in found]


def test_the_fixture_tasks_expand_into_three_phases(project: CheckContext) -> None:
    assert [(title, n) for _, title, n in expanded_phases(project)] == [
        ("Phase 1: Password login", 4),
        ("Phase 2: Refresh token rotation", 5),
        ("Phase 3: Rate limiting and audit", 3),
    ]


def in_section(ctx: CheckContext, title: str) -> CheckContext:
    return CheckContext(ctx.files, ctx.spec_dir, tasks_section=title)


def test_an_implementation_phase_refuses_while_its_tasks_are_unchecked(project: CheckContext) -> None:
    checkpoint, title, _ = expanded_phases(project)[0]
    result = check_evidence(checkpoint, evidence("spec_execution_v1/implement-phase-1.json"), in_section(project, title))
    assert failures(result) == {("tasks.md", "tasks_checked")}
    assert "4 unchecked" in result.failures[0].found


def test_an_implementation_phase_passes_once_ticked_and_tested(project: CheckContext) -> None:
    tick_all(spec(project) / "tasks.md")
    checkpoint, title, _ = expanded_phases(project)[0]
    result = check_evidence(checkpoint, evidence("spec_execution_v1/implement-phase-1.json"), in_section(project, title))
    assert result.passed, result.summary()


def test_ticking_another_section_does_not_finish_this_one(project: CheckContext) -> None:
    edit(spec(project) / "tasks.md", "- [ ] Implement the Redis", "- [x] Implement the Redis")
    checkpoint, title, _ = expanded_phases(project)[0]
    result = check_evidence(checkpoint, evidence("spec_execution_v1/implement-phase-1.json"), in_section(project, title))
    assert ("tasks.md", "tasks_checked") in failures(result)


def test_an_implementation_phase_refuses_failing_tests(project: CheckContext) -> None:
    tick_all(spec(project) / "tasks.md")
    checkpoint, title, _ = expanded_phases(project)[0]
    claim = evidence("spec_execution_v1/implement-phase-1-failing.json")
    assert failures(check_evidence(checkpoint, claim, in_section(project, title))) == {("test_summary", "tests_passed")}


def test_an_implementation_phase_refuses_a_command_its_section_does_not_name(project: CheckContext) -> None:
    tick_all(spec(project) / "tasks.md")
    checkpoint, title, _ = expanded_phases(project)[0]
    claim = evidence("spec_execution_v1/implement-phase-1-wrong-command.json")
    assert failures(check_evidence(checkpoint, claim, in_section(project, title))) == {("test_command", "tests_named")}


def test_quality_passes_when_every_task_is_done(project: CheckContext) -> None:
    tick_all(spec(project) / "tasks.md")
    checkpoint = phase(workflow("spec_execution_v1"), "quality").checkpoint
    result = check_evidence(checkpoint, evidence("spec_execution_v1/quality.json"), project)
    assert result.passed, result.summary()


def test_quality_refuses_open_tasks(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_execution_v1"), "quality").checkpoint
    result = check_evidence(checkpoint, evidence("spec_execution_v1/quality.json"), project)
    assert failures(result) == {("open_tasks", "count")}
    assert result.failures[0].found == "12"


def test_quality_refuses_failures_and_a_mistyped_coverage(project: CheckContext) -> None:
    tick_all(spec(project) / "tasks.md")
    checkpoint = phase(workflow("spec_execution_v1"), "quality").checkpoint
    result = check_evidence(checkpoint, evidence("spec_execution_v1/quality-failing.json"), project)
    assert failures(result) == {("test_summary", "pattern"), ("coverage_percent", "type")}


@pytest.mark.parametrize(
    ("summary", "passes"),
    [
        ("231 passed, 3 skipped in 44.0s", True),
        ("===== 12 passed in 0.50s =====", True),
        ("Ran 12 tests in 0.1s OK", True),
        ("0 failed, 12 passed", True),
        ("3 failed, 9 passed in 0.6s", False),
        ("12 passed, 1 error in 0.9s", False),
        ("0 passed in 0.01s", False),
        ("FAILED tests/test_login.py::test_x - 12 passed", False),
        ("all good", False),
    ],
)
def test_quality_reads_the_test_summary_like_a_person(project: CheckContext, summary: str, passes: bool) -> None:
    tick_all(spec(project) / "tasks.md")
    checkpoint = phase(workflow("spec_execution_v1"), "quality").checkpoint
    claim = evidence("spec_execution_v1/quality.json") | {"test_summary": summary}
    assert check_evidence(checkpoint, claim, project).passed is passes


def test_ship_accepts_a_pull_request_url_and_refuses_thin_notes(project: CheckContext) -> None:
    checkpoint = phase(workflow("spec_execution_v1"), "ship").checkpoint
    assert check_evidence(checkpoint, evidence("spec_execution_v1/ship.json"), project).passed
    claim = evidence("spec_execution_v1/ship.json") | {"release_notes": "Auth.", "pull_request": "131"}
    assert failures(check_evidence(checkpoint, claim, project)) == {
        ("release_notes", "min_length"), ("release_notes", "substance"), ("pull_request", "pattern"),
    }
