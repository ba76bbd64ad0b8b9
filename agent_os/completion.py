"""Completing a phase: check the evidence, then move on (or wait at the gate).

Refused (nothing changes but the submission log) when the phase is not the active one,
waits at its gate, or the evidence fails any check; every failure is listed.
"""

from __future__ import annotations

import json
from typing import Any

from . import files as filesource
from . import views
from .capped import capped, capped_failures
from .context import Context, current, definition
from .definitions import Workflow
from .errors import EvidenceRejected, GateClosed, SessionComplete, WrongPhase
from .evidence import CheckContext, check_evidence
from .execution import expand_tasks_md
from .ci import failures as ci_failures
from .ci import settle_ci
from .gating import gate, passed_checkpoint
from .lifecycle import phase_record
from .reading import current_view, resolve_phase, state
from .records import Failure, PhaseRecord, SessionRecord, now
from .report import failures_markdown
from .templates import template_sentences
from .verification import Recording


def complete_phase(ctx: Context, session_id: str, phase: int | str, evidence: Any, *,
                   files: filesource.FileSource | None = None) -> views.CompletionResult:
    """Check `evidence` against the phase's checkpoint and, if it passes, move on.

    The files are read from `files` (a snapshot or a commit) or else the context's source.
    """
    source = files if files is not None else ctx.files
    rec = ctx.load(session_id)
    if rec.status == "complete":
        raise SessionComplete(f"Session {rec.id} is complete; there is no phase left to finish.")
    target = resolve_phase(ctx, rec, phase)
    phases = ctx.store.phases(rec.id)
    cur = current(phases)
    assert cur is not None
    _check_order(ctx, rec, target, cur)
    phase_def = definition(target)
    # Noting what the check reads keeps those files' blob SHAs with the checkpoint, so a
    # later commit is re-verified without downloading what did not change.
    source = Recording(source)
    # Solo mode runs the commands tasks.md names, here; a call that brings its own files
    # (a snapshot, a commit) runs nothing: CI decides in team mode.
    check_ctx = CheckContext(files=source, spec_dir=rec.spec_dir, tasks_section=target.tasks_section,
                             runner=ctx.runner if files is None else None,
                             standards=ctx.standards_for(rec.repository), templates=_templates(target),
                             workspace=ctx.files if files is None else None)
    result = check_evidence(phase_def.checkpoint, evidence, check_ctx)
    failures = capped_failures(list(result.failures))
    expansion = None
    nxt = next((p for p in phases if p.number == target.number + 1), None)
    if not failures and nxt is not None and definition(nxt).expand == "tasks_md":
        expansion, problems = _expand(ctx, rec, nxt, source)
        failures += [Failure("tasks.md", "phases", "'## Phase N: Title' sections with '- [ ]' tasks", p,
                             "Fix tasks.md in the spec directory, then submit again.") for p in problems]
    accepted = not failures
    # What must not have changed meanwhile is the phases, not the whole session: a
    # webhook linking the PR or moving its head bumps the revision too, and must not
    # turn a good submission into a false "another call completed this phase".
    seen = [(p.number, p.state) for p in phases]
    with ctx.store.transaction(rec.id):
        fresh = ctx.store.session(rec.id)
        if fresh is None or fresh.status != rec.status or \
                [(p.number, p.state) for p in ctx.store.phases(rec.id)] != seen:
            raise WrongPhase(
                f"Session {rec.id} changed while this evidence was being checked "
                f"(another call completed or approved a phase first).",
                hint="Call get_current_phase to see where the session is now.",
            )
        # A refused submission is kept capped: refusals must not grow the store without bound.
        stored = _jsonable(evidence) if accepted else capped(_jsonable(evidence))
        ctx.store.add_submission(rec.id, target.number, accepted, stored, failures, list(result.verified))
        for run in result.runs:  # what Agent OS ran for this submission, its output capped
            ctx.store.add_event(rec.id, "command_run", target.number, **run.to_record())
        if not accepted:
            ctx.store.add_event(rec.id, "evidence_refused", target.number, failures=len(failures))
        else:
            ctx.bump(fresh)
            if expansion is not None:
                ctx.store.replace_phases_from(rec.id, nxt.number, expansion)
            ctx.store.add_event(rec.id, "evidence_accepted", target.number, files=source.hashes())
            if files is not None and phase_def.ci_checks:
                # Team mode: nothing ran here; CI's checks on the head commit decide (ci.py).
                ctx.store.add_event(rec.id, "ci_waiting", target.number, checks=list(phase_def.ci_checks))
                decided = settle_ci(ctx, rec.id)
                if decided is not None and decided.state == "failed":
                    failures = ci_failures(decided)  # CI already said no for this head
            else:
                passed_checkpoint(ctx, ctx.store.session(rec.id), target.number, phase_def)
            ctx.changed(rec.id, "phase_completed")
    if failures:  # refused by the checks, or at once by CI's verdict on the head commit
        if accepted:
            ctx.notify(rec.id, "ci_failed")
        raise EvidenceRejected(
            f"Phase {target.number} ({target.title}) refused the evidence: {len(failures)} problem(s).\n"
            + failures_markdown(failures),
            hint="Fix every item above and call complete_phase again with the corrected evidence. "
            "Report only what is true of the files.",
            data={"failures": [f.to_dict() for f in failures], "phase": target.number},
        )
    ctx.notify(rec.id, "phase_completed")
    return _result(ctx, rec, target, list(result.verified))


