"""Team mode's test results: CI's own checks on the pull request's head commit.

The team server runs no code. A phase whose workflow.yaml declares `ci_checks: ["test"]`
passes its checkpoint on the files the door sent (or the PR's head commit), then waits: it
moves on only when every named check run (or commit status) on the session's head commit
has concluded successfully, and it is refused, with CI's verdict and link, when one fails.
Only results for the current head count, so a push starts the wait again. Solo mode runs
the command tasks.md names instead (evidence_tasks.py) and never waits.

This module is the one place of that rule: `decide` is pure; the rest records what CI
said (session events `ci_result`) and moves a waiting phase on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import views
from .capped import capped, capped_failures
from .context import Context, current, definition
from .errors import InputError
from .gating import passed_checkpoint
from .paths import check_repository, check_sha
from .records import EventRecord, Failure, PhaseRecord, SessionRecord, SubmissionRecord

RESULT = "ci_result"
# What a required status check accepts on GitHub: these conclusions let a phase pass.
PASSING = frozenset({"success", "neutral", "skipped"})
STATUSES = frozenset({"queued", "in_progress", "completed", "waiting", "requested", "pending"})
MAX_NAME = 100


@dataclass(frozen=True)
class CIResult:
    """What CI said about one check on one commit: a check run, or a commit status."""

    head_sha: str
    name: str
    status: str
    conclusion: str | None = None
    url: str = ""
    run_id: int | None = None

    @classmethod
    def from_status(cls, sha: str, context: str, state: str, target_url: str | None) -> CIResult:
        """A commit status (`pending`, `success`, `failure`, `error`) as a check result."""
        if state == "pending":
            return cls(sha, context, "in_progress", None, target_url or "")
        return cls(sha, context, "completed", "success" if state == "success" else state, target_url or "")

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def passed(self) -> bool:
        return self.completed and self.conclusion in PASSING

    def describe(self) -> str:
        """`'test' concluded failure (https://…)` or `'test' is in_progress`."""
        said = f"concluded {self.conclusion}" if self.completed else f"is {self.status}"
        return f"'{self.name}' {said}" + (f" ({self.url})" if self.url else "")

    def to_data(self) -> dict[str, Any]:
        return {"head_sha": self.head_sha, "name": self.name, "status": self.status,
                "conclusion": self.conclusion, "url": self.url, "run_id": self.run_id}


@dataclass(frozen=True)
class CIDecision:
    """Where a phase's CI stands at a head commit."""

    state: Literal["waiting", "passed", "failed"]
    checks: tuple[str, ...]
    head_sha: str | None
    results: tuple[CIResult, ...] = ()
    waiting_for: tuple[str, ...] = ()
    failed: tuple[CIResult, ...] = ()

    def reason(self) -> str:
        """`waiting for CI: test` (and why), `CI passed: …` or `CI failed: …`."""
        if self.state == "failed":
            return "CI failed: " + "; ".join(r.describe() for r in self.failed)
        if self.state == "passed":
            return "CI passed: " + "; ".join(r.describe() for r in self.results)
        why = (f" on {self.head_sha[:7]}" if self.head_sha else
               " (no pull request head yet: push the branch and link its pull request)")
        return f"waiting for CI: {', '.join(self.waiting_for)}{why}"


def decide(checks: list[str], head_sha: str | None, results: list[CIResult]) -> CIDecision:
    """The verdict of `checks` at `head_sha` from the results CI reported (oldest first).

    Any named check that concluded otherwise than success, neutral or skipped fails it;
    all of them passing passes it; anything else (not reported yet, still running) waits.
    """
    names = tuple(checks)
    latest = latest_results(results, head_sha) if head_sha else {}
    found = tuple(latest[n] for n in names if n in latest)
    failed = tuple(r for r in found if r.completed and not r.passed)
    waiting = tuple(n for n in names if n not in latest or not latest[n].completed)
    if failed:
        return CIDecision("failed", names, head_sha, found, waiting, failed)
    if not waiting and head_sha:
        return CIDecision("passed", names, head_sha, found)
    return CIDecision("waiting", names, head_sha, found, waiting)


def latest_results(results: list[CIResult], head_sha: str | None) -> dict[str, CIResult]:
    """The latest result per check name at `head_sha`. A check run once completed stays so:
    its `created` delivery arriving after its `completed` one changes nothing."""
    latest: dict[str, CIResult] = {}
    for r in results:
        if r.head_sha != head_sha:
            continue
        before = latest.get(r.name)
        if before is not None and before.completed and not r.completed and r.run_id == before.run_id:
            continue
        latest[r.name] = r
    return latest


# -- sessions ----------------------------------------------------------------------------------

def recorded(events: list[EventRecord]) -> list[CIResult]:
    """Every CI result the session's timeline holds, oldest first."""
    return [CIResult(**e.data) for e in events if e.kind == RESULT]


def waits_for_ci(p: PhaseRecord, last: SubmissionRecord | None) -> bool:
    """Whether phase `p` passed its checkpoint and waits for CI: it is still active, its
    latest submission was accepted, and it names CI checks (only team mode gets here)."""
    return p.state == "active" and last is not None and last.accepted and bool(definition(p).ci_checks)


