"""Injected faults fire in order, carry GitHub's headers, and are logged."""

from __future__ import annotations

import httpx
import pytest

from standin import rate_limit_headers, retry_after_headers

from .helpers import REPO, installation_token


def test_faults_are_consumed_in_order_then_service_resumes(gh, credentials):
    token = installation_token(gh, credentials.private_key_pem)
    headers = {"Authorization": f"token {token}"}
    gh.inject("GET", "/repos/*/contents/*", status=500)
    gh.inject("*", "/repos/*", status=429, headers=retry_after_headers(1))
    gh.inject("GET", "/repos/*/contents/*", status=403, headers=rate_limit_headers(5))
    url = f"{gh.url}/repos/{REPO}/contents/README.md"

    first, second, third, fourth = (httpx.get(url, headers=headers) for _ in range(4))
    assert first.status_code == 500
    assert second.status_code == 429 and second.headers["retry-after"] == "1"
    assert third.status_code == 403 and third.headers["x-ratelimit-remaining"] == "0"
    assert int(third.headers["x-ratelimit-reset"]) > 0
    assert "rate limit" in third.json()["message"]
    assert fourth.status_code == 200
    log = gh.requests("GET", "/repos/*/contents/*")
    assert [(r.status, r.injected) for r in log] == [
        (500, True),
        (429, True),
        (403, True),
        (200, False),
    ]
    assert gh.faults.pending() == []


def test_a_fault_with_times_fires_that_often_and_only_on_matching_paths(gh, credentials):
    token = installation_token(gh, credentials.private_key_pem)
    headers = {"Authorization": f"token {token}"}
    gh.inject("POST", "/repos/*/check-runs", status=502, times=2)
    assert httpx.get(f"{gh.url}/repos/{REPO}/contents/README.md", headers=headers).is_success
    pr = gh.open_pull_request(REPO, author="dev", send=False)
    body = {"name": "Agent OS", "head_sha": pr.head_sha}
    codes = [
        httpx.post(f"{gh.url}/repos/{REPO}/check-runs", json=body, headers=headers).status_code
        for _ in range(3)
    ]
    assert codes == [502, 502, 201]
    assert len(gh.all_check_runs(REPO)) == 1


def test_a_slow_answer_times_the_client_out(gh, credentials):
    token = installation_token(gh, credentials.private_key_pem)
    gh.inject("GET", "/repos/*/pulls/*", status=None, delay=1.0)
    gh.open_pull_request(REPO, author="dev", send=False)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(
            f"{gh.url}/repos/{REPO}/pulls/1",
            headers={"Authorization": f"token {token}"},
            timeout=0.2,
        )
