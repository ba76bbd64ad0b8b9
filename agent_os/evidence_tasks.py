"""Built-in checks of an expanded execution phase against its tasks.md section: every task
ticked (`tasks_checked`) and the named tests passing (`tests_passed`)."""

from __future__ import annotations

import re
from typing import Any

from . import files, junit, markdown, runners
from .definitions import Checkpoint
from .evidence_model import CheckContext, Collector, read_artifact, short

_TESTS_LINE = re.compile(r"^\s*(?:[-*]\s*)?\**tests?\**\s*:?\**\s*:?\s*(.*)$", re.IGNORECASE)
_LINT_LINE = re.compile(r"^\s*(?:[-*]\s*)?\**lint\**\s*:?\**\s*:?\s*(.*)$", re.IGNORECASE)
_BACKTICKED = re.compile(r"`([^`]+)`")


def tests_named(section_body: str) -> list[str]:
    """Commands a tasks.md phase section names on its `Tests:` lines, in backticks."""
    commands: list[str] = []
    for _, line in markdown.outside_code(section_body):
        m = _TESTS_LINE.match(line)
        if m:
            commands += [c.strip() for c in _BACKTICKED.findall(m.group(1)) if c.strip()]
    return commands


def summary_passes(summary: str) -> tuple[bool, str]:
    """Whether a runner's summary (as the agent pasted it) reports a pass, and why not if not."""
    counts = runners.parse_output(summary)
    if counts is None:
        return False, "it is not a test runner's summary (e.g. '12 passed in 0.84s' or 'Ran 3 tests ... OK')"
    if counts.failed:
        return False, f"it reports {counts.failed} failure(s) or error(s)"
    if not counts.passed:
        return False, "it reports no test passing"
    return True, ""


def run_named(name: str, command: str, what: str, claim: str | None, ctx: CheckContext, out: Collector) -> None:
    """Run `command` (already checked to be named by tasks.md) and hold its real result up
    against the claim: a failing run, an unreadable one, or a claim that differs, is refused."""
    assert ctx.runner is not None
    reports = junit.Reports.note(ctx.workspace, command) if ctx.workspace is not None else None
    run = ctx.runner.run(command)
    out.runs.append(run)
    fix = f"Run `{command}` in the project root yourself, make it pass, and report what it prints."
    real, report_note = run.counts, ""
    if reports is not None and reports.before:
        assert ctx.workspace is not None
        report, problems = reports.read(ctx.workspace)
        differs = junit.disagreement(run.counts, report) if report is not None and run.counts is not None else None
        if problems or differs:
            out.fail(name, "junit_report", f"the JUnit report `{command}` writes to agree with its run "
                     f"({run.describe()})", "; ".join(problems) or differs or "", fix)
            return
        assert report is not None
        real = run.counts or report
        report_note = f"; its JUnit report {', '.join(reports.before)} agrees: {report.describe()}"
    if run.timed_out or run.exit_code != 0 or (what == "tests" and (real is None or not real.ok)):
        out.fail(name, f"{what}_run", f"`{command}` to pass when Agent OS runs it", f"{run.describe()}; output ends: "
                 f"{run.tail(400)!r}", fix)
        return
    if claim is not None and real is not None:
        said = runners.parse_output(claim)
        if said is None or (junit.disagreement(said, real) if run.counts is None else
                            (said.passed, said.failed) != (real.passed, real.failed)):
            out.fail("test_summary", "claim_matches_run", f"the result of the real run ({real.describe()})",
                     f"{short(claim)}", "Paste the summary the runner printed; it is compared with a run Agent OS makes.")
            return
    out.verified.append(f"{what}: ran `{command}` here: {run.describe()}{report_note}")


def _tasks_section(ctx: CheckContext, out: Collector) -> markdown.Section | None:
    text = read_artifact(ctx.files, files.join(ctx.spec_dir, "tasks.md"), "tasks.md", out)
    if text is None:
        return None
    section = markdown.find_section(text, ctx.tasks_section or "")
    if section is None:
        out.fail("tasks.md", "heading", f"a section '{ctx.tasks_section}'", "no such section", "Restore the phase's section in tasks.md.")
    return section


def lint_named(tasks_md: str) -> list[str]:
    """Commands tasks.md names on its `Lint:` lines, in backticks."""
    return [c.strip() for _, line in markdown.outside_code(tasks_md) for m in [_LINT_LINE.match(line)] if m
            for c in _BACKTICKED.findall(m.group(1)) if c.strip()]


def _check_lint(evidence: dict[str, Any], typed_ok: set[str], ctx: CheckContext, out: Collector) -> None:
    """When tasks.md names a lint command, the evidence reports that one, and it is run here."""
    if "lint_command" not in typed_ok:
        return
    text = read_artifact(ctx.files, files.join(ctx.spec_dir, "tasks.md"), "tasks.md", out)
    named = lint_named(text or "")
    if not named:
        return
    command = str(evidence["lint_command"]).strip()
    if command not in named:
        out.fail("lint_command", "lint_named", f"the lint command tasks.md names: {named}", short(command),
                 "Run the linter tasks.md names, and report that command exactly as written.")
    elif ctx.runner is not None:
        run_named("lint_command", command, "lint", None, ctx, out)


def check_builtin(checkpoint: Checkpoint, evidence: dict[str, Any], typed_ok: set[str], ctx: CheckContext, out: Collector) -> None:
    """The built-in checks the checkpoint lists, against tasks.md and runs made here."""
    if "lint_passed" in checkpoint.checks:
        _check_lint(evidence, typed_ok, ctx, out)
    if not {"tasks_checked", "tests_passed"} & set(checkpoint.checks):
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
        claim = str(evidence["test_summary"])
        if command not in named:
            out.fail("test_command", "tests_named", f"one of the commands the phase's 'Tests:' line names: {named}",
                     short(command), "Run the tests the phase names, and report that command exactly as written.")
            return
        ok, why = summary_passes(claim)
        if not ok:
            out.fail("test_summary", "tests_passed", "a passing test summary such as '12 passed in 0.84s'",
                     f"{short(claim)}: {why}", "Make the tests pass, then paste the runner's final summary line.")
        if ctx.runner is not None:
            run_named("test_command", command, "tests", claim, ctx, out)
        elif ok:
            out.verified.append(f"tests: {command} reported passing (not run here; CI decides on the pull request)")
