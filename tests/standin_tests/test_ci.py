"""CI on the stand-in: GitHub Actions' check runs on a commit, sent as GitHub sends them to
every App with the Checks permission (check_run created and completed, check_suite completed),
and listed by the REST API with their own App."""

from __future__ import annotations

import httpx
import pytest
from githubkit.webhooks import parse

from standin.render import CI_APP

from .conformance import Checker
from .helpers import REPO, installation_token


def test_a_ci_run_is_created_then_completed_and_its_suite_completes(gh, credentials):
    pr = gh.open_pull_request(REPO, author="dev", files={"app.py": "print(1)\n"})
    test = gh.ci_check_run(REPO, pr.head_sha, "test")
    lint = gh.ci_check_run(REPO, pr.head_sha, "lint")
    gh.ci_conclude(REPO, test.id, "failure")
    gh.ci_conclude(REPO, lint.id, "success")
    ci = [d for d in gh.deliveries if d.event != "pull_request"]
    assert [(d.event, d.payload["action"]) for d in ci] == [
        ("check_run", "created"), ("check_run", "created"), ("check_run", "completed"),
        ("check_run", "completed"), ("check_suite", "completed")]
    checker = Checker()
    for delivery in ci:
        assert checker.webhook(delivery.event, delivery.payload) == []
        parse(delivery.event, delivery.body)  # githubkit's models accept it too
    created, completed, suite = ci[0].payload, ci[2].payload, ci[4].payload
    assert created["check_run"]["status"] == "in_progress" and created["check_run"]["conclusion"] is None
    assert completed["check_run"]["conclusion"] == "failure" and completed["check_run"]["name"] == "test"
    assert completed["check_run"]["app"]["id"] == CI_APP.id != gh.app.id
    assert completed["check_run"]["head_sha"] == pr.head_sha
    assert [p["number"] for p in completed["check_run"]["pull_requests"]] == [pr.number]
    assert suite["check_suite"]["conclusion"] == "failure"  # the worst run decides the suite
    assert suite["check_suite"]["app"]["slug"] == "github-actions"
    assert suite["check_suite"]["head_commit"]["id"] == pr.head_sha

    token = installation_token(gh, credentials.private_key_pem)
    headers = {"Authorization": f"token {token}"}
    listed = httpx.get(f"{gh.url}/repos/{REPO}/commits/{pr.head_sha}/check-runs", headers=headers).json()
    by_name = {r["name"]: r for r in listed["check_runs"]}
    assert by_name["test"]["app"]["slug"] == "github-actions" and by_name["lint"]["conclusion"] == "success"
    # Another App's run is not ours to change.
    refused = httpx.patch(f"{gh.url}/repos/{REPO}/check-runs/{test.id}", headers=headers,
                          json={"status": "completed", "conclusion": "success"})
    assert refused.status_code == 403
    assert gh.check_runs(REPO, pr.head_sha)["test"].conclusion == "failure"


def test_a_run_created_with_its_conclusion_sends_both_deliveries(gh):
    pr = gh.open_pull_request(REPO, author="dev", files={"app.py": "print(2)\n"})
    gh.ci_check_run(REPO, pr.head_sha, "test", conclusion="success")
    assert [(d.event, d.payload["action"]) for d in gh.deliveries[1:]] == [
        ("check_run", "created"), ("check_run", "completed"), ("check_suite", "completed")]


def test_ci_scenarios_refuse_what_github_would_not_do(gh):
    pr = gh.open_pull_request(REPO, author="dev", files={"app.py": "print(3)\n"})
    with pytest.raises(ValueError):
        gh.ci_check_run(REPO, "f" * 40, "test")
    run = gh.ci_check_run(REPO, pr.head_sha, "test")
    with pytest.raises(ValueError):
        gh.ci_conclude(REPO, run.id, "exploded")


def test_a_commit_status_is_sent_as_githubs_status_event(gh):
    pr = gh.open_pull_request(REPO, author="dev", files={"app.py": "print(4)\n"})
    gh.commit_status(REPO, pr.head_sha, "ci/test", "pending", target_url="https://ci.example/b/1")
    gh.commit_status(REPO, pr.head_sha, "ci/test", "success", target_url="https://ci.example/b/1",
                     description="42 tests passed")
    sent = [d for d in gh.deliveries if d.event == "status"]
    assert [d.payload["state"] for d in sent] == ["pending", "success"]
    checker = Checker()
    for delivery in sent:
        assert checker.webhook("status", delivery.payload) == []
        parse("status", delivery.body)
    last = sent[-1].payload
    assert (last["sha"], last["context"], last["target_url"]) == (pr.head_sha, "ci/test", "https://ci.example/b/1")
    assert last["commit"]["sha"] == pr.head_sha and [b["name"] for b in last["branches"]] == ["feature"]
    with pytest.raises(ValueError):
        gh.commit_status(REPO, pr.head_sha, "ci/test", "exploded")
