"""Pull request handlers against a recording fake of GitHub: which sessions a PR links, the
base branch's policy, teams, reviews that came before the link. (End to end: test_flow.)"""

from __future__ import annotations

import pytest
from botfake import REPO, harness, pr_event, review_event, review_json
from botkit import run_to_gate, spec_files

from bot.github import GitHubCallError


@pytest.fixture
def hub(tmp_path):
    h = harness(tmp_path)
    yield h
    h.engine.close()


def test_a_body_line_links_the_session_and_queues_its_checks(hub):
    sid = hub.start()
    outcome = hub.deliver(pr_event("opened", 7, body=f"Spec\n\nAgent-OS-Session: {sid.upper()}\n", author="dev"))
    assert outcome == f"linked ['{sid}']"
    state = hub.engine.state(sid)
    assert [(p.repository, p.number, p.head_sha) for p in state.pull_requests] == [(REPO, 7, "a" * 40)]
    assert state.author == "dev"
    assert hub.github.writes() == [("sync_checks", REPO, 7)]


def test_spec_files_in_the_branch_link_the_session(hub):
    sid = hub.start()
    hub.github.files[3] = [*spec_files(hub.engine.state(sid).spec_dir), "src/app.py"]
    hub.deliver(pr_event("opened", 3, body="no marker here"))
    assert hub.engine.sessions_for_pull_request(REPO, 3) == [sid]


def test_an_unknown_or_foreign_session_id_links_nothing_and_the_pr_gets_the_unlinked_check(hub):
    outcome = hub.deliver(pr_event("opened", 4, body="Agent-OS-Session: ses_nosuchsession"))
    assert outcome.startswith("no session linked")
    assert hub.github.writes() == [("sync_unlinked", REPO, 4, "a" * 40, ())]


def test_an_edit_does_not_unlink_and_other_actions_are_ignored(hub):
    sid = hub.start()
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))
    hub.deliver(pr_event("edited", 1, body="the line is gone"))
    assert hub.engine.sessions_for_pull_request(REPO, 1) == [sid]
    assert hub.deliver(pr_event("labeled", 1)) == "ignored: pull_request.labeled"
    assert hub.github.called("changed_files") == [("changed_files", REPO, 1)]  # an edit lists no files


def test_the_base_branch_policy_applies_and_the_pr_cannot_weaken_it(hub):
    hub.github.config_yaml = "gates:\n  approvals: 2\n"
    sid = hub.start()
    hub.github.files[1] = [".agent-os/config.yaml"]  # the PR's own copy says 1: never read
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}", base="release"))
    assert ("config", REPO, "release") in hub.github.calls
    run_to_gate(hub.engine, sid)
    hub.deliver(review_event(1, "rev", "approved"))
    assert hub.engine.state(sid).status == "active"
    assert hub.engine.gate(sid).required_approvals == 2
    hub.deliver(review_event(1, "rev2", "approved"))
    assert hub.engine.state(sid).status == "complete"


def test_a_required_team_is_read_with_the_policy(hub):
    hub.github.config_yaml = "gates:\n  approvals: 1\n  required_teams: [acme/security]\n"
    hub.github.teams["acme/security"] = ["sec1"]
    sid = hub.start()
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))
    run_to_gate(hub.engine, sid)
    hub.deliver(review_event(1, "rev", "approved"))
    assert "waiting for a member of @acme/security, a required team" in hub.engine.gate(sid).reasons
    hub.deliver(review_event(1, "sec1", "approved"))
    assert hub.engine.state(sid).status == "complete"


def test_an_unknown_team_keeps_the_gate_closed(hub):
    hub.github.config_yaml = "gates:\n  approvals: 1\n  required_teams: [acme/ghosts]\n"
    sid = hub.start()
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))
    run_to_gate(hub.engine, sid)
    hub.deliver(review_event(1, "rev", "approved"))
    assert hub.engine.state(sid).status == "active"


def test_a_server_error_reading_a_team_fails_the_delivery_for_a_retry(hub):
    hub.github.config_yaml = "gates:\n  required_teams: [acme/security]\n"
    hub.github.teams["acme/security"] = GitHubCallError("HTTP 502", status_code=502, transient=True)
    sid = hub.start()
    with pytest.raises(GitHubCallError):
        hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))


def test_reviews_made_before_the_link_are_read_back_once(hub):
    sid = hub.start()
    run_to_gate(hub.engine, sid)
    approval = review_json("rev", "APPROVED")
    hub.github.review_list[1] = [approval, {**review_json("x", "PENDING")}]
    hub.deliver(review_event(1, "rev", "approved", review=approval))  # before the link: nowhere to go
    assert hub.engine.state(sid).status == "active"
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))
    assert hub.engine.state(sid).status == "complete"
    hub.deliver(review_event(1, "rev", "approved", review=approval))  # the same review again
    assert [a.reviewer for a in hub.engine.state(sid).phases[5].gate.approvals] == ["rev"]


def test_a_push_moves_the_head_and_stale_approvals_lapse(hub):
    hub.github.config_yaml = "gates:\n  approvals: 1\n  dismiss_stale_on_push: true\n"
    sid = hub.start()
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}", head="a" * 40))
    run_to_gate(hub.engine, sid)
    hub.deliver(pr_event("synchronize", 1, body=f"Agent-OS-Session: {sid}", head="c" * 40))
    assert hub.engine.state(sid).pull_requests[0].head_sha == "c" * 40
    hub.deliver(review_event(1, "rev", "approved", commit_id="a" * 40))  # approves the old head
    assert hub.engine.state(sid).status == "active"
    hub.deliver(review_event(1, "rev", "approved", commit_id="c" * 40))
    assert hub.engine.state(sid).status == "complete"


def test_a_linked_pr_with_a_status_comment_gets_it_updated(hub):
    sid = hub.start()
    hub.github.status_comments.add((REPO, 1))
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))
    assert hub.github.writes() == [("sync_checks", REPO, 1), ("update_status_comment", REPO, 1)]


def test_a_team_the_app_may_not_read_keeps_the_gate_closed_and_says_what_to_grant(hub):
    hub.github.config_yaml = "gates:\n  approvals: 1\n  required_teams: [acme/security]\n"
    hub.github.teams["acme/security"] = GitHubCallError(
        "GET /orgs/acme/teams/security/members: HTTP 403", status_code=403, kind="permission",
        permission="Members: read")
    sid = hub.start()
    assert hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}")) == f"linked ['{sid}']"
    [note] = hub.github.notes[1]
    assert "@acme/security" in note and "Members: read" in note
    run_to_gate(hub.engine, sid)
    hub.deliver(review_event(1, "rev", "approved"))
    assert hub.engine.state(sid).status == "active"

    hub.github.teams["acme/security"] = ["rev"]  # granted, then refreshed
    hub.github.pulls[1] = {"number": 1, "state": "open", "head": {"sha": "a" * 40}, "base": {"ref": "main"}}
    hub.handlers.refresh(REPO, 1)
    assert hub.github.notes[1] == []
