"""What a failed GitHub call means, as GitHub documents it: retry when, or ask for what. Pure.

- Primary rate limit (`x-ratelimit-remaining: 0`): wait until `x-ratelimit-reset`.
- `retry-after` (a secondary rate limit that says when): wait that long.
- Secondary rate limit without it (403/429 saying so): wait at least a minute, then
  exponentially longer on each further failure.
- 403 "Resource not accessible by integration": the App lacks a permission. Retrying cannot
  help; the error says which permission to grant (GitHub's `x-accepted-github-permissions`
  header, else what the endpoint needs).
- 5xx, timeouts, lost connections, 401 (an installation token revoked early): retry.

https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately
https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#resource-not-accessible
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

Kind = Literal["rate_limit", "secondary_rate_limit", "permission", "server", "network", "client"]

SECONDARY_WAIT = 60.0  # "wait for at least one minute before retrying"
SECONDARY_MAX = 32 * 60.0

# What an endpoint needs, for when GitHub's answer does not say.
_NEEDS = [
    (re.compile(r"^/orgs/[^/]+/teams/[^/]+/members"), "Members: read (an organization permission)"),
    (re.compile(r"^/repos/[^/]+/[^/]+/contents"), "Contents: read"),
    (re.compile(r"^/repos/[^/]+/[^/]+/(check-runs|commits/[^/]+/check-runs)"), "Checks: read and write"),
    (re.compile(r"^/repos/[^/]+/[^/]+/issues"), "Pull requests: read and write"),
    (re.compile(r"^/repos/[^/]+/[^/]+/pulls"), "Pull requests: read"),
    (re.compile(r"^/repos/[^/]+/[^/]+/collaborators"), "Metadata: read"),
]


class GitHubCallError(Exception):
    """A REST call failed. `transient`: a later retry can succeed (not before `retry_at`);
    `kind` says why; `permission` names what to grant when the App lacks it."""

    def __init__(self, message: str, *, status_code: int | None = None, transient: bool = False,
                 retry_at: float | None = None, kind: Kind = "client", permission: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.transient = transient
        self.retry_at = retry_at
        self.kind = kind
        self.permission = permission

    @property
    def rate_limited(self) -> bool:
        """A rate limit: it covers every call of the installation, not just this one."""
        return self.kind in ("rate_limit", "secondary_rate_limit")


def retry_at_from_headers(headers: Any, status_code: int, clock: float | None = None) -> float | None:
    """When GitHub says to try again (epoch seconds), from `Retry-After` or `x-ratelimit-reset`."""
    clock = time.time() if clock is None else clock
    after = headers.get("retry-after")
    if after is not None:
        try:
            return clock + max(0.0, float(after))
        except ValueError:
            return None
    if status_code in (403, 429) and headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset")
        try:
            return max(clock, float(reset)) if reset is not None else None
        except ValueError:
            return None
    return None


def permission_needed(path: str, headers: Any) -> str:
    """The permission a 403 asks for: GitHub's header (`members=read`) if sent, else the endpoint's."""
    accepted = headers.get("x-accepted-github-permissions")
    if accepted:
        first = accepted.split(";")[0]
        return ", ".join(f"{n.strip().replace('_', ' ').capitalize()}: {lvl.strip()}"
                         for n, _, lvl in (p.partition("=") for p in first.split(",")) if n.strip())
    return next((needs for pattern, needs in _NEEDS if pattern.match(path)), "the permission this endpoint needs")


def classify(what: str, path: str, status: int, headers: Any, message: str,
             clock: float | None = None) -> GitHubCallError:
    """The error for GitHub's answer `status` to `what` (e.g. "GET /repos/o/r/pulls/1")."""
    clock = time.time() if clock is None else clock
    text = f"{what}: HTTP {status} {message}".strip()
    retry_at = retry_at_from_headers(headers, status, clock)
    if status in (403, 429):
        if retry_at is not None:  # GitHub said when: `retry-after`, or the primary limit's reset
            return GitHubCallError(text, status_code=status, transient=True, retry_at=retry_at, kind="rate_limit")
        if status == 429 or "rate limit" in message.lower():
            return GitHubCallError(text, status_code=status, transient=True, kind="secondary_rate_limit",
                                   retry_at=clock + SECONDARY_WAIT)
        needs = permission_needed(path, headers)
        return GitHubCallError(
            f"{text} — the App lacks the {needs} permission: grant it in the App's settings "
            "(Permissions & events), then approve the change on the installation.",
            status_code=status, kind="permission", permission=needs)
    if status >= 500:
        return GitHubCallError(text, status_code=status, transient=True, kind="server")
    # 401: an installation token revoked early; the next attempt asks for a fresh one.
    return GitHubCallError(text, status_code=status, transient=status == 401, retry_at=retry_at)


def retry_time(exc: GitHubCallError, attempts: int, *, base: float, cap: float, clock: float | None = None) -> float:
    """When to try again after `attempts` failures: exponential backoff from `base` (at most
    `cap`), never before GitHub's `retry_at`; secondary rate limits start at a minute and double."""
    clock = time.time() if clock is None else clock
    backoff = min(cap, base * 2 ** (attempts - 1))
    if exc.kind == "secondary_rate_limit":
        backoff = max(backoff, min(SECONDARY_MAX, SECONDARY_WAIT * 2 ** (attempts - 1)))
    return max(exc.retry_at or 0.0, clock + backoff)
