"""The `Agent OS` check of a pull request no workflow session is linked to.

Teams mark `Agent OS` as a required check; were it missing on PRs without a session
(Dependabot's, people's), those would wait forever. So every PR gets one: `success`
("no workflow session linked"), unless the base branch's `.agent-os/config.yaml` says
`require_session_for: ["src/**"]` and the PR touches such a path: then `action_required`,
saying how to link a session. The policy comes from the base branch, so a PR cannot
lift its own requirement.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agent_os.globs import matching

from .checks import OVERALL, CheckSpec

if TYPE_CHECKING:
    from .events import PullRequest
    from .port import GitHubPort

log = logging.getLogger(__name__)

MAX_LISTED = 20
HOW_TO_LINK = ("Start the work through a workflow (`start_workflow`), then link the session: the line "
               "`Agent-OS-Session: <session id>` in this PR's description, or the MCP tool "
               "`link_pull_request`. A PR that adds the session's spec files is linked by itself.")


def unlinked_check(required_by: list[str], *, public_url: str = "") -> CheckSpec:
    """The overall check of a PR with no session: success, or action_required when
    `required_by` (the PR's paths the base policy covers) is not empty."""
    if not required_by:
        return CheckSpec(
            name=OVERALL, status="completed", conclusion="success", title="No workflow session linked",
            summary="No workflow session is linked to this pull request, and the base branch's policy "
                    "(`require_session_for` in `.agent-os/config.yaml`) does not ask for one.",
            text="", external_id="", details_url=None)
    listed = "\n".join(f"- `{p}`" for p in required_by[:MAX_LISTED])
    more = len(required_by) - MAX_LISTED
    if more > 0:
        listed += f"\n- … and {more} more"
    return CheckSpec(
        name=OVERALL, status="completed", conclusion="action_required",
        title="A workflow session is required for these paths",
        summary=f"The base branch's policy (`require_session_for` in `.agent-os/config.yaml`) asks for a "
                f"workflow session on pull requests touching these paths, and none is linked:\n\n{listed}\n\n"
                + HOW_TO_LINK,
        text="", external_id="", details_url=None)


def queue_unlinked_check(github: GitHubPort, repo: str, pr: PullRequest, changed: list[str] | None = None) -> str:
    """Queue the overall check of a PR no session is linked to; returns what was done, for logs."""
    if not pr.head.sha:
        return "no session linked"
    config = github.config(repo, pr.base.ref)
    patterns = config.require_session_for if config else []
    required: list[str] = []
    if patterns:
        if changed is None:
            changed = github.changed_files(repo, pr.number)
        required = matching(patterns, changed)
    github.sync_unlinked(repo, pr.number, pr.head.sha, required)
    return "no session linked; " + (f"a session is required ({len(required)} path(s))" if required
                                    else "Agent OS passes")
