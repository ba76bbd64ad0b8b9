"""Checkpoint evaluation: typed evidence fields, artifact checks against files, built-in checks.

`check_evidence` never raises on bad evidence: it returns every failure at once, as data
(field, rule, expected, found, fix), so one answer tells the agent everything to correct.
The only I/O is reading the files the evidence and artifacts name, through the
`FileSource` the caller passes (files.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from . import files, markdown
from .definitions import Artifact, Checkpoint, EvidenceField

MAX_ARTIFACT_BYTES = 2_000_000

# Markers of a template nobody filled in. Checked outside fenced code.
_PLACEHOLDERS = re.compile(
    r"\bTODO\b|\bTBD\b|\bFIXME\b|<[A-Z][A-Z0-9_ -]{2,}>|\{\{[^}]*\}\}|\[insert\b[^\]]*\]|lorem ipsum",
    re.IGNORECASE,
)
# `<placeholder>` must stay case-sensitive (upper case) so that HTML such as <br> passes.
_ANGLE = re.compile(r"<[A-Z][A-Z0-9_ -]{2,}>")
_TESTS_LINE = re.compile(r"^\s*(?:[-*]\s*)?\**tests?\**\s*:?\**\s*:?\s*(.*)$", re.IGNORECASE)
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Failure:
    """One reason a checkpoint refused: what was expected, what was found, how to fix it."""

    field: str
    rule: str
    expected: str
    found: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a checkpoint: `passed` only when there are no failures."""

    failures: tuple[Failure, ...] = ()
    verified: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line per failure, for CLI messages and tool errors."""
        if self.passed:
            return "Checkpoint passed: " + "; ".join(self.verified)
        lines = [f"Checkpoint refused with {len(self.failures)} failure(s):"]
        for f in self.failures:
            lines.append(f"- {f.field} [{f.rule}]: expected {f.expected}; found {f.found}. Fix: {f.fix}")
        return "\n".join(lines)


@dataclass(frozen=True)
class CheckContext:
    """Where the evidence's files live: `files` reads the project, `spec_dir` is the session's
    spec directory relative to its root. `tasks_section` names the `## Phase N:` section of
    the spec's tasks.md that an expanded execution phase is responsible for."""

    files: files.FileSource
    spec_dir: str
    tasks_section: str | None = None


@dataclass
class _Collector:
    failures: list[Failure] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)

    def fail(self, field_name: str, rule: str, expected: str, found: str, fix: str) -> None:
        self.failures.append(Failure(field_name, rule, expected, found, fix))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
    if kind in ("string", "path"):
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    return False


def _locate(name: str, value: str, ctx: CheckContext, out: _Collector, base: str = "") -> str | None:
    """`value` (relative to `base`) as a path from the project root, or None (failure recorded)."""
    try:
        rel = files.join(base, files.normalise(value)) if base else files.normalise(value)
        ctx.files.exists(rel)  # a symlink that leads out raises here
    except files.PathOutside as exc:
        out.fail(name, "path", "a path relative to the project root that stays inside it", _short(value),
                 f"{exc.message} Give the path relative to the project root, without '..' or a leading '/'.")
        return None
    return rel


def _check_path(
    name: str, value: str, spec: EvidenceField, ctx: CheckContext, out: _Collector
) -> None:
    target = _locate(name, value, ctx, out)
    if target is None:
        return
    if spec.within_spec_dir and not files.inside(target, ctx.spec_dir):
        # Agents often name spec files relative to the spec directory ("srd.md");
        # accept that too, as long as it stays inside.
        target = _locate(name, value, ctx, out, base=ctx.spec_dir)
        if target is None:
            return
        if not files.inside(target, ctx.spec_dir):
            out.fail(
                name,
                "within_spec_dir",
                f"a path inside the session's spec directory {ctx.spec_dir}",
                _short(value),
                f"Write the file under {ctx.spec_dir}/ and name it by its path from the project root (or from the spec directory).",
            )
            return
    if spec.must_exist and not ctx.files.exists(target):
        out.fail(
            name,
            "exists",
            "an existing file or directory",
            f"nothing at {value}",
            "Create the file first, or correct the path (relative to the project root).",
        )


