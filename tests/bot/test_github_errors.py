"""What a failed GitHub call means, per GitHub's documentation: when to retry, or what to grant."""

from __future__ import annotations

import pytest

from bot.github_errors import SECONDARY_WAIT, classify, permission_needed, retry_time

NOW = 1_000_000.0
TEAM = "/orgs/acme/teams/security/members"
PERMISSION_403 = "Resource not accessible by integration"


def err(status: int, message: str = "", path: str = "/repos/acme/webapp/check-runs", **headers: str):
    return classify(f"POST {path}", path, status, {k.replace("_", "-"): v for k, v in headers.items()}, message,
                    clock=NOW)


def test_a_primary_rate_limit_waits_for_the_reset():
    e = err(403, "API rate limit exceeded", x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) + 900))
    assert (e.kind, e.transient, e.retry_at, e.rate_limited) == ("rate_limit", True, NOW + 900, True)


def test_retry_after_is_obeyed_as_given():
    e = err(429, "slow down", retry_after="5", x_ratelimit_remaining="4000")
    assert (e.kind, e.retry_at) == ("rate_limit", NOW + 5)
    assert retry_time(e, 1, base=2, cap=900, clock=NOW) == NOW + 5


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_without_retry_after_waits_a_minute_then_doubles(status):
    e = err(status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            x_ratelimit_remaining="4000")
    assert (e.kind, e.transient, e.rate_limited, e.retry_at) == ("secondary_rate_limit", True, True, NOW + 60)
    waits = [retry_time(e, n, base=0.05, cap=0.3, clock=NOW) - NOW for n in (1, 2, 3, 4)]
    assert waits == [SECONDARY_WAIT, 120, 240, 480]


def test_a_missing_permission_is_not_retried_and_says_what_to_grant():
    e = err(403, PERMISSION_403, path=TEAM, x_accepted_github_permissions="members=read")
    assert (e.kind, e.transient, e.rate_limited, e.permission) == ("permission", False, False, "Members: read")
    assert "grant it in the App's settings" in str(e) and "Members: read" in str(e)


def test_without_githubs_header_the_endpoint_names_the_permission():
    assert permission_needed(TEAM, {}) == "Members: read (an organization permission)"
    assert permission_needed("/repos/a/b/contents/.agent-os/config.yaml", {}) == "Contents: read"
    assert permission_needed("/repos/a/b/issues/3/comments", {}) == "Pull requests: read and write"
    assert permission_needed("/repos/a/b/check-runs", {"x-accepted-github-permissions": "checks=write"}) == \
        "Checks: write"


@pytest.mark.parametrize("status,transient", [(500, True), (502, True), (401, True), (404, False), (422, False)])
def test_server_errors_and_revoked_tokens_are_retried_other_client_errors_are_not(status, transient):
    e = err(status, "x")
    assert (e.transient, e.rate_limited) == (transient, False)
    if transient:
        assert retry_time(e, 3, base=2, cap=5, clock=NOW) == NOW + 5  # 2 * 2**2 capped at 5
