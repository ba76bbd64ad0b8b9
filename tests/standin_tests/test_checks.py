"""Check runs: githubkit round trips, latest-per-name listing, GitHub's validation."""

from __future__ import annotations

import httpx
import pytest
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestFailed

from .helpers import REPO, installation_token, signing_key


@pytest.fixture
def github(gh, credentials) -> GitHub:
    return GitHub(
        AppInstallationAuthStrategy(
            credentials.app_id, signing_key(credentials.private_key_pem), gh.installation_id
        ),
        base_url=gh.url,
        # githubkit's default token cache is process-wide; each stand-in issues its own.
        cache_strategy=MemCacheStrategy(),
    )


@pytest.fixture
def pr(gh):
    return gh.open_pull_request(REPO, author="dev", files={"src/x.py": "x = 1\n"}, send=False)


def test_githubkit_creates_updates_and_lists_a_check_run(gh, github, pr):
    created = github.rest.checks.create(
        "octo",
        "app",
        data={
            "name": "Agent OS",
            "head_sha": pr.head_sha,
            "status": "in_progress",
            "external_id": "session-1",
            "output": {"title": "Phase 1", "summary": "working"},
            "actions": [{"label": "Re-check", "description": "Recompute", "identifier": "recheck"}],
        },
    ).parsed_data
    assert created.status == "in_progress" and created.conclusion is None
    assert created.app.id == gh.app.id
    assert [p.number for p in created.pull_requests] == [pr.number]

    updated = github.rest.checks.update(
        "octo", "app", created.id, data={"conclusion": "action_required"}
    ).parsed_data
    assert (updated.status, updated.conclusion) == ("completed", "action_required")
    assert updated.completed_at is not None

    listed = github.rest.checks.list_for_ref("octo", "app", pr.head_sha).parsed_data
    assert [(r.id, r.external_id) for r in listed.check_runs] == [(created.id, "session-1")]
    fetched = github.rest.checks.get("octo", "app", created.id).parsed_data
    assert fetched.output.title == "Phase 1"

    run = gh.check_runs(REPO, pr.head_sha)["Agent OS"]
    assert run.conclusion == "action_required" and run.external_id == "session-1"


def test_listing_shows_the_latest_run_per_name_unless_filter_all(gh, github, pr):
    for _ in range(2):
        github.rest.checks.create("octo", "app", data={"name": "Agent OS", "head_sha": pr.head_sha})
    github.rest.checks.create("octo", "app", data={"name": "Agent OS / 1", "head_sha": pr.head_sha})
    latest = github.rest.checks.list_for_ref("octo", "app", pr.head_sha).parsed_data
    assert sorted(r.name for r in latest.check_runs) == ["Agent OS", "Agent OS / 1"]
    every = github.rest.checks.list_for_ref("octo", "app", "feature", filter_="all").parsed_data
    assert every.total_count == 3
    named = github.rest.checks.list_for_ref(
        "octo", "app", pr.head_sha, check_name="Agent OS / 1"
    ).parsed_data
    assert [r.name for r in named.check_runs] == ["Agent OS / 1"]


VALID = {"name": "Agent OS", "output": {"title": "t", "summary": "s"}}
ACTION = {"label": "Re-check", "description": "Recompute", "identifier": "recheck"}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": None}, "name"),
        ({"status": "running"}, "status"),
        ({"status": "completed"}, "conclusion"),
        ({"conclusion": "passed"}, "conclusion"),
        ({"output": {"title": "t"}}, "output.summary"),
        ({"output": {"title": "t", "summary": "x" * 65536}}, "output.summary"),
        ({"actions": [ACTION] * 4}, "actions"),
        ({"actions": [{**ACTION, "label": "L" * 21}]}, "actions[0].label"),
        ({"actions": [{**ACTION, "description": "D" * 41}]}, "actions[0].description"),
        ({"actions": [{**ACTION, "identifier": "I" * 21}]}, "actions[0].identifier"),
    ],
)
def test_invalid_check_runs_get_githubs_422(gh, credentials, pr, patch, field):
    body = {**VALID, "head_sha": pr.head_sha, **patch}
    body = {k: v for k, v in body.items() if v is not None}
    token = installation_token(gh, credentials.private_key_pem)
    response = httpx.post(
        f"{gh.url}/repos/{REPO}/check-runs", json=body, headers={"Authorization": f"token {token}"}
    )
    assert response.status_code == 422
    error = response.json()
    assert error["message"] == "Validation Failed"
    assert error["documentation_url"].startswith("https://docs.github.com/")
    assert field in [e["field"] for e in error["errors"]]
    assert gh.all_check_runs() == []


def test_the_limits_themselves_are_accepted(gh, github, pr):
    data = {
        "name": "Agent OS",
        "head_sha": pr.head_sha,
        "status": "completed",
        "conclusion": "success",
        "output": {"title": "t", "summary": "x" * 65535},
        "actions": [
            {"label": "L" * 20, "description": "D" * 40, "identifier": f"i{n}"} for n in range(3)
        ],
    }
    assert github.rest.checks.create("octo", "app", data=data).status_code == 201


def test_unknown_commit_and_invalid_update_are_refused(gh, github, credentials, pr):
    with pytest.raises(RequestFailed) as unknown:
        github.rest.checks.create("octo", "app", data={"name": "x", "head_sha": "f" * 40})
    assert unknown.value.response.status_code == 422
    run = github.rest.checks.create("octo", "app", data={"name": "x", "head_sha": pr.head_sha})
    # githubkit refuses this body itself, so send it raw: GitHub must refuse it too.
    token = installation_token(gh, credentials.private_key_pem)
    response = httpx.patch(
        f"{gh.url}/repos/{REPO}/check-runs/{run.parsed_data.id}",
        json={"status": "completed"},
        headers={"Authorization": f"token {token}"},
    )
    assert response.status_code == 422
    assert gh.check_runs(REPO, pr.head_sha)["x"].status == "queued"


def test_comments_contents_and_pull_reads_through_githubkit(gh, github, pr):
    comment = github.rest.issues.create_comment(
        "octo", "app", pr.number, data={"body": "<!-- agent-os -->status"}
    ).parsed_data
    assert comment.user.login == gh.bot_login and comment.user.type == "Bot"
    github.rest.issues.update_comment("octo", "app", comment.id, data={"body": "edited"})
    assert [c.body for c in gh.comments(REPO, pr.number)] == ["edited"]

    config = github.rest.repos.get_content("octo", "app", ".agent-os/config.yaml", ref="main")
    import base64

    assert base64.b64decode(config.parsed_data.content).decode().startswith("gates:")
    with pytest.raises(RequestFailed) as missing:
        github.rest.repos.get_content("octo", "app", "nope.yaml", ref="main")
    assert missing.value.response.status_code == 404

    pull = github.rest.pulls.get("octo", "app", pr.number).parsed_data
    assert (pull.user.login, pull.head.sha, pull.base.ref) == ("dev", pr.head_sha, "main")
    files = github.rest.pulls.list_files("octo", "app", pr.number).parsed_data
    assert [(f.filename, f.status) for f in files] == [("src/x.py", "added")]
    gh.submit_review(REPO, pr.number, "rev", "changes_requested", send=False)
    reviews = github.rest.pulls.list_reviews("octo", "app", pr.number).parsed_data
    assert [(r.user.login, r.state, r.commit_id) for r in reviews] == [
        ("rev", "CHANGES_REQUESTED", pr.head_sha)
    ]
    perm = github.rest.repos.get_collaborator_permission_level("octo", "app", "reader")
    assert (perm.parsed_data.permission, perm.parsed_data.role_name) == ("read", "read")
