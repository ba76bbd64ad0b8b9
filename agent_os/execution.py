"""Execution phases built from a spec's tasks.md: one phase per `## Phase N: Title` section.

Pure functions: given the template phase (`expand: tasks_md`) and the text of tasks.md,
compute the phases; the engine stores them when the phase before them completes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import markdown
from .definitions import Phase, Task

_PHASE_HEADING = re.compile(r"^phase\s+(\d+)\s*[:.\-–—]\s*(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class ExpandedPhase:
    """A phase made from one tasks.md section, with the section's text for the agent."""

    phase: Phase
    section_title: str
    section_body: str


def expand_tasks_md(template: Phase, tasks_md: str) -> tuple[list[ExpandedPhase], list[str]]:
    """Phases for each `## Phase N: Title` section of `tasks_md`, or the problems found.

    Each gets the template's checkpoint (tasks ticked, tests passed) and the section's
    task items as its tasks.
    """
    problems: list[str] = []
    found: list[ExpandedPhase] = []
    numbers: list[int] = []
    for section in markdown.sections(tasks_md):
        if section.level != 2:
            continue
        m = _PHASE_HEADING.match(section.title.strip())
        if not m:
            continue
        number, title = int(m.group(1)), m.group(2).strip()
        numbers.append(number)
        boxes = markdown.checkboxes(section.body, first_line=section.line + 1)
        if not boxes:
            problems.append(f"tasks.md line {section.line}: '{section.title}' lists no '- [ ]' task items")
            continue
        tasks = [Task(id=f"t{i}", title=b.text[:200]) for i, b in enumerate(boxes, start=1)]
        phase = template.model_copy(
            update={"id": f"phase-{number}", "title": title[:80], "tasks": tasks, "expand": None}
        )
        found.append(ExpandedPhase(phase, section.title.strip(), section.body.strip()))
    if not numbers:
        problems.append("tasks.md has no '## Phase N: Title' sections to build implementation phases from")
    elif len(set(numbers)) != len(numbers):
        problems.append(f"tasks.md numbers its phases more than once: {numbers}")
    return found, problems
