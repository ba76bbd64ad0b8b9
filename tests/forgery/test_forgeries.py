"""The forgery suite: every submission below is what a determined agent might send to get
past a checkpoint without doing the work. Each goes through both doors (CLI and MCP) and
must be refused, naming the rule it broke, with the session exactly as it was.

The classes follow issue 13: results nobody ran, rules stated but not enforced, ids
without content and templates in other clothes, references never looked up, paths, copies.
The seventh, skipping the review gate, is the last test: execution refuses a hand-made
spec (the engine's provenance tests cover gate-less custom workflows)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent_os_cli.demo import demo_evidence

from .conftest import Workspace, exec_evidence, rules_named

Setup = Callable[[Workspace, str], dict[str, Any]]


@dataclass(frozen=True)
class Forgery:
    name: str
    kind: str  # the class
    workflow: str
    phase: int
    setup: Setup  # edits files, returns the forged evidence
    rule: str  # the rule the refusal must name


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def creation(phase: int, **changes: Any) -> Callable[[], dict[str, Any]]:
    return lambda: demo_evidence(phase) | changes


def files_then(edit_files: Callable[[Workspace, str], None], evidence: Callable[[], dict[str, Any]]) -> Setup:
    def setup(ws: Workspace, sid: str) -> dict[str, Any]:
        edit_files(ws, sid)
        return evidence()
    return setup


def evidence_only(evidence: Callable[[], dict[str, Any]]) -> Setup:
    return files_then(lambda ws, sid: None, evidence)


def in_spec(name: str, old: str, new: str) -> Callable[[Workspace, str], None]:
    return lambda ws, sid: edit(ws.spec(sid) / name, old, new)


IMPLEMENT = exec_evidence("implement-phase-1") | {"test_summary": "3 passed in 0.05s"}
INTAKE = exec_evidence("phase-0")


def implement(**changes: Any) -> Callable[[], dict[str, Any]]:
    return lambda: IMPLEMENT | changes


def intake(**changes: Any) -> Callable[[], dict[str, Any]]:
    return lambda: INTAKE | changes


def _failing_login_tests(ws: Workspace, sid: str) -> None:
    (ws.root / "tests" / "test_login.py").write_text(
        "def test_a():\n    pass\n\ndef test_b():\n    assert 1 == 2\n\ndef test_c():\n    pass\n", encoding="utf-8")


def _spec_dir_as_link(target_inside: bool) -> Callable[[Workspace, str], None]:
    def change(ws: Workspace, sid: str) -> None:
        spec = ws.spec(sid)
        elsewhere = ws.root / "docs" / "spec" if target_inside else ws.root.parent / "outside-spec"
        elsewhere.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(spec, elsewhere)
        shutil.rmtree(spec)
        spec.symlink_to(elsewhere, target_is_directory=True)
    return change


def _outside_file(ws: Workspace, sid: str) -> None:
    (ws.root.parent / "outside.txt").write_text("a secret\n", encoding="utf-8")
    (ws.root / "notes.md").symlink_to(ws.root.parent / "outside.txt")


def _copy_from_other_spec(name: str) -> Callable[[Workspace, str], None]:
    def change(ws: Workspace, sid: str) -> None:
        other = ws.root / ".agent-os" / "specs" / "2025-12-01-login-v1"
        other.mkdir(parents=True)
        shutil.copyfile(ws.spec(sid) / name, other / name)
    return change


FR = "- **FR-8**:"
PADDED = " It covers the whole of the feature as the spec describes it, phase by phase."

FORGERIES = [
    # 1. Results nobody ran.
    Forgery("failing-run-claimed-passing", "results", "spec_execution_v1", 1,
            files_then(_failing_login_tests, implement()), "tests_run"),
    Forgery("no-tests-at-all", "results", "spec_execution_v1", 1,
            files_then(lambda ws, sid: (ws.root / "tests" / "test_login.py").unlink(), implement()), "tests_run"),
    Forgery("command-not-named", "results", "spec_execution_v1", 1,
            evidence_only(implement(test_command="true")), "tests_named"),
    Forgery("claim-inflated", "results", "spec_execution_v1", 1,
            evidence_only(implement(test_summary="12 passed in 0.5s")), "claim_matches_run"),
    Forgery("prose-claim", "results", "spec_execution_v1", 1,
            evidence_only(implement(test_summary="all tests pass")), "tests_passed"),
    Forgery("tasks-ticked-not-done", "results", "spec_execution_v1", 1,
            files_then(in_spec("tasks.md", "- [x] Add `POST /auth/login`", "- [ ] Add `POST /auth/login`"),
                       implement()), "tasks_checked"),
    # 2. Rules stated in the workflow but not enforced.
    Forgery("test-commands-not-one-per-phase", "rules", "spec_creation_v1", 3,
            files_then(in_spec("tasks.md", "**Tests:** `pytest tests/test_refresh.py`", ""),
                       creation(3, test_commands=2)), "one-test-command-per-phase"),
    Forgery("traced-fewer-than-required", "rules", "spec_creation_v1", 2,
            files_then(lambda ws, sid: _drop_trace_row(ws.spec(sid) / "specs.md"),
                       creation(2, requirements_traced=7)), "every-requirement-traced"),
    Forgery("document-linked-twice", "rules", "spec_creation_v1", 4,
            files_then(in_spec("README.md", "](tasks.md)", "](srd.md)"), creation(4)), "documents-linked-resolve"),
    Forgery("document-link-broken", "rules", "spec_creation_v1", 4,
            files_then(in_spec("README.md", "](implementation.md)", "](docs/implementation.md)"), creation(4)),
            "documents-linked-resolve"),
    Forgery("intake-commands-reordered", "rules", "spec_execution_v1", 0,
            evidence_only(intake(test_commands=list(reversed(INTAKE["test_commands"])))), "test-commands-from-tasks"),
    Forgery("intake-commands-invented", "rules", "spec_execution_v1", 0,
            evidence_only(intake(test_commands=["pytest", "pytest", "pytest"])), "test-commands-from-tasks"),
    Forgery("standards-repeated", "rules", "spec_creation_v1", 0,
            evidence_only(creation(0, standards_consulted=["security/rate-limiting.md"] * 4)),
            "standards-consulted-distinct"),
    Forgery("reviewed-files-repeated", "rules", "spec_creation_v1", 0,
            evidence_only(creation(0, project_files_reviewed=["README.md", "./README.md"])), "files-reviewed-distinct"),
    Forgery("spec-files-repeated", "rules", "spec_execution_v1", 0,
            evidence_only(intake(spec_files_read=["srd.md"] * 5)), "spec-files-read-distinct"),
    Forgery("standards-applied-repeated", "rules", "spec_creation_v1", 1,
            evidence_only(creation(1, standards_applied=["api/errors.md", "api/errors.md"])),
            "standards-applied-distinct"),
    Forgery("decisions-repeated", "rules", "spec_creation_v1", 2,
            evidence_only(lambda: demo_evidence(2) | {"design_decisions": demo_evidence(2)["design_decisions"][:1] * 3}),
            "design-decisions-distinct"),
    # 3. Ids without content, templates in other clothes.
    Forgery("bare-requirement-id", "templates", "spec_creation_v1", 1,
            files_then(in_spec("srd.md", FR, "- **FR-9**:\n" + FR), creation(1, functional_requirements=9)),
            "requirements-have-content"),
    Forgery("bare-user-story-id", "templates", "spec_creation_v1", 1,
            files_then(in_spec("srd.md", "- **US-1**:", "- **US-9**:\n- **US-1**:"),
                       lambda: demo_evidence(1) | {"user_stories": demo_evidence(1)["user_stories"] + 1}),
            "user-stories-have-content"),
    Forgery("bare-nfr-id", "templates", "spec_creation_v1", 1,
            files_then(in_spec("srd.md", "- **NFR-1**:", "- **NFR-9**: tbd\n- **NFR-1**:"),
                       lambda: demo_evidence(1) | {"non_functional_requirements": demo_evidence(1)["non_functional_requirements"] + 1}),
            "nfrs-have-content"),
    Forgery("angle-placeholder", "templates", "spec_creation_v1", 1,
            files_then(lambda ws, sid: _first_line(ws.spec(sid) / "srd.md", "# <Feature Name> — Software Requirements"),
                       creation(1)), "placeholder"),
    Forgery("square-placeholder", "templates", "spec_creation_v1", 1,
            files_then(in_spec("srd.md", "## Goals\n", "## Goals\n\n[Describe the problem and the outcome here.]\n"),
                       creation(1)), "placeholder"),
    Forgery("curly-placeholder", "templates", "spec_creation_v1", 2,
            files_then(in_spec("specs.md", "## Components\n", "## Components\n\n{{component_overview}}\n"), creation(2)),
            "placeholder"),
    Forgery("tbd-left", "templates", "spec_creation_v1", 4,
            files_then(in_spec("implementation.md", "## Risks\n", "## Risks\n\nTBD after the design review.\n"),
                       creation(4)), "placeholder"),
    Forgery("template-sentence-left", "templates", "spec_creation_v1", 1,
            files_then(in_spec("srd.md", "## Goals\n", "## Goals\n\nTwo to five sentences or bullets: the problem and the outcome.\n"),
                       creation(1)), "template_text"),
    Forgery("tasks-template-sentence-left", "templates", "spec_creation_v1", 3,
            files_then(in_spec("tasks.md", "## Phase 1: Password login\n",
                               "## Phase 1: Password login\n\nWhat this phase delivers, in one or two sentences.\n"),
                       creation(3)), "template_text"),
    Forgery("filler-learnings", "templates", "spec_creation_v1", 0,
            evidence_only(creation(0, learnings="learnings learnings learnings learnings learnings")), "substance"),
    Forgery("placeholder-understanding", "templates", "spec_execution_v1", 0,
            evidence_only(intake(understanding="<Describe what the spec builds>" + PADDED)), "placeholder"),
    Forgery("placeholder-in-list-item", "templates", "spec_creation_v1", 2,
            evidence_only(lambda: demo_evidence(2) | {"design_decisions": ["[Describe the main decision and the alternative]"]}),
            "placeholder"),
    # 4. References never looked up.
    Forgery("made-up-standard", "references", "spec_creation_v1", 0,
            evidence_only(creation(0, standards_consulted=["security/made-up-standard.md"])), "standard"),
    Forgery("made-up-standard-applied", "references", "spec_creation_v1", 1,
            evidence_only(creation(1, standards_applied=["security/authentication-tokens.md", "api/imaginary.md"])),
            "standard"),
    Forgery("dot-as-reviewed-file", "references", "spec_creation_v1", 0,
            evidence_only(creation(0, project_files_reviewed=["."])), "file"),
    Forgery("folder-as-reviewed-file", "references", "spec_creation_v1", 0,
            evidence_only(creation(0, project_files_reviewed=["app"])), "file"),
    Forgery("spec-dir-as-spec-file", "references", "spec_execution_v1", 0,
            evidence_only(intake(spec_files_read=[".", "srd.md", "specs.md", "tasks.md", "README.md"])), "file"),
    Forgery("missing-reviewed-file", "references", "spec_creation_v1", 0,
            evidence_only(creation(0, project_files_reviewed=["app/users/routes.py"])), "exists"),
    # 5. Paths.
    Forgery("spec-dir-links-outside", "paths", "spec_creation_v1", 1,
            files_then(_spec_dir_as_link(False), creation(1)), "spec_dir_real"),
    Forgery("spec-dir-links-inside", "paths", "spec_creation_v1", 1,
            files_then(_spec_dir_as_link(True), creation(1)), "spec_dir_real"),
    Forgery("reviewed-file-up-and-out", "paths", "spec_creation_v1", 0,
            evidence_only(creation(0, project_files_reviewed=["../outside.txt"])), "path"),
    Forgery("reviewed-file-absolute", "paths", "spec_creation_v1", 0,
            evidence_only(creation(0, project_files_reviewed=["/etc/passwd"])), "path"),
    Forgery("reviewed-file-symlink-out", "paths", "spec_creation_v1", 0,
            files_then(_outside_file, creation(0, project_files_reviewed=["README.md", "notes.md"])), "path"),
    # 6. Copies.
    Forgery("srd-copied-from-another-spec", "copies", "spec_creation_v1", 1,
            files_then(_copy_from_other_spec("srd.md"), creation(1)), "copied"),
    Forgery("readme-copied-from-another-spec", "copies", "spec_creation_v1", 4,
            files_then(_copy_from_other_spec("README.md"), creation(4)), "copied"),
]


def _drop_trace_row(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("| FR-8 ")), encoding="utf-8")


def _first_line(path: Path, line: str) -> None:
    rest = path.read_text(encoding="utf-8").split("\n", 1)[1]
    path.write_text(line + "\n" + rest, encoding="utf-8")


def test_the_suite_covers_every_class_on_both_workflows():
    assert len(FORGERIES) * 2 >= 60
    assert {f.kind for f in FORGERIES} == {"results", "rules", "templates", "references", "paths", "copies"}
    assert {f.workflow for f in FORGERIES} == {"spec_creation_v1", "spec_execution_v1"}
    assert len({f.name for f in FORGERIES}) == len(FORGERIES)


@pytest.mark.anyio
@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
async def test_forgery_is_refused_with_its_reason_and_nothing_changes(forgery: Forgery, workspace: Workspace, door):
    ws = workspace
    sid = ws.at(forgery.workflow, forgery.phase)
    evidence = forgery.setup(ws, sid)
    before = ws.snapshot(sid)
    attempt = await door.complete(sid, forgery.phase, evidence)
    assert not attempt.accepted, f"{forgery.name} was accepted through {door.name}"
    assert forgery.rule in rules_named(attempt.text), f"{forgery.name}: expected rule {forgery.rule}; got {attempt.text}"
    assert ws.snapshot(sid) == before


@pytest.mark.anyio
async def test_execution_cannot_start_on_a_spec_reached_through_a_symlink(workspace: Workspace, door):
    ws = workspace
    spec_dir = ws.approved_spec()
    real = ws.root / "docs" / "approved-spec"
    real.parent.mkdir(parents=True)
    (ws.root / spec_dir).rename(real)
    (ws.root / spec_dir).symlink_to(real, target_is_directory=True)
    before = [s.session_id for s in ws.engine.list_sessions()]
    attempt = await door.start("spec_execution_v1", spec_dir)
    assert not attempt.accepted and "symbolic link" in attempt.text
    assert [s.session_id for s in ws.engine.list_sessions()] == before


@pytest.mark.anyio
async def test_execution_cannot_start_on_a_spec_nobody_approved(workspace: Workspace, door):
    ws = workspace
    hand_made = ".agent-os/specs/2026-01-15-user-authentication"
    shutil.copytree(Path(__file__).parent.parent / "fixtures" / "specs" / "user-authentication", ws.root / hand_made)
    attempt = await door.start("spec_execution_v1", hand_made)
    assert not attempt.accepted and "not approved" in attempt.text
    assert ws.engine.list_sessions() == []
