"""Gates as a session sees them: the policy in force, the decision, and passing the gate.

The decision itself is pure (gates.py, reviews.py); this module feeds it the session's
reviews, head and threads, and moves the session on when a waiting gate is satisfied.
"""

from __future__ import annotations

from . import views
from .context import Context, definition
from .definitions import Phase
from .gates import GateDecision, GatePolicy, evaluate_gate
from .project import GatePolicyConfig
from .records import PhaseRecord, SessionRecord, now
from .reviews import Thread, review_threads, unresolved_count


def policy(ctx: Context, rec: SessionRecord, phase: Phase) -> GatePolicy:
    """The gate's policy: the workflow's, then the project's, then the team's (from the PR's base branch)."""
    assert phase.gate is not None
    override = GatePolicyConfig.model_validate(rec.gate_policy) if rec.gate_policy else None
    return GatePolicy.build(phase.gate, ctx.project.config.gates, override)


def threads(ctx: Context, session_id: str) -> list[Thread]:
    """The review threads on the session's spec files."""
    return review_threads(ctx.store.comments(session_id), ctx.store.threads(session_id))


def decide(ctx: Context, rec: SessionRecord, p: PhaseRecord, phase: Phase,
           unresolved: int | None = None) -> GateDecision:
    """The gate of phase `p`, decided from the reviews since it opened (`unresolved`: the
    count of unresolved threads, when the caller has it already)."""
    head = rec.head_sha or next((pr.head_sha for pr in ctx.store.pull_requests(rec.id) if pr.head_sha), None)
    if unresolved is None:
        unresolved = unresolved_count(threads(ctx, rec.id))
    return evaluate_gate(policy(ctx, rec, phase), ctx.store.reviews(rec.id), author=rec.author,
                         since=p.started_at, head_sha=head, unresolved_threads=unresolved)


def gate_view(ctx: Context, rec: SessionRecord, p: PhaseRecord, phase: Phase) -> views.GateView:
    """Where phase `p`'s gate stands, in words a reviewer can act on."""
    unresolved = unresolved_count(threads(ctx, rec.id))
    d = decide(ctx, rec, p, phase, unresolved)
    pol = policy(ctx, rec, phase)
    reasons = list(d.reasons)
    if p.state == "active":
        reasons.insert(0, "the phase's checkpoint has not passed yet")
    return views.GateView(
        phase=p.number, phase_title=p.title, required_approvals=pol.approvals,
        approvals=[views.ApprovalView(reviewer=a.reviewer, at=a.at, source=a.source) for a in d.approvals],
        blocking=list(d.blocking), ignored=list(d.ignored),
        unresolved_threads=unresolved,
        satisfied=p.state == "complete" or (d.satisfied and p.state == "awaiting_approval"),
        reasons=[] if p.state == "complete" else reasons, policy=pol.describe(),
    )


def gate(ctx: Context, session_id: str) -> views.GateView | None:
    """The gate of the phase waiting for approval, else of the next gated phase (None if none)."""
    rec = ctx.load(session_id)
    for p in ctx.store.phases(rec.id):
        phase = definition(p)
        if phase.gate and p.state != "complete":
            return gate_view(ctx, rec, p, phase)
    return None


def waiting_phase(phases: list[PhaseRecord]) -> PhaseRecord | None:
    """The phase waiting at its gate, if any."""
    return next((p for p in phases if p.state == "awaiting_approval"), None)


def settle_gate(ctx: Context, session_id: str) -> bool:
    """Pass the waiting gate if its policy is met (inside the caller's transaction)."""
    rec = ctx.store.session(session_id)
    waiting = waiting_phase(ctx.store.phases(session_id))
    if rec is None or waiting is None:
        return False
    decision = decide(ctx, rec, waiting, definition(waiting))
    if not decision.satisfied:
        return False
    ctx.bump(rec)
    ctx.store.add_event(session_id, "gate_passed", waiting.number,
                        approvals=[f"{a.reviewer} ({a.source})" for a in decision.approvals])
    advance(ctx, session_id, waiting.number)
    return True


def passed_checkpoint(ctx: Context, rec: SessionRecord, number: int, phase: Phase) -> None:
    """Phase `number` has passed everything it checks: wait at its gate (passing it at once
    if the policy is already met), else complete it (inside the caller's transaction)."""
    if phase.gate is not None:
        ctx.store.set_phase_state(rec.id, number, "awaiting_approval", now())
        ctx.store.add_event(rec.id, "gate_waiting", number, policy=policy(ctx, rec, phase).describe())
        settle_gate(ctx, rec.id)
    else:
        advance(ctx, rec.id, number)


def advance(ctx: Context, session_id: str, number: int) -> None:
    """Complete phase `number` and open the next, or complete the session (inside the caller's transaction)."""
    at = now()
    ctx.store.set_phase_state(session_id, number, "complete", at)
    ctx.store.add_event(session_id, "phase_completed", number)
    nxt = next((p for p in ctx.store.phases(session_id) if p.number == number + 1), None)
    if nxt is None:
        ctx.bump(ctx.store.session(session_id), status="complete")
        ctx.store.add_event(session_id, "session_completed", None)
    else:
        ctx.store.set_phase_state(session_id, nxt.number, "active", at)
        ctx.store.add_event(session_id, "phase_started", nxt.number, title=nxt.title)