def _result(ctx: Context, rec: SessionRecord, target: PhaseRecord, verified: list[str]) -> views.CompletionResult:
    after = state(ctx, rec.id)
    done = next(p for p in after.phases if p.number == target.number)
    next_view = current_view(ctx, rec.id) if after.status == "active" else None
    if done.ci is not None and done.ci.state == "waiting":
        message = (f"Phase {target.number} ({target.title}) passed its checkpoint on the files sent and is "
                   f"{done.ci.reason}. It completes when CI concludes success; if CI fails, it is refused with "
                   "CI's link. Nothing to submit meanwhile.")
    elif done.state == "awaiting_approval":
        message = (f"Phase {target.number} ({target.title}) passed its checkpoint and waits for approval: "
                   f"{'; '.join(done.gate.reasons) if done.gate else ''}. A person approves it on the pull request "
                   f"or with `agent-os approve {rec.id} --by NAME`; you cannot.")
    elif after.status == "complete":
        message = f"Phase {target.number} ({target.title}) is complete, and so is the session."
    else:
        message = (f"Phase {target.number} ({target.title}) is complete. Next: phase {next_view.number} "
                   f"({next_view.title}).") if next_view else "Phase complete."
    return views.CompletionResult(
        session_id=rec.id, phase=target.number, phase_state=done.state, verified=verified,
        next_phase=next_view if done.state == "complete" else None, gate=done.gate,
        session_complete=after.status == "complete", message=message,
    )


def _check_order(ctx: Context, rec: SessionRecord, target: PhaseRecord, cur: PhaseRecord) -> None:
    if target.number == cur.number and cur.state == "awaiting_approval":
        waiting = gate(ctx, rec.id)
        reasons = "; ".join(waiting.reasons) if waiting else ""
        raise GateClosed(
            f"Phase {cur.number} ({cur.title}) already passed its checkpoint and waits for a "
            f"person's approval ({reasons}).",
            hint="Approval comes from a reviewer on the pull request, or `agent-os approve` in solo mode. "
            "Tell the person; do not resubmit.",
        )
    if target.state == "complete":
        raise WrongPhase(f"Phase {target.number} ({target.title}) is already complete; phases are never re-entered.",
                         hint=f"The session is on phase {cur.number} ({cur.title}).")
    if target.number != cur.number:
        # The refusal changes nothing, but a try to skip ahead is on the record.
        with ctx.store.transaction(rec.id):
            ctx.store.add_event(rec.id, "skip_refused", target.number, current=cur.number)
        raise WrongPhase(
            f"Phase {target.number} ({target.title}) cannot start before phase {cur.number} "
            f"({cur.title}) is complete: phases cannot be skipped.",
            hint=f"Work on phase {cur.number}: call get_current_phase('{rec.id}').",
        )


def _expand(ctx: Context, rec: SessionRecord, template_rec: PhaseRecord,
            source: filesource.FileSource) -> tuple[list[PhaseRecord] | None, list[str]]:
    """The execution phases tasks.md describes, replacing the template phase (or the problems found)."""
    try:
        text = source.read_text(filesource.join(rec.spec_dir, "tasks.md"))
    except (OSError, UnicodeDecodeError, filesource.FileMissing, filesource.PathOutside) as exc:
        return None, [f"cannot read {rec.spec_dir}/tasks.md: {exc}"]
    expanded, problems = expand_tasks_md(definition(template_rec), text)
    if problems:
        return None, problems
    wf = _workflow_for(ctx, rec, template_rec)
    base_text = template_rec.definition.get("instructions", "")
    out: list[PhaseRecord] = []
    number = template_rec.number
    for item in expanded:
        r = phase_record(rec.id, number, wf, item.phase, now(), tasks_section=item.section_title)
        r.definition["instructions"] = base_text + (
            f"\n\n## Your section of tasks.md: {item.section_title}\n\n{item.section_body}\n")
        out.append(PhaseRecord(r.session_id, number, r.phase_id, r.title, "pending", r.definition,
                               r.tasks_section, None, None))
        number += 1
    # The phases after the template keep their definitions and move down.
    for later in ctx.store.phases(rec.id):
        if later.number > template_rec.number:
            out.append(PhaseRecord(later.session_id, number, later.phase_id, later.title, "pending",
                                   later.definition, later.tasks_section, None, None))
            number += 1
    return out, []


def _workflow_for(ctx: Context, rec: SessionRecord, p: PhaseRecord) -> Workflow:
    # Instructions were snapshotted at start; only a loaded definition is needed for
    # phase_record's bookkeeping, so a workflow deleted since then still expands.
    try:
        return ctx.registry_for(rec.repository, max_age=60.0).load(rec.workflow)
    except Exception:
        return Workflow.model_validate({"name": rec.workflow, "version": rec.workflow_version,
                                        "description": "(removed)", "phases": [p.definition["phase"]]})


def _templates(target: PhaseRecord) -> frozenset[str]:
    """The template sentences of the phase's own instructions (snapshotted at start)."""
    texts = [target.definition.get("instructions", ""), *target.definition.get("task_instructions", {}).values()]
    return template_sentences(t for t in texts if isinstance(t, str))


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)[:2000]
