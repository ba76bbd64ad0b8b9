"""`/agent-os <command>` in a PR comment, from people with write access."""

from __future__ import annotations

import re

from .. import checks
from ..events import Event, Issue, IssueComment
from ..routing import Router
from .context import Context, repo_of
from .pulls import refresh

router: Router[Context] = Router()

COMMAND = re.compile(r"^\s*/agent-os(?=\s|$)(?:\s+(\S+))?", re.IGNORECASE)  # not /agent-osx
WRITE_ROLES = {"admin", "maintain", "write"}


def parse_command(body: str | None) -> str | None:
    """The `/agent-os` command word of a comment ("" for a bare `/agent-os`), or None."""
    match = COMMAND.match(body or "")
    if match is None:
        return None
    return (match.group(1) or "").lower()


@router.on("issue_comment", "created")
def on_comment(event: Event, ctx: Context) -> str:
    """Run the command (status, refresh, help), or say why not."""
    issue = event.part(Issue, "issue")
    comment = event.part(IssueComment, "comment")
    command = parse_command(comment.body)
    if issue.pull_request is None or command is None:
        return "ignored: not a command on a pull request"
    via, user = comment.performed_via_github_app, comment.user
    if (via and via.id == ctx.settings.app_id) or (user and user.type == "Bot"):
        return "ignored: a bot's comment"
    github = ctx.github
    repo, number = repo_of(event), issue.number
    login = user.login if user else ""
    if not can_write(ctx, repo, login):
        github.reply(repo, number, f"@{login} Sorry, only people with write access to this "
                     "repository can run Agent OS commands.", key=event.delivery_id)
        return f"refused {command!r} from {login}"
    if command == "status":
        github.update_status_comment(repo, number)
    elif command == "refresh":
        refresh(ctx, repo, number)
        if github.has_status_comment(repo, number):
            github.update_status_comment(repo, number)
    else:
        prefix = "" if command in ("help", "") else f"Unknown command `{command[:40]}`.\n\n"
        github.reply(repo, number, prefix + checks.HELP, key=event.delivery_id)
    return f"command {command!r} from {login}"


def can_write(ctx: Context, repo: str, login: str) -> bool:
    """Whether `login` may push to the repository (admin, maintain or write)."""
    if not login:
        return False
    data = ctx.github.permission(repo, login)
    if data is None:
        return False
    return data.get("permission") in ("admin", "write") or data.get("role_name") in WRITE_ROLES
