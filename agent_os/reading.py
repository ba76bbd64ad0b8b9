"""Reading sessions: their state, the current phase, tasks, the timeline and submissions.

Every answer is a view (views.py), a snapshot built from the store; nothing here writes.
"""

from __future__ import annotations

from typing import Any

from . import views
from .ci import ci_view
from .context import Context, current, definition
from .errors import InputError, NotFoundError, SessionComplete
from .gating import gate_view, policy
from .records import PhaseRecord, PullRequestRecord, SessionRecord, SubmissionRecord
from .verification import latest_verifications, verification_view


def state(ctx: Context, session_id: str) -> views.SessionState:
    """Everything about a session: phases, gates, evidence results, linked PRs."""
    rec = ctx.load(session_id)
    phases = ctx.store.phases(rec.id)
    subs = ctx.store.submissions(rec.id)
    cur = current(phases)
    events = ctx.store.events(rec.id)
    verified = latest_verifications(events)
    summaries = []
    for p in phases:
        last = next((s for s in reversed(subs) if s.phase == p.number), None)
        phase = definition(p)
        gate = gate_view(ctx, rec, p, phase) if phase.gate and p.state != "pending" else None
        summaries.append(views.PhaseSummary(
            number=p.number, id=p.phase_id, title=p.title, state=p.state,
            tasks=[views.TaskSummary(id=t.id, title=t.title) for t in phase.tasks],
            has_gate=phase.gate is not None, gate=gate,
            last_submission=submission_view(last) if last else None,
            started_at=p.started_at, completed_at=p.completed_at,
            verification=verification_view(verified.get(p.number)),
            ci=ci_view(rec, p, last, events),
        ))
    return views.SessionState(
        session_id=rec.id, workflow=rec.workflow, workflow_version=rec.workflow_version, target=rec.target,
        spec_dir=rec.spec_dir, status=rec.status, current_phase=cur.number if cur else None,
        phases=summaries, pull_requests=[pr_view(p) for p in ctx.store.pull_requests(rec.id)],
        author=rec.author, repository=rec.repository, created_at=rec.created_at, updated_at=rec.updated_at,
        next_step=_next_step(rec, cur, summaries),
    )


def current_phase(ctx: Context, session_id: str) -> views.PhaseView:
    """The phase the session is on, with its instructions and the evidence it demands."""
    rec = ctx.load(session_id)
    view = current_view(ctx, rec.id)
    if view is None:
        raise SessionComplete(f"Session {rec.id} is complete: every phase has passed.",
                              hint="Start the next workflow, e.g. spec_execution_v1 on this spec.")
    return view


def current_view(ctx: Context, session_id: str) -> views.PhaseView | None:
    """The current phase's view, or None when the session is complete."""
    phases = ctx.store.phases(session_id)
    cur = current(phases)
    return phase_view(ctx, ctx.load(session_id), cur, len(phases)) if cur else None


def phase_view(ctx: Context, rec: SessionRecord, p: PhaseRecord, total: int) -> views.PhaseView:
    """One phase as the agent works on it: instructions, tasks, the evidence and artifacts it checks."""
    phase = definition(p)
    cp = phase.checkpoint
    evidence = {
        name: views.EvidenceFieldView(
            type=f.type, required=f.required, description=f.description, example=f.example,
            constraints={k: v for k, v in f.model_dump(
                exclude={"type", "required", "description", "example"}, exclude_none=True).items()
                if v not in ([], False) and (f.type == "path" or k not in ("must_exist", "within_spec_dir"))},
        )
        for name, f in cp.evidence.items()
    }
    if cp.checks:
        for name, desc in (("test_command", "The test command this phase's tasks.md section names."),
                           ("test_summary", "The runner's final summary line, e.g. '12 passed in 0.84s'.")):
            evidence.setdefault(name, views.EvidenceFieldView(type="string", required=True, description=desc))
    return views.PhaseView(
        session_id=rec.id, number=p.number, id=p.phase_id, title=p.title, state=p.state,
        instructions=p.definition.get("instructions", ""),
        tasks=[views.TaskSummary(id=t.id, title=t.title) for t in phase.tasks],
        evidence=evidence,
        artifacts=[views.ArtifactView(path=a.path, description=a.description,
                                      required_headings=list(a.required_headings),
                                      counts=[c.model_dump() for c in a.counts], min_words=a.min_words)
                   for a in cp.artifacts],
        checks=list(cp.checks), tasks_section=p.tasks_section,
        gate=policy(ctx, rec, phase).describe() if phase.gate else None, spec_dir=rec.spec_dir,
        phases_total=total,
    )