def _check_scalar(name: str, value: Any, spec: EvidenceField, kind: str, ctx: CheckContext, out: _Collector) -> bool:
    """Type and constraints of one value; returns False if its type is wrong."""
    if not _is_type(value, kind):
        out.fail(name, "type", f"a {kind}", f"{_type_name(value)} {_short(value)}", f"Send {name} as a JSON {kind}.")
        return False
    if kind in ("integer", "number"):
        if spec.min is not None and value < spec.min:
            out.fail(name, "min", f">= {spec.min:g}", str(value), f"{name} must be at least {spec.min:g}.")
        if spec.max is not None and value > spec.max:
            out.fail(name, "max", f"<= {spec.max:g}", str(value), f"{name} must be at most {spec.max:g}.")
    if kind in ("string", "path"):
        stripped = value.strip()
        if spec.required and not stripped:
            out.fail(name, "required", "a non-empty string", "an empty string", f"Fill in {name}.")
            return True
        if spec.min_length is not None and len(stripped) < spec.min_length:
            out.fail(
                name,
                "min_length",
                f"at least {spec.min_length} characters",
                f"{len(stripped)} characters",
                f"Say more in {name}: it is checked for substance, not presence.",
            )
        if spec.max_length is not None and len(stripped) > spec.max_length:
            out.fail(name, "max_length", f"at most {spec.max_length} characters", f"{len(stripped)}", f"Shorten {name}.")
        if spec.pattern is not None and kind == "string" and not re.search(spec.pattern, value):
            out.fail(name, "pattern", f"text matching /{spec.pattern}/", _short(value), f"Make {name} match /{spec.pattern}/.")
        if kind == "path":
            _check_path(name, value, spec, ctx, out)
    if spec.one_of is not None and value not in spec.one_of:
        out.fail(name, "one_of", f"one of {spec.one_of}", _short(value), f"Choose {name} from {spec.one_of}.")
    return True


def _check_field(name: str, value: Any, spec: EvidenceField, ctx: CheckContext, out: _Collector) -> bool:
    if spec.type != "list":
        return _check_scalar(name, value, spec, spec.type, ctx, out)
    if not isinstance(value, list):
        out.fail(name, "type", "a list", f"{_type_name(value)} {_short(value)}", f"Send {name} as a JSON array.")
        return False
    if spec.min_items is not None and len(value) < spec.min_items:
        out.fail(name, "min_items", f"at least {spec.min_items} item(s)", f"{len(value)}", f"List at least {spec.min_items} in {name}.")
    if spec.max_items is not None and len(value) > spec.max_items:
        out.fail(name, "max_items", f"at most {spec.max_items} item(s)", f"{len(value)}", f"List at most {spec.max_items} in {name}.")
    item_kind = spec.items or "string"
    for i, item in enumerate(value):
        _check_scalar(f"{name}[{i}]", item, spec, item_kind, ctx, out)
    return True


def _check_fields(checkpoint: Checkpoint, evidence: dict[str, Any], ctx: CheckContext, out: _Collector) -> set[str]:
    """Check every declared field; return the names whose type was right."""
    typed_ok: set[str] = set()
    declared = checkpoint.evidence
    for name in sorted(set(evidence) - set(declared)):
        out.fail(
            name,
            "unknown",
            f"one of the declared fields ({', '.join(declared) or 'none'})",
            f"an undeclared field {name!r}",
            "Remove it, or correct its name: the checkpoint lists every field it accepts.",
        )
    for name, spec in declared.items():
        if name not in evidence or evidence[name] is None:
            if spec.required:
                example = f" e.g. {spec.example!r}" if spec.example is not None else ""
                out.fail(name, "required", f"a {spec.type}{example}", "nothing", f"Add {name}: {spec.description or spec.type}.")
            continue
        if _check_field(name, evidence[name], spec, ctx, out):
            typed_ok.add(name)
    return typed_ok


