"""One rendering of checkpoint and gate results for people and agents.

The same text appears in the CLI, in MCP tool errors and in check-run summaries, so a
failure reads the same wherever it is seen.
"""

from __future__ import annotations

from collections.abc import Iterable

from typing import Any

from .records import Failure
from .views import EvidenceFieldView, GateView, PhaseSummary, PhaseView


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
    if phase.ci is not None:
        lines += ["", f"**CI:** the checkpoint passed on the files sent; {phase.ci.reason}."
                  + (" The phase passed before; CI fails at the pull request's head now." if phase.ci.state == "failed" else "")]
        lines += [f"- '{r.name}': {r.conclusion or r.status}" + (f" ([run]({r.url}))" if r.url else "")
                  for r in phase.ci.results]
    if phase.gate is not None:
        lines += ["", gate_markdown(phase.gate)]
    return "\n".join(lines)


def state_word(state: str) -> str:
    """A phase state in plain words."""
    return _STATE_WORDS.get(state, state)


_RULE_WORDS: dict[str, str] = {
    "min": "at least {v}",
    "max": "at most {v}",
    "min_length": "at least {v} characters",
    "max_length": "at most {v} characters",
    "min_items": "at least {v} item(s)",
    "max_items": "at most {v} item(s)",
    "items": "items are {v}s",
    "pattern": "matches the pattern {v}",
    "one_of": "one of {v}",
    "must_exist": "must exist",
    "within_spec_dir": "inside the spec directory",
}


def field_rules(field: EvidenceFieldView) -> str:
    """An evidence field's type and constraints in words: 'list of paths, required, at least 1 item(s)'."""
    kind = field.type
    items = field.constraints.get("items")
    if kind == "list" and items:
        kind = f"list of {items}s"
    parts = [kind, "required" if field.required else "optional"]
    for key, value in field.constraints.items():
        if key == "items" or value is True and key not in _RULE_WORDS:
            continue
        template = _RULE_WORDS.get(key, key.replace("_", " ") + " {v}")
        if value is True:
            parts.append(template.replace(" {v}", ""))
        else:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            parts.append(template.format(v=value))
    return ", ".join(parts)


def example_evidence(phase: PhaseView) -> dict[str, Any]:
    """The phase's good example: every field that has an example, as one evidence object."""
    return {name: f.example for name, f in phase.evidence.items() if f.example is not None}
