"""Workflow definitions: the typed model of `workflows/<name>/workflow.yaml` and its loader.

A workflow is data: one YAML file for the machine plus markdown the agent reads. The
loader refuses a bad definition with every problem at once, each naming the file and the
field, so an author fixes them in one pass.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from . import files as filesource
from .errors import NotFoundError, WorkflowDefinitionError
from .rule_definitions import Rule, field_problems, file_problems, valid_pattern
from .yamlload import load_yaml

WORKFLOW_FILE = "workflow.yaml"
SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
NAME = r"^[a-z][a-z0-9_]{1,62}$"

FieldType = Literal["integer", "number", "string", "boolean", "list", "path"]
ItemType = Literal["integer", "number", "string", "boolean", "path"]
BuiltinCheck = Literal["tasks_checked", "tests_passed", "lint_passed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceField(_Model):
    """One field the checkpoint demands, with its type and constraints."""

    type: FieldType
    description: str = ""
    required: bool = True
    # integer / number: bounds on the value.
    min: float | None = None
    max: float | None = None
    # string: bounds on the length (after stripping white space).
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)
    # list: bounds on the number of items, and the items' type.
    min_items: int | None = Field(default=None, ge=0)
    max_items: int | None = Field(default=None, ge=0)
    items: ItemType | None = None
    # string (and string items): a regular expression the value must match (re.search).
    pattern: str | None = None
    one_of: list[Any] | None = None
    # path (and path items): relative to the project root; must exist unless told not to;
    # `within_spec_dir` confines it to the session's spec directory.
    must_exist: bool = True
    within_spec_dir: bool = False
    # path: a file, not a folder (a reviewed file is a file, "." is not one).
    must_be_file: bool = False
    # string (items): the path of a standards document that exists in the session's standards.
    standard: bool = False
    example: Any = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return valid_pattern(value)

    @model_validator(mode="after")
    def _constraints_fit_type(self) -> EvidenceField:
        wrong: list[str] = []
        numeric = self.type in ("integer", "number")
        if (self.min is not None or self.max is not None) and not numeric:
            wrong.append("min/max apply to integer and number fields")
        if (self.min_length is not None or self.max_length is not None) and self.type != "string":
            wrong.append("min_length/max_length apply to string fields")
        if (
            self.min_items is not None or self.max_items is not None or self.items is not None
        ) and self.type != "list":
            wrong.append("min_items/max_items/items apply to list fields")
        if self.pattern is not None and not (
            self.type == "string" or (self.type == "list" and self.items in (None, "string"))
        ):
            wrong.append("pattern applies to string fields and lists of strings")
        if (self.within_spec_dir or self.must_be_file) and not (self.type == "path" or self.items == "path"):
            wrong.append("within_spec_dir and must_be_file apply to path fields")
        if self.standard and not (self.type == "string" or (self.type == "list" and self.items in (None, "string"))):
            wrong.append("standard applies to string fields and lists of strings")
        if self.min is not None and self.max is not None and self.min > self.max:
            wrong.append("min is greater than max")
        if wrong:
            raise ValueError("; ".join(wrong))
        return self


class CountRule(_Model):
    """A claim in the evidence that must equal a count of lines in the artifact.

    `functional_requirements: 12` in the evidence and `pattern: '^\\s*[-*]\\s*\\**FR-\\d+'`
    here means the artifact (or its `section`) must hold exactly twelve matching lines.
    """

    evidence: str
    pattern: str
    section: str | None = None
    label: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return valid_pattern(value) or value


class Artifact(_Model):
    """A file the phase must produce under the session's spec directory."""

    path: str
    description: str = ""
    required_headings: list[str] = []
    counts: list[CountRule] = []
    min_words: int = Field(default=0, ge=0)
    reject_placeholders: bool = True

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        p = Path(value)
        if p.is_absolute() or ".." in p.parts or not value.strip():
            raise ValueError(f"artifact path {value!r} must be relative to the spec directory")
        return value


