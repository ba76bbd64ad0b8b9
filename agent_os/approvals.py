"""People's verdicts reaching a session: approvals from the terminal, pull-request
reviews, and the team's gate policy. Each change re-settles the waiting gate."""

from __future__ import annotations

from dataclasses import replace

from . import views
from .changes import changing
from .context import Context, current, definition
from .errors import InputError, Refused
from .gating import gate_view, waiting_phase
from .gating import policy as gate_policy
from .project import GatePolicyConfig
from .reading import state
from .records import Review, now
from .reviews import same_login


def approve(ctx: Context, session_id: str, *, by: str, source: str = "cli", note: str = "") -> views.GateView:
    """A person's approval of the phase waiting at its gate (solo mode, from the terminal).

    No MCP tool calls this: only people approve.
    """
    rec = ctx.load(session_id)
    if not isinstance(by, str) or not by.strip():
        raise InputError("Say who approves: --by NAME.")
    by = by.strip()
    phases = ctx.store.phases(rec.id)
    waiting = waiting_phase(phases)
    if waiting is None:
        cur = current(phases)
        where = f"phase {cur.number} ({cur.title}) is {cur.state}" if cur else "the session is complete"
        raise Refused(f"Nothing in session {rec.id} waits for approval: {where}.",
                      hint="A gate opens for approval once its phase's checkpoint has passed.")
    if same_login(by, rec.author):
        raise Refused(f"{by} is the session's author and cannot approve their own work.",
                      hint="Ask another person to approve.")
    with changing(ctx, rec.id, "approval") as change:
        ctx.store.add_review(rec.id, Review(by, "approved", now(), source), None)
        change.event("approval", waiting.number, reviewer=by, source=source, note=note)
    after = next(p for p in ctx.store.phases(rec.id) if p.number == waiting.number)
    return gate_view(ctx, ctx.load(rec.id), after, definition(waiting))


def record_review(ctx: Context, session_id: str, review: views.ReviewInput) -> views.SessionState:
    """Record a pull-request review and pass the waiting gate if its policy is now met."""
    with changing(ctx, session_id, "review") as change:
        # Reviews count from when we learn of them: a redelivered old review must not
        # predate the phase it would approve.
        added = ctx.store.add_review(
            change.rec.id, Review(review.reviewer, review.state, now(), review.source, review.commit_id,
                                  review.is_bot), review.review_id)
        if added:
            change.event(f"review_{review.state}", reviewer=review.reviewer, source=review.source,
                         commit_id=review.commit_id, is_bot=review.is_bot)
    return state(ctx, change.rec.id)


def set_gate_policy(ctx: Context, session_id: str, policy: GatePolicyConfig | None) -> None:
    """Set the team's gate policy for this session (read by the bot from the PR's base branch)."""
    value = policy.model_dump(exclude_none=True) if policy else None
    with changing(ctx, session_id, "gate_policy") as change:
        if value != change.rec.gate_policy:
            change.bump(gate_policy=value)
            # The timeline quotes the policy in force at the next gate, in the gate's own words.
            rec = replace(change.rec, gate_policy=value)
            gated = [definition(p) for p in ctx.store.phases(rec.id) if p.state != "complete"]
            gated = [phase for phase in gated if phase.gate is not None]
            words = gate_policy(ctx, rec, gated[0]).describe() if gated else None
            change.event("gate_policy", policy=value, description=words)
