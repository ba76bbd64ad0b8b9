"""CI's verdicts on a pull request's head commit, fed into the core (agent_os/ci.py decides).

In team mode a phase that names `ci_checks` waits for those check runs (or commit
statuses) on the head commit. GitHub sends every App with the Checks permission the
check runs of other Apps too (GitHub Actions and the like): `check_run` created and
completed, `check_suite` completed; commit statuses arrive as `status`. Each one becomes a
`CIResult` for the sessions at that head; the engine moves a waiting phase on, and its
listener re-posts the PR's checks. A delivery missed or read out of order is caught up
when the PR's head moves or is refreshed (`catch_up`).
"""

from __future__ import annotations

import logging
from typing import Any

from agent_os.ci import CIResult
from agent_os.errors import AgentOSError

from ..events import CheckRun, Event
from ..routing import Router
from .context import Context, repo_of

log = logging.getLogger(__name__)
router: Router[Context] = Router()


def _ours(app: dict[str, Any] | None, ctx: Context) -> bool:
    return isinstance(app, dict) and app.get("id") is not None and app.get("id") == ctx.settings.app_id


def result_of(run: dict[str, Any]) -> CIResult:
    """A check run as the REST API or a webhook shows it, as what CI said."""
    url = run.get("details_url") or run.get("html_url") or ""
    return CIResult(str(run.get("head_sha") or ""), str(run.get("name") or ""), str(run.get("status") or ""),
                    run.get("conclusion"), str(url), run.get("id") if isinstance(run.get("id"), int) else None)


def feed(ctx: Context, repo: str, result: CIResult) -> list[str]:
    """Give the engine one CI result; a malformed one is logged and skipped, never retried."""
    try:
        return ctx.engine.record_ci(repo, result)
    except AgentOSError as exc:
        log.info("CI result %s on %s ignored: %s", result.name, result.head_sha[:7], exc.message)
        return []


@router.on("check_run", "created", "completed")
def on_ci_check_run(event: Event, ctx: Context) -> str:
    """Another App's check run started or finished on a commit."""
    raw = event.payload.get("check_run") or {}
    run = event.part(CheckRun, "check_run")
    if run.app is not None and run.app.id == ctx.settings.app_id:
        return "ignored: our own check run"
    touched = feed(ctx, repo_of(event), result_of(raw))
    return f"CI {run.name!r} {raw.get('status')}: {len(touched)} session(s)"


@router.on("check_suite", "completed")
def on_ci_check_suite(event: Event, ctx: Context) -> str:
    """Another App's suite finished: read its runs at the commit, in case a run's own
    delivery was lost."""
    suite = event.payload.get("check_suite") or {}
    if _ours(suite.get("app"), ctx):
        return "ignored: our own check suite"
    head = suite.get("head_sha")
    if not isinstance(head, str) or not head:
        return "ignored: a check suite without a head commit"
    app_id = (suite.get("app") or {}).get("id")
    repo = repo_of(event)
    if not ctx.engine.ci_sessions_at(repo, head):
        return f"ignored: no session waits for CI at {head[:7]}"
    runs = [r for r in ctx.github.check_runs_at(repo, head) if (r.get("app") or {}).get("id") == app_id]
    touched = {sid for r in runs for sid in feed(ctx, repo, result_of(r))}
    return f"CI suite at {head[:7]}: {len(runs)} run(s), {len(touched)} session(s)"


@router.on("status")
def on_status(event: Event, ctx: Context) -> str:
    """A commit status (CI that reports through the Statuses API)."""
    p = event.payload
    sha, context, state = p.get("sha"), p.get("context"), p.get("state")
    if not all(isinstance(v, str) and v for v in (sha, context, state)):
        return "ignored: a status without sha, context or state"
    touched = feed(ctx, repo_of(event), CIResult.from_status(sha, context, state, p.get("target_url")))
    return f"status {context!r} {state}: {len(touched)} session(s)"


def catch_up(ctx: Context, repo: str, head: str, session_ids: set[str]) -> None:
    """Read CI's check runs at the PR's head for sessions that wait for CI (a head that moved,
    a webhook lost or early): what they say is fed like a delivery."""
    wanted = set()
    for sid in session_ids:
        try:
            wanted |= set(ctx.engine.ci_checks_wanted(sid))
        except AgentOSError:
            continue
    if not wanted:
        return
    for run in ctx.github.check_runs_at(repo, head):
        if run.get("name") in wanted and not _ours(run.get("app"), ctx):
            feed(ctx, repo, result_of(run))