class Checkpoint(_Model):
    """What must be true to leave a phase: evidence fields, artifacts, built-in checks."""

    evidence: dict[str, EvidenceField] = {}
    artifacts: list[Artifact] = []
    checks: list[BuiltinCheck] = []
    rules: list[Rule] = []

    @field_validator("evidence")
    @classmethod
    def _field_names(cls, value: dict[str, EvidenceField]) -> dict[str, EvidenceField]:
        bad = [k for k in value if not re.match(r"^[a-z][a-z0-9_]{0,63}$", k)]
        if bad:
            raise ValueError(f"evidence field names must be snake_case: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _counts_name_integer_fields(self) -> Checkpoint:
        problems = []
        for art in self.artifacts:
            for rule in art.counts:
                spec = self.evidence.get(rule.evidence)
                if spec is None:
                    problems.append(
                        f"artifact {art.path}: count rule names evidence field "
                        f"{rule.evidence!r}, which the checkpoint does not declare"
                    )
                elif spec.type != "integer":
                    problems.append(
                        f"artifact {art.path}: count rule field {rule.evidence!r} must be an integer"
                    )
        problems += field_problems(self.rules, self.evidence)
        ids = [r.id for r in self.rules]
        problems += [f"duplicate rule id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
        if "lint_passed" in self.checks and "lint_command" not in self.evidence:
            problems.append("the lint_passed check needs a string evidence field 'lint_command'")
        if "tests_passed" in self.checks:
            for name in ("test_command", "test_summary"):
                if name not in self.evidence:
                    problems.append(f"the tests_passed check needs a string evidence field {name!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Gate(_Model):
    """A phase that, once its checkpoint passes, waits for people to approve it."""

    type: Literal["approval"] = "approval"
    description: str = ""
    approvals: int = Field(default=1, ge=1, le=20)
    exclude_author: bool = True
    exclude_bots: bool = True
    required_reviewers: list[str] = []
    required_teams: list[str] = Field(default=[], description="Teams ('org/team-slug'), each of which "
                                      "must give one of the approvals.")
    dismiss_stale_on_push: bool = False
    require_resolved_threads: bool = False


class Task(_Model):
    """A unit of work inside a phase, with its own instructions file."""

    id: str = Field(pattern=SLUG)
    title: str = Field(min_length=1)
    instructions: str | None = None


class Phase(_Model):
    """One step of a workflow. `expand: tasks_md` makes it a template (see `execution`)."""

    id: str = Field(pattern=SLUG)
    title: str = Field(min_length=1)
    instructions: str
    tasks: list[Task] = []
    checkpoint: Checkpoint = Checkpoint()
    gate: Gate | None = None
    expand: Literal["tasks_md"] | None = None
    # Team mode: the names of the CI check runs (or commit statuses) on the pull request's
    # head commit that decide this phase's test evidence (agent_os/ci.py); solo mode runs
    # the command tasks.md names instead.
    ci_checks: list[str] = []

    @field_validator("ci_checks")
    @classmethod
    def _ci_names(cls, value: list[str]) -> list[str]:
        bad = [n for n in value if not n.strip() or len(n) > 100 or n != n.strip()]
        if bad:
            raise ValueError(f"ci_checks names must be non-empty check names of at most 100 characters: {bad}")
        dupes = sorted({n for n in value if value.count(n) > 1})
        if dupes:
            raise ValueError(f"ci_checks names a check twice: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _unique_tasks(self) -> Phase:
        ids = [t.id for t in self.tasks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate task ids: {', '.join(dupes)}")
        return self


class Workflow(_Model):
    """A whole workflow definition, as loaded from its directory."""

    name: str = Field(pattern=NAME)
    version: int = Field(ge=1)
    description: str = Field(min_length=1)
    # new_spec: start() creates .agent-os/specs/YYYY-MM-DD-<slug>/ for the target.
    # existing_spec: the target names a spec directory that already exists.
    target: Literal["new_spec", "existing_spec"] = "new_spec"
    phases: list[Phase] = Field(min_length=1)
    # Set by the loader, not the YAML: where people find it (a folder on disk, or
    # `owner/repo@branch:.agent-os/workflows/<name>` for a repository's own).
    directory: Path | None = Field(default=None, exclude=True)
    _files: filesource.FileSource | None = PrivateAttr(default=None)
    _folder: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _unique_phases(self) -> Workflow:
        ids = [p.id for p in self.phases]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate phase ids: {', '.join(dupes)}")
        if sum(1 for p in self.phases if p.expand) > 1:
            raise ValueError("at most one phase may be an expand template")
        if self.phases[0].expand:
            raise ValueError("the first phase cannot be an expand template")
        known: set[str] = set()
        problems: list[str] = []
        for phase in self.phases:
            known |= {a.path for a in phase.checkpoint.artifacts}
            problems += file_problems(phase.id, phase.checkpoint.rules, known)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def read_text(self, relative: str) -> str:
        """The markdown file `relative` of this workflow's directory (wherever it was read)."""
        if self._files is None:
            assert self.directory is not None
            return (self.directory / relative).read_text(encoding="utf-8")
        return self._files.read_text(filesource.join(self._folder, relative))


def _loc(loc: tuple[Any, ...], data: Any) -> str:
    """`phases.2.checkpoint.evidence.x` with phase ids instead of indexes where known."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list) and 0 <= item < len(node):
            child = node[item]
            ident = child.get("id") if isinstance(child, dict) else None
            parts.append(f"[{ident}]" if ident else f"[{item}]")
            node = child
        else:
            parts.append(f".{item}" if parts else str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def _file_problems(source: filesource.FileSource, folder: str, shown: str, data: dict[str, Any]) -> list[str]:
    """Instruction files the raw definition names that are missing or outside the workflow's folder."""
    phases = data.get("phases")
    problems: list[str] = []
    for i, phase in enumerate(phases if isinstance(phases, list) else []):
        if not isinstance(phase, dict):
            continue
        pid = phase.get("id", i)
        files = [("instructions", phase.get("instructions"))]
        tasks = phase.get("tasks")
        files += [(f"tasks[{t.get('id')}].instructions", t.get("instructions"))
                  for t in (tasks if isinstance(tasks, list) else []) if isinstance(t, dict)]
        for field, rel in files:
            if not isinstance(rel, str) or not rel:
                continue
            try:
                target = filesource.join(folder, rel) if not rel.startswith("/") else filesource.normalise(rel)
                if not filesource.inside(target, folder) or target == folder:
                    raise filesource.PathOutside(rel)
                present = source.is_file(target)
            except filesource.PathOutside:
                problems.append(f"{shown}: phases[{pid}].{field}: {rel!r} leaves the workflow directory")
                continue
            if not present:
                problems.append(f"{shown}: phases[{pid}].{field}: file {rel!r} does not exist")
    return problems


@functools.lru_cache(maxsize=256)
def _read(text: str) -> tuple[Any, Workflow | None, tuple[str, ...]]:
    """A workflow.yaml's data, its model (None if invalid) and its schema problems.

    Remembered by text: a server loads the same few definitions again and again (each
    start, each MCP server built, each resources/list), and the YAML parse was about four
    fifths of a load's CPU in a profile of the test suite. Safe to share: the models are frozen and callers only read `data`.
    """
    data = load_yaml(text)
    if not isinstance(data, dict):
        return data, None, ()
    try:
        return data, Workflow.model_validate(data), ()
    except ValidationError as exc:
        return data, None, tuple(f"{_loc(err['loc'], data)}: {err['msg']}" for err in exc.errors())


def load_workflow(directory: Path) -> Workflow:
    """Load and check the workflow in `directory` on this machine; raise with every problem listed."""
    directory = Path(directory)
    return load_workflow_from(filesource.WorkingTree(directory), "", directory=directory)


def load_workflow_from(source: filesource.FileSource, folder: str, *, directory: Path) -> Workflow:
    """Load and check the workflow in `folder` of `source` (a folder on disk, a repository's
    default branch); `directory` is how people are shown where it is. Every problem is listed."""
    path = directory / WORKFLOW_FILE
    name = directory.name
    yaml_path = filesource.join(folder, WORKFLOW_FILE)
    if not source.is_file(yaml_path):
        raise NotFoundError(
            f"{path} does not exist.",
            hint=f"A workflow directory holds a {WORKFLOW_FILE} and its markdown instructions.",
        )
    try:
        data, workflow, schema_problems = _read(source.read_text(yaml_path))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise WorkflowDefinitionError(f"{path} is not valid YAML.", [f"{path}: {exc}"]) from exc
    except filesource.FileMissing as exc:  # too large to read, say
        raise WorkflowDefinitionError(f"{path} cannot be read.", [f"{path}: {exc.message}"]) from None
    if not isinstance(data, dict):
        raise WorkflowDefinitionError(
            f"{path} does not describe a workflow.", [f"{path}: the top level must be a mapping"]
        )
    problems: list[str] = []
    if workflow is None:
        # Schema problems and missing files in one report: fixing one should not reveal the next.
        problems = [f"{path}: {problem}" for problem in schema_problems]
        problems += _file_problems(source, folder, str(path), data)
        raise WorkflowDefinitionError(
            f"Workflow {name!r} has {len(problems)} problem(s).", problems
        ) from None
    if workflow.name != name:
        problems.append(
            f"{path}: name: {workflow.name!r} differs from its directory name {name!r}"
        )
    problems += _file_problems(source, folder, str(path), data)
    if problems:
        raise WorkflowDefinitionError(
            f"Workflow {name!r} has {len(problems)} problem(s).", problems
        )
    loaded = workflow.model_copy(update={"directory": directory})
    loaded._files, loaded._folder = source, folder
    return loaded
