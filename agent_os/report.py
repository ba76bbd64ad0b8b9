"""One rendering of checkpoint and gate results for people and agents.

The same text appears in the CLI, in MCP tool errors and in check-run summaries, so a
failure reads the same wherever it is seen.
"""

from __future__ import annotations

from collections.abc import Iterable

from .records import Failure
from .views import GateView, PhaseSummary


def failures_markdown(failures: Iterable[Failure]) -> str:
    """Every failure as a markdown list: field, what was expected, what was found, the fix."""
    lines = []
    for f in failures:
        lines.append(f"- **{f.field}** ({f.rule}): expected {f.expected}; found {f.found}.\n  Fix: {f.fix}")
    return "\n".join(lines)


def gate_markdown(gate: GateView) -> str:
    """A gate's policy, who has approved, and what it still waits for."""
    lines = [f"**Gate:** {gate.policy}"]
    if gate.approvals:
        lines.append("Approved by " + ", ".join(f"@{a.reviewer} ({a.source})" for a in gate.approvals) + ".")
    else:
        lines.append("No approvals yet.")
    if gate.blocking:
        lines.append("Changes requested by " + ", ".join(f"@{b}" for b in gate.blocking) + ".")
    for note in gate.ignored:
        lines.append(f"Not counted: {note}.")
    if gate.satisfied:
        lines.append("The gate is open.")
    else:
        lines += [f"- {r}" for r in gate.reasons]
    return "\n".join(lines)


_STATE_WORDS = {
    "pending": "not started",
    "active": "in progress",
    "awaiting_approval": "checkpoint passed, waiting for approval",
    "complete": "complete",
}


def phase_markdown(phase: PhaseSummary) -> str:
    """A phase's state, tasks, last evidence result and gate, as markdown."""
    lines = [f"### {phase.number}. {phase.title} — {_STATE_WORDS[phase.state]}"]
    if phase.tasks:
        lines.append("")
        lines += [f"- {t.title}" for t in phase.tasks]
    sub = phase.last_submission
    if sub is not None:
        lines.append("")
        if sub.accepted:
            lines.append("Evidence accepted:")
            lines += [f"- {v}" for v in sub.verified] or ["- (no details)"]
        else:
            lines.append("Latest evidence was refused:")
            lines.append(failures_markdown(sub.failures))
    if phase.gate is not None:
        lines += ["", gate_markdown(phase.gate)]
    return "\n".join(lines)


def state_word(state: str) -> str:
    """A phase state in plain words."""
    return _STATE_WORDS.get(state, state)
