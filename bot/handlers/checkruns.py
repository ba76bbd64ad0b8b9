"""Re-run on a check run, and its Re-check button: recompute every check of the PRs it shows."""

from __future__ import annotations

from agent_os.errors import AgentOSError

from .. import checks
from ..events import CheckRun, Event
from ..routing import Router
from .context import Context, repo_of
from .pulls import refresh

router: Router[Context] = Router()


@router.on("check_run", "rerequested", "requested_action")
def on_check_run(event: Event, ctx: Context) -> str:
    """Refresh every PR of the repository the run's sessions are linked to."""
    run = event.part(CheckRun, "check_run")
    if event.action == "requested_action":
        identifier = (event.payload.get("requested_action") or {}).get("identifier")
        if identifier != checks.RECHECK:
            return f"ignored: action {identifier!r}"
    if run.app is not None and run.app.id is not None and run.app.id != ctx.settings.app_id:
        return "ignored: another app's check run"
    repo = repo_of(event)
    # Our own records say which sessions a run shows; the payload's pull_requests list
    # is empty for PRs from forks.
    session_ids = ctx.github.check_run_sessions(run.id)
    if session_ids is None:
        session_ids = checks.sessions_in_external_id(run.external_id)
    numbers: set[int] = set()
    for sid in session_ids:
        try:
            prs = ctx.engine.state(sid).pull_requests
        except AgentOSError:
            continue
        numbers.update(p.number for p in prs if p.repository.lower() == repo.lower())
    for number in sorted(numbers):
        refresh(ctx, repo, number)
    return f"re-checked PR(s) {sorted(numbers)}"
