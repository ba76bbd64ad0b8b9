"""Shared test helpers: two tiny workflows, so engine tests do not depend on the shipped ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agent_os.engine import Engine

NOTES_V1 = """
name: notes_v1
version: 1
description: Write notes, then have them reviewed.
phases:
  - id: write
    title: Write notes
    instructions: phases/write.md
    tasks:
      - {id: draft, title: Draft the notes, instructions: tasks/draft.md}
    checkpoint:
      evidence:
        notes_file: {type: path, within_spec_dir: true, description: The notes file}
        items: {type: integer, min: 1}
      artifacts:
        - path: notes.md
          required_headings: [Notes]
          counts:
            - {evidence: items, pattern: '^- NOTE-\\d+', section: Notes, label: note items}
  - id: check
    title: Check
    instructions: phases/check.md
    checkpoint:
      evidence:
        summary: {type: string, min_length: 10}
  - id: review
    title: Review
    instructions: phases/review.md
    checkpoint:
      evidence:
        summary: {type: string, min_length: 10}
    gate: {approvals: 1}
"""

BUILD_V1 = """
name: build_v1
version: 1
description: Build from a spec's tasks.md.
target: existing_spec
phases:
  - id: intake
    title: Intake
    instructions: phases/intake.md
    checkpoint:
      evidence:
        read: {type: boolean}
  - id: implement
    title: Implementation
    instructions: phases/implement.md
    expand: tasks_md
    checkpoint:
      evidence:
        test_command: {type: string}
        test_summary: {type: string}
      checks: [tasks_checked, tests_passed]
  - id: ship
    title: Ship
    instructions: phases/ship.md
    checkpoint:
      evidence:
        summary: {type: string, min_length: 10}
    gate: {approvals: 1, dismiss_stale_on_push: true}
"""

TASKS_MD = """# Tasks

## Phase 1: Data model
- [ ] Create the users table
- [ ] Add the migration
Tests: `pytest tests/test_models.py`

## Phase 2: Login endpoint
- [ ] POST /login
Tests: `pytest tests/test_login.py`
"""


def write_workflow(root: Path, text: str) -> None:
    """Write a workflow.yaml and an instruction file for every path it names."""
    import re

    name = re.search(r"^name: (\w+)", text, re.M).group(1)
    d = root / ".agent-os" / "workflows" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "workflow.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    for rel in re.findall(r"instructions: ([\w/.-]+\.md)", text):
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(f"# {rel}\n\nDo the work of {rel}.\n", encoding="utf-8")


def write_notes(engine: Engine, session_id: str, items: int = 2) -> None:
    """Write a notes.md holding `items` note items into the session's spec directory."""
    spec = engine.project.root / engine.state(session_id).spec_dir
    lines = "\n".join(f"- NOTE-{i} something worth noting" for i in range(1, items + 1))
    (spec / "notes.md").write_text(f"# Notes file\n\n## Notes\n\n{lines}\n", encoding="utf-8")


GOOD_WRITE = {"notes_file": "notes.md", "items": 2}
SUMMARY = {"summary": "Checked every note against the source."}


def approved_spec(engine: Engine, target: str, tasks_md: str | None = None) -> str:
    """The spec directory of a notes_v1 session run through its review gate and approved
    (what an existing_spec workflow starts from); `tasks_md` is written into it."""
    sid = engine.start("notes_v1", target).session.session_id
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.complete_phase(sid, 1, SUMMARY)
    engine.complete_phase(sid, 2, SUMMARY)
    engine.approve(sid, by="reviewer")
    spec_dir = engine.state(sid).spec_dir
    if tasks_md is not None:
        (engine.project.root / spec_dir / "tasks.md").write_text(tasks_md, encoding="utf-8")
    return spec_dir


def two_workflow_project(root: Path):
    """A project at `root` holding notes_v1 and build_v1."""
    from agent_os.project import Project

    write_workflow(root, NOTES_V1)
    write_workflow(root, BUILD_V1)
    return Project.open(root)


def write_own_standards(root: Path) -> None:
    """Give the project at `root` standards of its own: the shipped library with every heading
    changed, so no shipped vector applies and every chunk must be embedded."""
    from agent_os.resources import shipped_standards_dir

    own = root / ".agent-os" / "standards"
    for src in shipped_standards_dir().rglob("*.md"):
        dst = own / src.relative_to(shipped_standards_dir())
        dst.parent.mkdir(parents=True, exist_ok=True)
        lines = src.read_text(encoding="utf-8").splitlines()
        dst.write_text("\n".join(f"{ln} (team)" if ln.startswith("#") else ln for ln in lines) + "\n",
                       encoding="utf-8")
    (root / ".agent-os" / "config.yaml").write_text("standards: [.agent-os/standards]\n", encoding="utf-8")
