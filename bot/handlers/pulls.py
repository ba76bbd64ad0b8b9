"""Pull requests: which sessions a PR links, its head commit, and the base branch's gate policy.

Linking, chosen explicitly: a PR links every session its body names
(`Agent-OS-Session: <id>`) and every session whose spec directory it adds or edits; a
session may be linked to several PRs (each shows its checks). Links are never removed by
an edit of the body: unlinking silently would hide a gate.
"""

from __future__ import annotations

import logging

from agent_os.errors import AgentOSError
from agent_os.paths import session_ids_in, spec_dirs_in
from agent_os.project import GatePolicyConfig

from ..events import Event, PullRequest
from ..github import GitHubCallError
from ..routing import Router
from ..unlinked import queue_unlinked_check
from .ci import catch_up as catch_up_ci
from .context import Context, repo_of
from .reviews import backfill_reviews, backfill_threads

log = logging.getLogger(__name__)
router: Router[Context] = Router()

PR_ACTIONS = ("opened", "reopened", "edited", "synchronize", "ready_for_review")




@router.on("pull_request", *PR_ACTIONS)
def on_pull_request(event: Event, ctx: Context) -> str:
    """Link the sessions the PR names or whose spec files it carries; follow its head."""
    engine, github = ctx.engine, ctx.github
    repo, pr = repo_of(event), event.part(PullRequest, "pull_request")
    linked = set(engine.sessions_for_pull_request(repo, pr.number))
    wanted = dict.fromkeys(session_ids_in(pr.body), "pr_body")
    changed: list[str] | None = None
    if event.action in ("opened", "reopened", "synchronize"):
        changed = github.changed_files(repo, pr.number)
        for spec_dir in spec_dirs_in(changed):
            sid = engine.session_for_spec_dir(spec_dir, repo)
            if sid:
                wanted.setdefault(sid, "spec_files")
    newly: set[str] = set()
    for sid, source in wanted.items():
        try:
            engine.link_pull_request(sid, repo, pr.number, author=pr.user.login or None,
                                     head_sha=pr.head.sha or None, source=source)
            if sid not in linked:
                newly.add(sid)
            linked.add(sid)
        except AgentOSError as exc:  # an id from another project, or mistyped
            log.info("PR %s#%d names %s, which is not linked: %s", repo, pr.number, sid, exc.message)
    if not linked:
        return queue_unlinked_check(github, repo, pr, changed)
    for sid in linked - set(wanted):  # those in `wanted` were linked with the head above
        if pr.head.sha:
            engine.link_pull_request(sid, repo, pr.number, head_sha=pr.head.sha, source="webhook")
    if pr.head.sha:
        reverify(ctx, repo, pr.head.sha, linked)
        catch_up_ci(ctx, repo, pr.head.sha, linked)
    apply_gate_policy(ctx, repo, pr.number, pr.base.ref, linked)
    if newly:
        backfill_reviews(ctx, repo, pr.number, newly)
    github.sync_checks(repo, pr.number)
    if github.has_status_comment(repo, pr.number):
        github.update_status_comment(repo, pr.number)
    return f"linked {sorted(linked)}"


def reverify(ctx: Context, repo: str, head: str, session_ids: set[str]) -> None:
    """Check every completed phase of the sessions again at the PR's head commit: the PR is
    the truth at merge time. Files the checkpoints read that did not change are not downloaded."""
    files = ctx.github.files_at(repo, head)
    for sid in sorted(session_ids):
        broken = ctx.engine.reverify(sid, files, head)
        if broken:
            log.info("%s at %s: phase(s) %s no longer pass", sid, head[:7], broken)


def gate_policy(ctx: Context, repo: str, base_ref: str, notes: list[str]) -> GatePolicyConfig | None:
    """The team's gate policy from the PR's base branch (a PR cannot weaken its own gate);
    what the checks must also say (a team the App may not read) is added to `notes`."""
    config = ctx.github.config(repo, base_ref)
    if config is None:
        return None
    policy = config.gates
    if policy.required_teams:
        policy = policy.model_copy(update={"team_members": {
            team: team_members(ctx, repo, team, notes) for team in policy.required_teams}})
    return policy


def team_members(ctx: Context, repo: str, team: str, notes: list[str]) -> list[str]:
    """The members of `org/slug`; nobody when GitHub does not know the team or will not say."""
    org, slug = team.split("/", 1)
    try:
        return ctx.github.team_members(repo, org, slug)
    except GitHubCallError as exc:
        if exc.kind == "permission":
            # The gate stays closed for this team, and says why, rather than failing the PR.
            log.error("cannot read the members of @%s for %s: %s", team, repo, exc)
            notes.append(f"The App may not read the members of @{team}, so no approval counts for that team "
                         f"yet: grant the App the {exc.permission} permission in its settings, then "
                         "comment `/agent-os refresh`.")
            return []
        if exc.status_code != 404:
            raise
        # Unknown, or invisible to the App: nobody's approval can stand for this team.
        log.warning("team %s not found (or the App lacks Members: read)", team)
        return []


def apply_gate_policy(ctx: Context, repo: str, number: int, base_ref: str, session_ids: set[str]) -> None:
    """Give each session the base branch's policy; the PR's checks show what stood in its way."""
    notes: list[str] = []
    policy = gate_policy(ctx, repo, base_ref, notes)
    for sid in session_ids:
        ctx.engine.set_gate_policy(sid, policy)
    ctx.github.set_notes(repo, number, notes)


def refresh(ctx: Context, repo: str, number: int, *, resend: bool = True, threads: bool = False) -> None:
    """Re-read the PR (head, base config, reviews; `threads`: review threads too) and bring its
    check runs up to date (`resend`: re-post every one, even those that look unchanged)."""
    sessions = set(ctx.engine.sessions_for_pull_request(repo, number))
    if not sessions:
        return
    pull = ctx.github.pull(repo, number)
    if not resend and pull.get("state", "open") != "open":
        return  # closed while we were away: nothing left to gate
    head = pull["head"]["sha"]
    for sid in sessions:
        ctx.engine.link_pull_request(sid, repo, number, head_sha=head, source="webhook")
    reverify(ctx, repo, head, sessions)
    catch_up_ci(ctx, repo, head, sessions)
    apply_gate_policy(ctx, repo, number, pull["base"]["ref"], sessions)
    if threads:  # before the reviews: an approval must not pass a gate a reopened thread holds
        backfill_threads(ctx, repo, number)
    backfill_reviews(ctx, repo, number, sessions)
    if resend:
        ctx.github.recheck(repo, head)
    ctx.github.sync_checks(repo, number)