def get_task(ctx: Context, session_id: str, phase: int | str, task_id: str) -> views.TaskView:
    """One task's instructions."""
    rec = ctx.load(session_id)
    p = resolve_phase(ctx, rec, phase)
    tasks = definition(p).tasks
    for t in tasks:
        if t.id == task_id:
            text = p.definition.get("task_instructions", {}).get(t.id) or t.title
            return views.TaskView(session_id=rec.id, phase=p.number, task_id=t.id, title=t.title, instructions=text)
    known = ", ".join(t.id for t in tasks) or "none"
    raise NotFoundError(f"Phase {p.number} ({p.title}) has no task {task_id!r}.", hint=f"Its tasks: {known}.")


def resolve_phase(ctx: Context, rec: SessionRecord, phase: Any) -> PhaseRecord:
    """The phase named by number (int or digits) or id."""
    phases = ctx.store.phases(rec.id)
    if isinstance(phase, bool) or not isinstance(phase, int | str):
        raise InputError(f"phase must be a phase number or id, not {type(phase).__name__}.")
    if isinstance(phase, str) and phase.strip().isdigit():
        phase = int(phase.strip())
    for p in phases:
        if p.number == phase or p.phase_id == phase:
            return p
    listing = ", ".join(f"{p.number} ({p.phase_id})" for p in phases)
    raise NotFoundError(f"Session {rec.id} has no phase {phase!r}.", hint=f"Its phases: {listing}.")


def list_sessions(ctx: Context, status: str | None = None) -> list[views.SessionSummary]:
    """Sessions, most recently updated first."""
    if status not in (None, "active", "complete"):
        raise InputError(f"Unknown status {status!r}.", hint="Use 'active' or 'complete'.")
    out = []
    for rec in ctx.store.sessions(status):
        phases = ctx.store.phases(rec.id)
        cur = current(phases)
        out.append(views.SessionSummary(
            session_id=rec.id, workflow=rec.workflow, target=rec.target, spec_dir=rec.spec_dir,
            status=rec.status, current_phase=cur.number if cur else None,
            current_phase_title=cur.title if cur else None, current_phase_state=cur.state if cur else None,
            phases_complete=sum(p.state == "complete" for p in phases), phases_total=len(phases),
            repository=rec.repository, updated_at=rec.updated_at,
        ))
    return out


def events(ctx: Context, session_id: str, after_id: int = 0) -> list[views.EventView]:
    """The session's append-only timeline."""
    rec = ctx.load(session_id)
    return [views.EventView(id=e.id, session_id=e.session_id, kind=e.kind, phase=e.phase, data=e.data, at=e.at)
            for e in ctx.store.events(rec.id, after_id)]


def submissions(ctx: Context, session_id: str) -> list[views.SubmissionView]:
    """Every evidence submission of the session, accepted or refused."""
    rec = ctx.load(session_id)
    return [submission_view(s) for s in ctx.store.submissions(rec.id)]


def submission_view(s: SubmissionRecord) -> views.SubmissionView:
    """A submission as the doors show it."""
    return views.SubmissionView(id=s.id, phase=s.phase, accepted=s.accepted, evidence=s.evidence,
                                failures=list(s.failures), verified=s.verified, at=s.at)


def pr_view(pr: PullRequestRecord) -> views.PullRequestView:
    """A linked pull request as the doors show it."""
    return views.PullRequestView(repository=pr.repository, number=pr.number,
                                 url=f"https://github.com/{pr.repository}/pull/{pr.number}",
                                 head_sha=pr.head_sha, author=pr.author, source=pr.source)


def _next_step(rec: SessionRecord, cur: PhaseRecord | None, phases: list[views.PhaseSummary]) -> str:
    if cur is None:
        return "Every phase is complete."
    if cur.state == "awaiting_approval":
        summary = next(p for p in phases if p.number == cur.number)
        why = "; ".join(summary.gate.reasons) if summary.gate else "waiting for approval"
        return (f"Phase {cur.number} ({cur.title}) waits for a person's approval ({why}). "
                f"A reviewer approves the pull request, or someone runs `agent-os approve {rec.id} --by NAME`.")
    waiting = next((p.ci for p in phases if p.number == cur.number and p.ci is not None
                    and p.ci.state == "waiting"), None)
    if waiting is not None:
        return (f"Phase {cur.number} ({cur.title}) passed its checkpoint and is {waiting.reason}. It completes "
                "when CI concludes success; a failure refuses it with CI's link.")
    return (f"Work on phase {cur.number} ({cur.title}): read get_current_phase('{rec.id}'), do the work, "
            f"then call complete_phase with the evidence it asks for.")
