"""What a checkpoint evaluation produces and reads: failures as data, the result, the
context (where the files are), and the one reader of artifact files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import files
from .records import Failure  # stored and shown as is: one failure type
from .report import failures_markdown
from .testrun import CommandRun, CommandRunner

MAX_ARTIFACT_BYTES = files.MAX_FILE_BYTES


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a checkpoint: `passed` only when there are no failures."""

    failures: tuple[Failure, ...] = ()
    verified: tuple[str, ...] = ()
    runs: tuple[CommandRun, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """What passed, or every failure as the doors show it (report.failures_markdown)."""
        if self.passed:
            return "Checkpoint passed: " + "; ".join(self.verified)
        return f"Checkpoint refused with {len(self.failures)} failure(s):\n" + failures_markdown(self.failures)


@dataclass(frozen=True)
class CheckContext:
    """Where the evidence's files live: `files` reads the project, `spec_dir` is the session's
    spec directory relative to its root. `tasks_section` names the `## Phase N:` section of
    the spec's tasks.md that an expanded execution phase is responsible for.

    `runner` runs the commands tasks.md names (solo mode: the engine's own working tree).
    None means no code runs here (a snapshot or a commit on the team server): the claim is
    still checked for consistency, and the phase's check run on the PR waits for the head
    commit's CI checks instead (the team server's hook). `standards` says which standards
    documents exist; None leaves standards paths checked by their pattern only. `templates`
    are the workflow's template sentences (templates.template_sentences) a spec must not keep.
    `workspace` is where the runner's commands run and write (solo: the working tree itself):
    JUnit reports are read from it, and, unlike `files`, what is read there is not kept with
    the checkpoint (a report is the run's output, not part of the change).
    """

    files: files.FileSource
    spec_dir: str
    tasks_section: str | None = None
    runner: CommandRunner | None = None
    standards: files.StandardsLookup | None = None
    templates: frozenset[str] = frozenset()
    workspace: files.FileSource | None = None


@dataclass
class Collector:
    """Failures and verified facts gathered while checking one submission."""

    failures: list[Failure] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    runs: list[CommandRun] = field(default_factory=list)

    def fail(self, field_name: str, rule: str, expected: str, found: str, fix: str) -> None:
        self.failures.append(Failure(field_name, rule, expected, found, fix))


def short(value: Any, limit: int = 60) -> str:
    """`value` as repr, cut to `limit` characters for failure messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: Any) -> str:
    """The JSON name of `value`'s type, as the agent knows it."""
    if value is None:
        return "null"
    # bool before int: True is an int to Python but not to JSON.
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "list"),
                       (dict, "object")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def read_artifact(source: files.FileSource, path: str, label: str, out: Collector) -> str | None:
    """The UTF-8 text at `path`, or None with the reason recorded under `label`."""
    try:
        if not source.is_file(path):
            out.fail(label, "exists", "the file to exist", "no such file", f"Write {label} in the spec directory.")
            return None
        size = source.size(path)
        if size > MAX_ARTIFACT_BYTES:
            out.fail(label, "size", f"at most {files.megabytes(MAX_ARTIFACT_BYTES)}", files.too_large(size),
                     f"Split {label} or trim it below {files.megabytes(MAX_ARTIFACT_BYTES)}.")
            return None
        return source.read_text(path)
    except files.FileTooLarge as exc:  # sent without its bytes (a door's cap)
        out.fail(label, "size", f"at most {files.megabytes(MAX_ARTIFACT_BYTES)}", exc.found, exc.hint)
        return None
    except files.PathOutside as exc:
        out.fail(label, "path", "a file inside the project", exc.message, "Keep the spec's files inside the project.")
        return None
    except UnicodeDecodeError:
        out.fail(label, "encoding", "UTF-8 text", "bytes that are not UTF-8", "Save the file as UTF-8.")
        return None
