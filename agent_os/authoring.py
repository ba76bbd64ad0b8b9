"""`create_workflow`: a new workflow directory in the shipped format, valid by construction.

The author gets a `workflow.yaml` and one markdown file per phase to fill in. Every phase
demands evidence (a summary at least) so no checkpoint can be passed with an empty dict.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .definitions import NAME, WORKFLOW_FILE, load_workflow, load_workflow_from
from .errors import InputError, WorkflowDefinitionError
from .files import Snapshot
from .registry import REPOSITORY_WORKFLOWS, summary
from .views import WorkflowSummary

TARGETS = {"new_spec": "new_spec", "creation": "new_spec", "spec": "new_spec",
           "existing_spec": "existing_spec", "execution": "existing_spec", "implementation": "existing_spec"}
MAX_PHASES = 30
_DEFAULT_EVIDENCE = {
    "summary": {
        "type": "string",
        "min_length": 40,
        "description": "What was done in this phase, specific enough for a reviewer to check.",
        "example": "Wrote srd.md with 8 functional requirements, each traced to a user story.",
    }
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "phase"


def _phase_spec(index: int, raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = {"title": raw}
    if not isinstance(raw, dict):
        raise InputError(f"phases[{index}] must be a title or an object with a 'title'.")
    unknown = set(raw) - {"title", "id", "evidence", "gate", "tasks", "description", "ci_checks"}
    if unknown:
        raise InputError(f"phases[{index}] has unknown keys {sorted(unknown)}.",
                         hint="Use title, id, description, tasks, evidence, gate, ci_checks.")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InputError(f"phases[{index}] needs a non-empty title.")
    pid = raw.get("id") or _slug(title)
    tasks = raw.get("tasks") or []
    if not isinstance(tasks, list) or not all(isinstance(t, str) and t.strip() for t in tasks):
        raise InputError(f"phases[{index}].tasks must be a list of task titles.")
    ci_checks = raw.get("ci_checks") or []
    if not isinstance(ci_checks, list) or not all(isinstance(c, str) and c.strip() for c in ci_checks):
        raise InputError(f"phases[{index}].ci_checks must be a list of CI check names, e.g. [\"test\"].")
    gate = raw.get("gate", False)
    if isinstance(gate, bool):
        gate = {"approvals": 1} if gate else None
    return {
        "id": pid,
        "title": title.strip()[:80],
        "description": str(raw.get("description") or ""),
        "tasks": [{"id": f"{_slug(t)[:50]}", "title": t.strip()} for t in tasks],
        "evidence": raw.get("evidence") or _DEFAULT_EVIDENCE,
        "gate": gate,
        "ci_checks": [c.strip() for c in ci_checks],
    }


def build_definition(name: str, workflow_type: str, phases: list[Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The workflow.yaml data and the instruction files (relative path -> text). Pure."""
    if not isinstance(name, str) or not re.match(NAME, name):
        raise InputError(
            f"Workflow name {name!r} is not allowed.",
            hint="Use lower-case letters, digits and underscores, starting with a letter (e.g. api_review_v1).",
        )
    target = TARGETS.get(str(workflow_type).strip().lower()) if isinstance(workflow_type, str) else None
    if target is None:
        raise InputError(f"Unknown workflow_type {workflow_type!r}.",
                         hint="Use 'new_spec' (writes a new spec) or 'existing_spec' (works from an approved spec).")
    if not isinstance(phases, list) or not phases:
        raise InputError("A workflow needs at least one phase.", hint='e.g. phases=["Research", "Design", "Review"]')
    if len(phases) > MAX_PHASES:
        raise InputError(f"{len(phases)} phases is more than the {MAX_PHASES} allowed.")
    specs = [_phase_spec(i, p) for i, p in enumerate(phases)]
    files: dict[str, str] = {}
    out_phases = []
    for number, spec in enumerate(specs):
        rel = f"phases/{number}-{spec['id']}.md"
        files[rel] = (
            f"# Phase {number}: {spec['title']}\n\n{spec['description'] or 'Describe the goal of this phase.'}\n\n"
            "## Steps\n\n1. Write the concrete steps an agent follows.\n\n"
            "## Evidence\n\nSay what the checkpoint demands and show an example of good evidence.\n"
        )
        phase: dict[str, Any] = {"id": spec["id"], "title": spec["title"], "instructions": rel}
        if spec["tasks"]:
            phase["tasks"] = spec["tasks"]
        phase["checkpoint"] = {"evidence": spec["evidence"]}
        if spec["gate"]:
            phase["gate"] = spec["gate"]
        if spec["ci_checks"]:
            phase["ci_checks"] = spec["ci_checks"]
        out_phases.append(phase)
    data = {
        "name": name,
        "version": 1,
        "description": f"Custom workflow {name}: " + ", ".join(s["title"] for s in specs) + ".",
        "target": target,
        "phases": out_phases,
    }
    return data, files


def rendered(data: dict[str, Any], files: dict[str, str]) -> dict[str, str]:
    """Every file of the workflow directory: workflow.yaml first, then the instructions."""
    return {WORKFLOW_FILE: yaml.safe_dump(data, sort_keys=False), **files}


def handed_over(data: dict[str, Any], files: dict[str, str], repository: str | None) -> WorkflowSummary:
    """A new workflow checked in memory and answered as files to commit (a team server writes
    no repository's files: the agent's side writes them into its clone)."""
    folder = f"{REPOSITORY_WORKFLOWS}/{data['name']}"
    texts = {f"{folder}/{rel}": text for rel, text in rendered(data, files).items()}
    try:
        wf = load_workflow_from(Snapshot({p: t.encode("utf-8") for p, t in texts.items()}), folder,
                                directory=Path(folder))
    except WorkflowDefinitionError as exc:
        raise InputError("The workflow would not be valid: " + "; ".join(exc.problems)) from None
    made = summary(wf, "repository")
    where = repository or "your repository"
    return made.model_copy(update={"files": texts, "next_step": (
        f"Nothing was written on the team server: it reads workflows from {where}'s default branch. Write "
        f"these files into your clone under {folder}/ (the agent-os door, `agent-os mcp --server`, does it "
        f"for you), fill in each phase's instructions, then commit and push them to the default branch "
        f"(`git add {folder} && git commit -m 'Workflow {data['name']}'`, merged there through a pull "
        f"request as your team does). From then on start_workflow('{data['name']}', ...) works for "
        f"every session of {where}.")})


def write_workflow(root: Path, data: dict[str, Any], files: dict[str, str]) -> Path:
    """Write a workflow directory atomically: validated in a temporary place, then moved in."""
    destination = root / data["name"]
    if destination.exists():
        raise InputError(f"A workflow directory {destination} already exists.",
                         hint="Choose another name, or edit that workflow's files directly.")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data['name']}-", dir=root))
    try:
        build = staging / data["name"]
        build.mkdir()
        for rel, text in rendered(data, files).items():
            (build / rel).parent.mkdir(parents=True, exist_ok=True)
            (build / rel).write_text(text, encoding="utf-8")
        try:
            load_workflow(build)
        except ValidationError as exc:  # pragma: no cover - load_workflow converts these
            raise InputError(str(exc)) from None
        except WorkflowDefinitionError as exc:
            raise InputError("The workflow would not be valid: " + "; ".join(exc.problems)) from None
        build.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination
