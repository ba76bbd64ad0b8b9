"""Built-in checks of an expanded execution phase against its tasks.md section: every task
ticked (`tasks_checked`) and the named tests passing (`tests_passed`)."""

from __future__ import annotations

import re
from typing import Any

from . import files, markdown
from .definitions import Checkpoint
from .evidence_model import CheckContext, Collector, read_artifact, short

_TESTS_LINE = re.compile(r"^\s*(?:[-*]\s*)?\**tests?\**\s*:?\**\s*:?\s*(.*)$", re.IGNORECASE)
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
    """Whether a test runner's summary line reports a pass, and why not if not.

    Understands pytest (`12 passed, 1 skipped in 0.8s`), the plain `N passed, N failed`
    line, and unittest (`Ran 12 tests ... OK`).
    """
    text = summary.strip()
    bad = [int(n) for n, _ in re.findall(r"\b(\d+)\s+(failed|failures?|errors?|error)\b", text, re.IGNORECASE)]
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


def _tasks_section(ctx: CheckContext, out: Collector) -> markdown.Section | None:
    text = read_artifact(ctx.files, files.join(ctx.spec_dir, "tasks.md"), "tasks.md", out)
    if text is None:
        return None
    section = markdown.find_section(text, ctx.tasks_section or "")
    if section is None:
        out.fail("tasks.md", "heading", f"a section '{ctx.tasks_section}'", "no such section", "Restore the phase's section in tasks.md.")
    return section


def check_builtin(checkpoint: Checkpoint, evidence: dict[str, Any], typed_ok: set[str], ctx: CheckContext, out: Collector) -> None:
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
            out.fail("test_command", "tests_named", f"one of the commands the phase names: {named}", short(command), "Run the tests the phase names, and report that command.")
        ok, why = summary_passes(str(evidence["test_summary"]))
        if not ok:
            out.fail("test_summary", "tests_passed", "a passing test summary such as '12 passed in 0.84s'", f"{short(evidence['test_summary'])}: {why}", "Make the tests pass, then paste the runner's final summary line.")
        if ok and (not named or command in named):
            out.verified.append(f"tests: {command} reported passing")
