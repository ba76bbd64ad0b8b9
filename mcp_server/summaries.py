"""The text an agent reads from a tool result: what happened and what to do next.

The data itself travels as the result's structured content; repeating it as JSON text would
make every agent pay for it twice in its context. So each tool's text is a short summary,
except where the text is the point (a phase's or a task's instructions, search passages).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from agent_os import views
from agent_os.report import example_evidence, field_rules, gate_markdown, state_word
from agent_os.standards.models import SearchResponse

from .models import SessionList, WorkflowList

PASSAGE_CHARS = 600


def summary_text(result: BaseModel) -> str:
    """The summary of any tool result; a type with no summary of its own gets its JSON."""
    render = _RENDERERS.get(type(result))
    if render is None:
        return result.model_dump_json(indent=2)
    return render(result)


def _phase_brief(phase: views.PhaseView, where: str) -> str:
    lines = [f"Phase {phase.number} of {phase.phases_total}: {phase.title} ({state_word(phase.state)})."]
    if phase.tasks:
        lines.append("Tasks: " + "; ".join(f"{t.id} ({t.title})" for t in phase.tasks) + ".")
    if phase.evidence:
        lines.append("Evidence it demands: " + "; ".join(
            f"{name} ({field_rules(f)})" for name, f in phase.evidence.items()) + ".")
    if phase.gate:
        lines.append(f"It ends at a gate: {phase.gate}.")
    lines.append(f"Its full instructions, each field's description and a good example are in {where}; "
                 f"get_task(session_id, {phase.number}, task_id) gives one task's instructions.")
    return "\n".join(lines)


def phase_text(phase: views.PhaseView) -> str:
    """A phase in full: instructions, tasks, evidence rules and a good example."""
    lines = [f"# Phase {phase.number} of {phase.phases_total}: {phase.title} ({state_word(phase.state)})",
             f"Session {phase.session_id}; spec directory {phase.spec_dir}.", "", phase.instructions.strip()]
    if phase.tasks:
        lines += ["", "## Tasks", *(f"- {t.id}: {t.title}" for t in phase.tasks)]
    if phase.evidence:
        lines += ["", "## Evidence fields"]
        lines += [f"- {name} ({field_rules(f)}): {f.description}".rstrip(": ") for name, f in phase.evidence.items()]
        example = example_evidence(phase)
        if example:
            lines += ["", "Good example:", json.dumps(example, indent=2, ensure_ascii=False)]
    if phase.gate:
        lines += ["", f"Gate: {phase.gate}."]
    lines += ["", f"Next: do the tasks, then complete_phase('{phase.session_id}', {phase.number}, evidence)."]
    return "\n".join(lines)


def _start(r: views.StartResult) -> str:
    s = r.session
    verb = "Resumed" if r.resumed else "Started"
    text = f"{verb} session {s.session_id} ({s.workflow} on {s.target!r}); spec directory {s.spec_dir}."
    if r.phase is None:
        return text + f"\nNext: {s.next_step}"
    return (text + "\n" + _phase_brief(r.phase, "this result's structured content (phase)")
            + f"\nNext: do the tasks, then complete_phase('{s.session_id}', {r.phase.number}, evidence).")


def _completion(r: views.CompletionResult) -> str:
    lines = [r.message]
    if r.verified:
        lines.append(f"The checkpoint verified {len(r.verified)} item(s).")
    if r.gate is not None and r.phase_state == "awaiting_approval":
        lines.append(gate_markdown(r.gate))
    if r.next_phase is not None:
        lines.append(_phase_brief(r.next_phase, "this result's structured content (next_phase)"))
        lines.append(f"Next: do the tasks, then complete_phase('{r.session_id}', {r.next_phase.number}, evidence).")
    return "\n".join(lines)


def _state(s: views.SessionState) -> str:
    lines = [f"Session {s.session_id} ({s.workflow} on {s.target!r}): {s.status}."]
    lines += [f"- {p.number}. {p.title}: {state_word(p.state)}" for p in s.phases]
    if s.pull_requests:
        lines.append("Pull requests: " + ", ".join(f"{pr.repository}#{pr.number}" for pr in s.pull_requests) + ".")
    lines.append(f"Next: {s.next_step}")
    return "\n".join(lines)


def _search(r: SearchResponse) -> str:
    if not r.results:
        return f"No standards passage matches {r.query!r}. Try other words." + "".join(f"\n{n}" for n in r.notices)
    lines = [f"{len(r.results)} passage(s) for {r.query!r}; cite the paths in your evidence."]
    for n, hit in enumerate(r.results, 1):
        passage = hit.text if len(hit.text) <= PASSAGE_CHARS else hit.text[:PASSAGE_CHARS].rstrip() + "…"
        lines += ["", f"{n}. {hit.path} (lines {hit.start_line}-{hit.end_line}) § {hit.heading}", passage]
    lines += [f"\n{n}" for n in r.notices]
    return "\n".join(lines)


def _sessions(r: SessionList) -> str:
    if not r.sessions:
        return "No sessions yet. start_workflow(workflow_type, target_file) starts one."
    lines = [f"{len(r.sessions)} session(s), most recent first:"]
    for s in r.sessions:
        where = (f"phase {s.current_phase} {s.current_phase_title} ({state_word(s.current_phase_state or '')})"
                 if s.current_phase is not None else "every phase complete")
        lines.append(f"- {s.session_id}: {s.workflow} on {s.target!r}, {s.status}, {where}")
    lines.append("get_workflow_state(session_id) shows one in full.")
    return "\n".join(lines)


def _workflows(r: WorkflowList) -> str:
    lines = [f"- {w.name} v{w.version} ({w.source}, {len(w.phases)} phases): {w.description}" for w in r.workflows]
    return "\n".join([*lines, "start_workflow(workflow_type, target_file) starts one."])


def _workflow(w: views.WorkflowSummary) -> str:
    head = f"Workflow {w.name} v{w.version} is in {w.directory} with phases: {', '.join(w.phases)}.\n"
    if w.next_step:  # a team server wrote nothing: what to write, commit and push
        return head + w.next_step
    return head + f"Next: validate_workflow('{w.name}'), then fill in each phase's instructions."


def _validation(r: views.ValidationReport) -> str:
    if r.valid:
        return f"{r.name} is valid ({r.directory})."
    return "\n".join([f"{r.name} has {len(r.problems)} problem(s):", *(f"- {p}" for p in r.problems)])


def _pull_request(pr: views.PullRequestView) -> str:
    return (f"Linked {pr.repository}#{pr.number} ({pr.url}). Each phase now shows as a check run on it; "
            "reviewers approve gates there and their comments reach you through get_review_feedback.")


def _feedback(f: views.ReviewFeedback) -> str:
    lines = [f.message]
    for t in f.open_threads:
        where = f"{t.path}:{t.line}" if t.line else t.path
        for c in t.comments:
            lines.append(f"- {where} @{c.author}: {c.body}")
    if f.changes_requested_by:
        lines.append("Changes requested by " + ", ".join(f"@{who}" for who in f.changes_requested_by) + ".")
    return "\n".join(lines)


def _task(t: views.TaskView) -> str:
    return f"# Task {t.task_id} of phase {t.phase}: {t.title}\n\n{t.instructions.strip()}"


_RENDERERS: dict[type, Any] = {
    views.StartResult: _start,
    views.PhaseView: phase_text,
    views.TaskView: _task,
    views.CompletionResult: _completion,
    views.SessionState: _state,
    views.WorkflowSummary: _workflow,
    views.ValidationReport: _validation,
    views.PullRequestView: _pull_request,
    views.ReviewFeedback: _feedback,
    SearchResponse: _search,
    SessionList: _sessions,
    WorkflowList: _workflows,
}


def summarised(fn: Callable[..., BaseModel]) -> Callable[..., CallToolResult]:
    """Wrap a tool returning a view: its text becomes the summary, the view its structured content.

    The output schema stays the view's (`Annotated[CallToolResult, View]`), so clients still
    validate the structured content against it.
    """
    sig = inspect.signature(fn, eval_str=True)
    model = sig.return_annotation

    def as_result(result: BaseModel) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=summary_text(result))],
                              structured_content=result.model_dump(mode="json", by_alias=True))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> CallToolResult:
        return as_result(fn(*args, **kwargs))

    wrapper.__signature__ = sig.replace(return_annotation=Annotated[CallToolResult, model])  # type: ignore[attr-defined]
    return wrapper
