"""Finding workflows: the project's (or the repository's) own first, then the shipped ones.

A registry reads its folders through file sources, so the same lookup serves the solo
project on disk (`.agent-os/workflows/`) and, on a team server, a repository's default
branch read through GitHub: its `.agent-os/workflows/<name>/` is loaded and validated like
any custom workflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import files as filesource
from .definitions import NAME, WORKFLOW_FILE, Workflow, load_workflow_from
from .errors import InputError, NotFoundError, WorkflowDefinitionError
from .project import AGENT_OS_DIR, Project
from .resources import shipped_workflows_dir
from .views import ValidationReport, WorkflowSummary

REPOSITORY_WORKFLOWS = f"{AGENT_OS_DIR}/workflows"
"""Where a repository keeps its own workflows (on its default branch, for a team server)."""


@dataclass(frozen=True)
class WorkflowRoot:
    """A folder of workflow directories: read through `files` at `folder`, shown as `shown`."""

    files: filesource.FileSource
    folder: str
    source: str  # "project", "repository" or "shipped"
    shown: Path

    @classmethod
    def on_disk(cls, path: Path, source: str) -> WorkflowRoot:
        return cls(filesource.WorkingTree(path), "", source, path)


class Registry:
    """The workflows a project (or a repository) can run, looked up by name."""

    def __init__(self, project: Project, roots: list[WorkflowRoot] | None = None) -> None:
        self.project = project
        if roots is None:
            shipped = shipped_workflows_dir().resolve()
            roots = [WorkflowRoot.on_disk(r, "shipped" if r.resolve() == shipped else "project")
                     for r in project.workflow_roots()]
        self.roots = roots

    @classmethod
    def for_repository(cls, project: Project, files: filesource.FileSource, shown: str) -> Registry:
        """Shipped workflows plus those in `.agent-os/workflows/` of `files` (a repository's
        default branch; `shown` names it for people, e.g. "acme/webapp@main")."""
        return cls(project, [WorkflowRoot(files, REPOSITORY_WORKFLOWS, "repository",
                                          Path(f"{shown}:{REPOSITORY_WORKFLOWS}")),
                             WorkflowRoot.on_disk(shipped_workflows_dir(), "shipped")])

    def _candidates(self) -> list[tuple[WorkflowRoot, str]]:
        out = []
        for root in self.roots:
            try:
                if not root.files.is_dir(root.folder):
                    continue
                names = root.files.list_dir(root.folder)
            except (filesource.PathOutside, filesource.FileMissing, OSError):
                continue
            for name in names:
                try:
                    if root.files.is_file(filesource.join(root.folder, name, WORKFLOW_FILE)):
                        out.append((root, name))
                except filesource.PathOutside:
                    continue  # a symlink out of the folder is no workflow
        return out

    def names(self) -> list[str]:
        """Names of every workflow directory, loadable or not (a project's hides a shipped one)."""
        return sorted({name for _, name in self._candidates()})

    def _find(self, name: str) -> tuple[WorkflowRoot, str]:
        if not isinstance(name, str) or not name.strip():
            raise InputError("A workflow name is required.", hint="Call list_workflows to see the names.")
        for root, found in self._candidates():
            if found == name:
                return root, found
        raise NotFoundError(
            f"No workflow named {name!r}.",
            hint=f"Known workflows: {', '.join(self.names()) or 'none'}. Create one with create_workflow.",
        )

    def directory(self, name: str) -> tuple[Path, str]:
        """Where workflow `name` is (as people are shown it) and where it comes from
        ("project", "repository" or "shipped")."""
        root, found = self._find(name)
        return root.shown / found, root.source

    def load(self, name: str) -> Workflow:
        """Load workflow `name`; a broken definition raises with every problem listed."""
        root, found = self._find(name)
        return _load(root, found)

    def files(self, name: str) -> dict[str, str]:
        """The text of every file of workflow `name` (relative path -> text), for reading it whole."""
        root, found = self._find(name)
        base = filesource.join(root.folder, found)
        out: dict[str, str] = {}
        pending = [""]
        while pending:
            rel = pending.pop(0)
            here = filesource.join(base, rel) if rel else base
            for entry in root.files.list_dir(here):
                sub = f"{rel}/{entry}" if rel else entry
                path = filesource.join(base, sub)
                if root.files.is_dir(path):
                    pending.append(sub)
                elif root.files.is_file(path):
                    try:
                        out[sub] = root.files.read_text(path)
                    except (filesource.FileMissing, UnicodeDecodeError):
                        out[sub] = "(not readable as UTF-8 text)"
        return out

    def _visible(self) -> list[tuple[WorkflowRoot, str]]:
        """One directory per name: a project's workflow hides a shipped one of the same name."""
        seen: set[str] = set()
        out = []
        for root, name in self._candidates():
            if name not in seen:
                seen.add(name)
                out.append((root, name))
        return out

    def summaries(self) -> list[WorkflowSummary]:
        """Every loadable workflow (a project's workflow hides a shipped one of the same name)."""
        out: list[WorkflowSummary] = []
        for root, name in self._visible():
            try:
                wf = _load(root, name)
            except (WorkflowDefinitionError, NotFoundError):
                continue  # `workflows validate` reports it; listing stays usable
            out.append(summary(wf, root.source))
        return out

    def broken(self) -> list[ValidationReport]:
        """Every workflow directory that does not load, with its problems (listing skips them)."""
        out: list[ValidationReport] = []
        for root, name in self._visible():
            try:
                _load(root, name)
            except WorkflowDefinitionError as exc:
                out.append(ValidationReport(name=name, directory=str(root.shown / name), valid=False,
                                            problems=exc.problems))
        return out

    def validate(self, name_or_dir: str) -> ValidationReport:
        """Check a workflow by name, or any directory holding a workflow.yaml (on this
        machine, relative to the project; in a repository's registry, in the repository)."""
        if not isinstance(name_or_dir, str) or not name_or_dir.strip():
            raise InputError("Give a workflow name or directory to validate.")
        found: tuple[filesource.FileSource, str, Path] | None = None
        if re.match(NAME, name_or_dir):
            try:
                root, name = self._find(name_or_dir)
                found = (root.files, filesource.join(root.folder, name), root.shown / name)
            except NotFoundError:
                pass
        if found is None:
            found = self._directory(name_or_dir)
        source, folder, shown = found
        try:
            present = source.is_file(filesource.join(folder, WORKFLOW_FILE))
        except filesource.PathOutside:
            present = False
        if not present:
            raise NotFoundError(
                f"No workflow at {name_or_dir!r}.",
                hint="Give a workflow name (see `agent-os workflows list`) or a directory holding workflow.yaml.",
            )
        try:
            wf = load_workflow_from(source, folder, directory=shown)
        except WorkflowDefinitionError as exc:
            return ValidationReport(name=shown.name, directory=str(shown), valid=False, problems=exc.problems)
        return ValidationReport(name=wf.name, directory=str(shown), valid=True)

    def _directory(self, text: str) -> tuple[filesource.FileSource, str, Path]:
        """A directory named by path: in the repository (a repository's registry), else on disk."""
        repository = next((r for r in self.roots if r.source == "repository"), None)
        if repository is not None:
            try:
                rel = filesource.normalise(text)
            except filesource.PathOutside:
                raise NotFoundError(f"No workflow at {text!r}.", hint="Name the workflow, or its folder "
                                    f"in the repository (e.g. {REPOSITORY_WORKFLOWS}/<name>).") from None
            return repository.files, rel, Path(str(repository.shown).split(":", 1)[0] + ":" + rel)
        directory = Path(text)
        if not directory.is_absolute():
            directory = self.project.root / directory
        return filesource.WorkingTree(directory), "", directory


def _load(root: WorkflowRoot, name: str) -> Workflow:
    return load_workflow_from(root.files, filesource.join(root.folder, name), directory=root.shown / name)


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