def _read_artifact(source: files.FileSource, path: str, label: str, out: _Collector) -> str | None:
    try:
        if not source.is_file(path):
            out.fail(label, "exists", "the file to exist", "no such file", f"Write {label} in the spec directory.")
            return None
        size = source.size(path)
        if size > MAX_ARTIFACT_BYTES:
            out.fail(label, "size", f"at most {MAX_ARTIFACT_BYTES} bytes", f"{size} bytes", "Split or trim the file.")
            return None
        return source.read_text(path)
    except files.PathOutside as exc:
        out.fail(label, "path", "a file inside the project", exc.message, "Keep the spec's files inside the project.")
        return None
    except UnicodeDecodeError:
        out.fail(label, "encoding", "UTF-8 text", "bytes that are not UTF-8", "Save the file as UTF-8.")
        return None


def _check_artifact(
    art: Artifact, evidence: dict[str, Any], typed_ok: set[str], ctx: CheckContext, out: _Collector
) -> None:
    label = art.path
    try:
        target = files.join(ctx.spec_dir, art.path)
    except files.PathOutside:
        target = ""
    if not target or not files.inside(target, ctx.spec_dir):
        out.fail(label, "path", "a file inside the spec directory", art.path, "Fix the workflow definition.")
        return
    text = _read_artifact(ctx.files, target, label, out)
    if text is None:
        return
    before = len(out.failures)
    if art.reject_placeholders:
        hits = [
            (n, m.group(0))
            for n, line in markdown.outside_code(text)
            for m in [_PLACEHOLDERS.search(line)]
            if m and (not m.group(0).startswith("<") or _ANGLE.search(line))
        ]
        if hits:
            shown = ", ".join(f"line {n}: {marker!r}" for n, marker in hits[:5])
            more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
            out.fail(label, "placeholder", "no template markers left", shown + more, "Replace every placeholder with real content.")
    for heading in art.required_headings:
        section = markdown.find_section(text, heading)
        if section is None:
            out.fail(label, "heading", f"a heading '{heading}'", "no such heading", f"Add a '## {heading}' section with real content.")
        elif markdown.word_count(section.body) < 3:
            out.fail(label, "heading", f"content under '{heading}'", f"an empty section at line {section.line}", f"Write the '{heading}' section.")
    if art.min_words:
        words = markdown.word_count(text)
        if words < art.min_words:
            out.fail(label, "min_words", f"at least {art.min_words} words", f"{words} words", "The artifact is too thin; complete it.")
    for rule in art.counts:
        scope = text
        where = label
        if rule.section:
            section = markdown.find_section(text, rule.section)
            if section is None:
                continue  # already reported by the heading check when required
            scope, where = section.body, f"{label} § {rule.section}"
        found = sum(1 for _, line in markdown.outside_code(scope) if re.search(rule.pattern, line))
        if rule.evidence not in typed_ok:
            continue  # the field itself is missing or mistyped: already reported
        claimed = evidence[rule.evidence]
        what = rule.label or f"lines matching /{rule.pattern}/"
        if claimed != found:
            out.fail(
                rule.evidence,
                "count",
                f"{claimed} {what} in {where} (as claimed)",
                f"{found}",
                f"Report the true count ({found}) or change {label} so it holds what you claim.",
            )
        else:
            out.verified.append(f"{where}: {found} {what}")
    if len(out.failures) == before:
        out.verified.append(f"{label}: present and complete")


def tests_named(section_body: str) -> list[str]:
    """Commands a tasks.md phase section names on its `Tests:` lines, in backticks."""
    commands: list[str] = []
    for _, line in markdown.outside_code(section_body):
        m = _TESTS_LINE.match(line)
        if m:
            commands += [c.strip() for c in _BACKTICKED.findall(m.group(1)) if c.strip()]
    return commands


def summary_passes(summary: str) -> tuple[bool, str]:
    """Whether a test runner's summary line reports a pass, and why not if not.

    Understands pytest (`12 passed, 1 skipped in 0.8s`), the plain `N passed, N failed`
    line, and unittest (`Ran 12 tests ... OK`).
    """
    text = summary.strip()
    bad = [int(n) for n, _ in re.findall(r"\b(\d+)\s+(failed|failures?|errors?|error)\b", text, re.I)]
    if any(bad):
        return False, f"it reports {sum(bad)} failure(s) or error(s)"
    if re.search(r"\bFAILED\b", text):
        return False, "it says FAILED"
    passed = re.search(r"\b(\d+)\s+passed\b", text)
    if passed:
        return (int(passed.group(1)) > 0, "it reports 0 tests passed")
    ran = re.search(r"\bRan\s+(\d+)\s+tests?\b", text)
    if ran and re.search(r"\bOK\b", text):
        return (int(ran.group(1)) > 0, "it ran 0 tests")
    return False, "it is not a test runner summary (e.g. '12 passed in 0.84s')"