def _last_submission(ctx: Context, session_id: str, number: int) -> SubmissionRecord | None:
    return next((s for s in reversed(ctx.store.submissions(session_id)) if s.phase == number), None)


def ci_view(rec: SessionRecord, p: PhaseRecord, last: SubmissionRecord | None,
            events: list[EventRecord]) -> views.CIView | None:
    """Where a phase waiting for CI stands; for a phase already passed, CI's failure at the
    current head (a later push that breaks the tests: the PR is the truth at merge time).
    None otherwise. `events` are the session's, as read with `rec`."""
    checks = definition(p).ci_checks
    waiting = waits_for_ci(p, last)
    if not checks or not (waiting or p.state in ("complete", "awaiting_approval")):
        return None
    d = decide(checks, rec.head_sha, recorded(events))
    if not waiting and d.state != "failed":
        return None
    return views.CIView(checks=list(d.checks), state="waiting" if waiting else d.state, head_sha=d.head_sha,
                        waiting_for=list(d.waiting_for),
                        results=[views.CIResultView(**r.to_data()) for r in d.results], reason=d.reason())


def failures(d: CIDecision) -> list[Failure]:
    """The refusal of a phase whose CI failed: one failure per failed check, with its link."""
    return capped_failures([Failure(
        "ci_checks", "ci_passed", f"CI check '{r.name}' to conclude success on {r.head_sha[:7]}",
        f"{r.conclusion}" + (f": {r.url}" if r.url else ""),
        "Open CI's run, fix what fails, push the fix, then call complete_phase again: "
        "the phase then waits for CI on the new head commit.") for r in d.failed])


def settle_ci(ctx: Context, session_id: str) -> CIDecision | None:
    """Move the phase waiting for CI on if CI has decided (inside the caller's transaction);
    the decision, or None when nothing was decided.

    Passed: the phase goes on as any passed checkpoint does (to its gate, or complete).
    Failed: a refused submission says which check failed and links CI's run; the agent
    fixes, pushes and submits again.
    """
    rec = ctx.store.session(session_id)
    cur = current(ctx.store.phases(session_id)) if rec is not None else None
    if rec is None or cur is None:
        return None
    last = _last_submission(ctx, session_id, cur.number)
    if not waits_for_ci(cur, last):
        return None
    assert last is not None
    phase = definition(cur)
    d = decide(phase.ci_checks, rec.head_sha, recorded(ctx.store.events(session_id)))
    if d.state == "waiting":
        return None
    ctx.bump(rec)
    results = [r.describe() for r in d.results]
    if d.state == "passed":
        ctx.store.add_event(session_id, "ci_passed", cur.number, head_sha=d.head_sha, results=results)
        passed_checkpoint(ctx, ctx.store.session(session_id), cur.number, phase)
        return d
    refused = failures(d)
    ctx.store.add_submission(session_id, cur.number, False, capped(last.evidence), refused, [])
    ctx.store.add_event(session_id, "ci_failed", cur.number, head_sha=d.head_sha, results=results)
    ctx.store.add_event(session_id, "evidence_refused", cur.number, failures=len(refused))
    return d


def wanted(ctx: Context, session_id: str) -> set[str]:
    """The CI check names any phase of the session declares."""
    return {n for p in ctx.store.phases(session_id) for n in definition(p).ci_checks}


def sessions_at(ctx: Context, repository: str, head_sha: str, name: str | None = None) -> list[str]:
    """Active sessions of `repository` whose head is `head_sha` and whose workflow names CI
    checks (the check `name`, if given)."""
    found = []
    for rec in ctx.store.sessions("active"):
        if (rec.repository or "").lower() != repository.lower() or rec.head_sha != head_sha:
            continue
        names = wanted(ctx, rec.id)
        if names and (name is None or name in names):
            found.append(rec.id)
    return found


def record_ci(ctx: Context, repository: str, result: CIResult) -> list[str]:
    """Record what CI said about a commit for every active session of `repository` whose
    head it is and whose workflow names that check, and settle their waiting phases.

    Returns the ids of the sessions it concerned. A result already recorded, or one no
    session asked for, changes nothing.
    """
    repository = check_repository(repository)
    check_sha(result.head_sha)
    if not isinstance(result.name, str) or not result.name.strip() or len(result.name) > MAX_NAME:
        raise InputError(f"CI check name {result.name!r} is not a check name.")
    if result.status not in STATUSES:
        raise InputError(f"CI status {result.status!r} is not one of {', '.join(sorted(STATUSES))}.")
    touched: list[str] = []
    for sid in sessions_at(ctx, repository, result.head_sha, result.name):
        with ctx.store.transaction(sid):
            before = latest_results(recorded(ctx.store.events(sid)), result.head_sha).get(result.name)
            if before == result:
                continue
            ctx.store.add_event(sid, RESULT, None, **result.to_data())
            settle_ci(ctx, sid)
            ctx.changed(sid, RESULT)  # in the same transaction: the PR's checks are queued with it
        touched.append(sid)
        ctx.notify(sid, RESULT)
    return touched
