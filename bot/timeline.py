"""What the session pages say: each timeline event as a sentence, and each session as a row a
team lead can triage (whom it waits for, which PR, whose, how old).

Pure functions over the engine's views: no HTML here (the templates escape), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from agent_os.report import state_word
from agent_os.views import EventView, PullRequestView, SessionState


def _words(value: Any) -> str:
    """A value in words: lists joined, mappings as 'key value', no Python reprs."""
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {_words(v)}" for k, v in value.items() if v not in (None, [], ""))
    if isinstance(value, (list, tuple)):
        return ", ".join(_words(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _phase(e: EventView) -> str:
    return f"phase {e.phase}" if e.phase is not None else "the session"


_SENTENCES: dict[str, Any] = {
    "session_started": lambda e, d: f"Session started: {d.get('workflow')} on {d.get('target')}, "
                                    f"spec in {d.get('spec_dir')}.",
    "phase_started": lambda e, d: f"Phase {e.phase} ({d.get('title', '')}) started.",
    "evidence_refused": lambda e, d: f"Evidence for phase {e.phase} refused: {d.get('failures', 'some')} problem(s).",
    "evidence_accepted": lambda e, d: f"Evidence for phase {e.phase} accepted.",
    "gate_waiting": lambda e, d: f"Phase {e.phase} passed its checkpoint and waits for approval ({d.get('policy')}).",
    "gate_passed": lambda e, d: f"The gate of phase {e.phase} opened, approved by {_words(d.get('approvals', []))}.",
    "phase_completed": lambda e, d: f"Phase {e.phase} complete.",
    "session_completed": lambda e, d: "Session complete: every phase passed.",
    "approval": lambda e, d: f"@{d.get('reviewer')} approved phase {e.phase} ({d.get('source')})"
                             + (f": {d['note']}" if d.get("note") else "."),
    "review_approved": lambda e, d: f"@{d.get('reviewer')} approved the pull request"
                                    + (" (a bot: not counted)." if d.get("is_bot") else "."),
    "review_changes_requested": lambda e, d: f"@{d.get('reviewer')} requested changes.",
    "review_commented": lambda e, d: f"@{d.get('reviewer')} reviewed with comments.",
    "review_dismissed": lambda e, d: f"@{d.get('reviewer')}'s review was dismissed.",
    "gate_policy": lambda e, d: ("Gate policy from the base branch: "
                                 + (d.get("description") or "the workflow's own gates apply.")),
    "head_changed": lambda e, d: f"New commits pushed: head {str(d.get('head_sha', ''))[:7]}.",
    "pull_request_linked": lambda e, d: f"Pull request {d.get('repository')}#{d.get('number')} linked "
                                        f"({d.get('source')}).",
    "review_comment_open": lambda e, d: f"@{d.get('author')} commented on {d.get('path')}.",
    "review_comment_deleted": lambda e, d: f"A comment by @{d.get('author')} on {d.get('path')} was deleted.",
    "thread_resolved": lambda e, d: "A review thread was resolved.",
    "thread_unresolved": lambda e, d: "A review thread was reopened.",
    "skip_refused": lambda e, d: f"Refused: phase {e.phase} was submitted while phase {d.get('current')} "
                                 "was still open (phases cannot be skipped).",
}


def event_sentence(event: EventView) -> str:
    """The event as a sentence a person reads; an unknown kind says its name and data in words."""
    say = _SENTENCES.get(event.kind)
    if say is not None:
        return say(event, event.data)
    detail = _words(event.data)
    return f"{event.kind.replace('_', ' ').capitalize()} ({_phase(event)})" + (f": {detail}." if detail else ".")


@dataclass(frozen=True)
class TriageRow:
    """One session as the sessions list shows it."""

    session_id: str
    workflow: str
    target: str
    author: str | None
    repository: str | None
    pull_requests: list[PullRequestView]
    status: str
    state: str  # waiting, active, complete
    now: str
    waiting_for: list[str]
    age: str
    updated_at: datetime


def _age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def triage_row(s: SessionState, now: datetime | None = None) -> TriageRow:
    """Where `s` stands for triage: waiting (for whom), in progress, or complete."""
    now = now or datetime.now(timezone.utc)
    current = next((p for p in s.phases if p.number == s.current_phase), None)
    waiting_for: list[str] = []
    if current is None:
        state, where = "complete", "every phase complete"
    elif current.state == "awaiting_approval":
        state, where = "waiting", f"{current.number}. {current.title}"
        gate = current.gate
        waiting_for = list(gate.reasons) if gate and gate.reasons else ["a person's approval"]
    else:
        state, where = "active", f"{current.number}. {current.title} ({state_word(current.state)})"
    repository = s.pull_requests[0].repository if s.pull_requests else getattr(s, "repository", None)
    return TriageRow(session_id=s.session_id, workflow=s.workflow, target=s.target, author=s.author,
                     repository=repository, pull_requests=list(s.pull_requests), status=s.status, state=state,
                     now=where, waiting_for=waiting_for, age=_age(s.created_at, now), updated_at=s.updated_at)
