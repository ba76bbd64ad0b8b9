"""Tokens limited to repositories: what a call on `/mcp` may touch.

`agent-os token create NAME --repo acme/webapp --repo 'acme-labs/*'` makes a token whose
holder may start, read and complete sessions of those repositories only; the verifier
(auth.py) carries the limits as `repo:` scopes. Calls without a token (stdio, the door's
own process) are not limited: the team server checks the door's calls on its side.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token

from agent_os.errors import Refused
from agent_os.tokens import repository_allowed


def limits() -> list[str] | None:
    """The repositories the calling token may act in (None: no limit)."""
    token = get_access_token()
    if token is None:
        return None
    scoped = [s.removeprefix("repo:") for s in token.scopes if s.startswith("repo:")]
    return scoped or None


def require(repository: str | None, what: str) -> None:
    """Refuse unless the calling token may act in `repository`."""
    allowed = limits()
    if not repository_allowed(allowed, repository):
        where = repository or "no repository yet"
        raise Refused(f"This token is limited to {', '.join(allowed or [])}; {what} is in {where}.",
                      hint="Use a token for that repository (`agent-os token create NAME --repo OWNER/NAME`).")


def check_session(engine: Any, session_id: str) -> None:
    """Refuse unless the calling token may act in the session's repository."""
    if limits() is not None:
        require(engine.state(session_id).repository, f"session {session_id}")


def start_repository(repository: str | None) -> str | None:
    """The repository a new session belongs to: the door's, else the token's only one."""
    allowed = limits()
    if allowed is None:
        return repository
    if repository is None:
        concrete = [r for r in allowed if not r.endswith("/*")]
        if len(allowed) == 1 and concrete:
            return concrete[0]
        raise Refused(f"This token is limited to {', '.join(allowed)}; say which repository the session is for.",
                      hint="Start it through the door in a clone of that repository (`agent-os mcp --server URL`).")
    require(repository, "the repository of this clone")
    return repository


def call_repository(repository: str | None) -> str | None:
    """The repository a call is about, for its workflows and standards: the door's (if the
    token may act there), else the token's only repository, else none (shipped only)."""
    allowed = limits()
    if repository:
        require(repository, "the repository of this clone")
        return repository
    concrete = [r for r in allowed or [] if not r.endswith("/*")]
    return concrete[0] if allowed is not None and len(allowed) == 1 and concrete else None
