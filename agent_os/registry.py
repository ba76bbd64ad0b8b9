"""Finding workflows: the project's own (`.agent-os/workflows/`) first, then the shipped ones."""

from __future__ import annotations

import re
from pathlib import Path

from .definitions import NAME, WORKFLOW_FILE, Workflow, load_workflow
from .errors import InputError, NotFoundError, WorkflowDefinitionError
from .project import Project
from .resources import shipped_workflows_dir
from .views import ValidationReport, WorkflowSummary


class Registry:
    """The workflows a project can run, looked up by name."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def _candidates(self) -> list[tuple[Path, str]]:
        shipped = shipped_workflows_dir().resolve()
        out = []
        for root in self.project.workflow_roots():
            source = "shipped" if root.resolve() == shipped else "project"
            if root.is_dir():
                out += [(d, source) for d in sorted(root.iterdir()) if (d / WORKFLOW_FILE).is_file()]
        return out

    def names(self) -> list[str]:
        """Names of every workflow directory, loadable or not (a project's hides a shipped one)."""
        return sorted({d.name for d, _ in self._candidates()})

    def directory(self, name: str) -> tuple[Path, str]:
        """The directory of workflow `name` and where it comes from ("project" or "shipped")."""
        if not isinstance(name, str) or not name.strip():
            raise InputError("A workflow name is required.", hint="Call list_workflows to see the names.")
        for directory, source in self._candidates():
            if directory.name == name:
                return directory, source
        raise NotFoundError(
            f"No workflow named {name!r}.",
            hint=f"Known workflows: {', '.join(self.names()) or 'none'}. Create one with create_workflow.",
        )

    def load(self, name: str) -> Workflow:
        """Load workflow `name`; a broken definition raises with every problem listed."""
        directory, _ = self.directory(name)
        return load_workflow(directory)

    def _visible(self) -> list[tuple[Path, str]]:
        """One directory per name: a project's workflow hides a shipped one of the same name."""
        seen: set[str] = set()
        out = []
        for directory, source in self._candidates():
            if directory.name not in seen:
                seen.add(directory.name)
                out.append((directory, source))
        return out

    def summaries(self) -> list[WorkflowSummary]:
        """Every loadable workflow (a project's workflow hides a shipped one of the same name)."""
        out: list[WorkflowSummary] = []
        for directory, source in self._visible():
            try:
                wf = load_workflow(directory)
            except (WorkflowDefinitionError, NotFoundError):
                continue  # `workflows validate` reports it; listing stays usable
            out.append(summary(wf, source))
        return out

    def broken(self) -> list[ValidationReport]:
        """Every workflow directory that does not load, with its problems (listing skips them)."""
        out: list[ValidationReport] = []
        for directory, _source in self._visible():
            try:
                load_workflow(directory)
            except WorkflowDefinitionError as exc:
                out.append(ValidationReport(name=directory.name, directory=str(directory), valid=False,
                                            problems=exc.problems))
        return out

    def validate(self, name_or_dir: str) -> ValidationReport:
        """Check a workflow by name, or any directory holding a workflow.yaml."""
        if not isinstance(name_or_dir, str) or not name_or_dir.strip():
            raise InputError("Give a workflow name or directory to validate.")
        if re.match(NAME, name_or_dir):
            try:
                directory, _ = self.directory(name_or_dir)
            except NotFoundError:
                directory = Path(name_or_dir)
        else:
            directory = Path(name_or_dir)
            if not directory.is_absolute():
                directory = self.project.root / directory
        if not (directory / WORKFLOW_FILE).is_file():
            raise NotFoundError(
                f"No workflow at {name_or_dir!r}.",
                hint="Give a workflow name (see `agent-os workflows list`) or a directory holding workflow.yaml.",
            )
        try:
            wf = load_workflow(directory)
        except WorkflowDefinitionError as exc:
            return ValidationReport(name=directory.name, directory=str(directory), valid=False, problems=exc.problems)
        return ValidationReport(name=wf.name, directory=str(directory), valid=True)


def summary(wf: Workflow, source: str) -> WorkflowSummary:
    """A workflow in a line or two."""
    return WorkflowSummary(
        name=wf.name,
        version=wf.version,
        description=wf.description,
        target=wf.target,
        phases=[p.title for p in wf.phases],
        source=source,  # type: ignore[arg-type]
        directory=str(wf.directory),
    )