def _tasks_section(ctx: CheckContext, out: _Collector) -> markdown.Section | None:
    text = _read_artifact(ctx.files, files.join(ctx.spec_dir, "tasks.md"), "tasks.md", out)
    if text is None:
        return None
    section = markdown.find_section(text, ctx.tasks_section or "")
    if section is None:
        out.fail("tasks.md", "heading", f"a section '{ctx.tasks_section}'", "no such section", "Restore the phase's section in tasks.md.")
    return section


def _check_builtin(checkpoint: Checkpoint, evidence: dict[str, Any], typed_ok: set[str], ctx: CheckContext, out: _Collector) -> None:
    if not checkpoint.checks:
        return
    if ctx.tasks_section is None:
        out.fail("checks", "config", "a tasks.md section for this phase", "none", "These checks only apply to expanded execution phases.")
        return
    section = _tasks_section(ctx, out)
    if section is None:
        return
    if "tasks_checked" in checkpoint.checks:
        boxes = markdown.checkboxes(section.body, first_line=section.line + 1)
        open_items = [b for b in boxes if not b.checked]
        if not boxes:
            out.fail("tasks.md", "tasks_checked", f"task items under '{section.title}'", "none", "List the phase's tasks as '- [ ] ...' items.")
        elif open_items:
            shown = "; ".join(f"line {b.line}: {b.text[:50]}" for b in open_items[:5])
            out.fail(
                "tasks.md",
                "tasks_checked",
                f"all {len(boxes)} tasks of '{section.title}' checked off",
                f"{len(open_items)} unchecked ({shown})",
                "Finish those tasks and mark them '- [x]' in tasks.md; do not tick what is not done.",
            )
        else:
            out.verified.append(f"tasks.md: all {len(boxes)} tasks of '{section.title}' checked off")
    if "tests_passed" in checkpoint.checks and {"test_command", "test_summary"} <= typed_ok:
        named = tests_named(section.body)
        command = str(evidence["test_command"]).strip()
        if named and command not in named:
            out.fail("test_command", "tests_named", f"one of the commands the phase names: {named}", _short(command), "Run the tests the phase names, and report that command.")
        ok, why = summary_passes(str(evidence["test_summary"]))
        if not ok:
            out.fail("test_summary", "tests_passed", "a passing test summary such as '12 passed in 0.84s'", f"{_short(evidence['test_summary'])}: {why}", "Make the tests pass, then paste the runner's final summary line.")
        if ok and (not named or command in named):
            out.verified.append(f"tests: {command} reported passing")


def check_evidence(checkpoint: Checkpoint, evidence: Any, ctx: CheckContext) -> CheckResult:
    """Evaluate `evidence` against `checkpoint`; every failure is collected, none raised."""
    out = _Collector()
    if not isinstance(evidence, dict):
        out.fail("evidence", "type", "a JSON object of evidence fields", f"{_type_name(evidence)}", "Send evidence as an object, e.g. {\"field\": value}.")
        return CheckResult(tuple(out.failures))
    bad_keys = [k for k in evidence if not isinstance(k, str)]
    if bad_keys:
        out.fail("evidence", "type", "string field names", _short(bad_keys), "Use the field names the checkpoint declares.")
        return CheckResult(tuple(out.failures))
    typed_ok = _check_fields(checkpoint, evidence, ctx, out)
    for art in checkpoint.artifacts:
        _check_artifact(art, evidence, typed_ok, ctx, out)
    _check_builtin(checkpoint, evidence, typed_ok, ctx, out)
    if not out.failures:
        out.verified.insert(0, f"{len(checkpoint.evidence)} evidence field(s) valid")
    return CheckResult(tuple(out.failures), tuple(out.verified))
