"""A whole PR-gated spec session: linking, check runs, gates, reviews, over real HTTP."""

from __future__ import annotations

from botkit import REPO, run_to_gate, spec_files

PHASES = ["0 Context gathering", "1 Requirements", "2 Technical design", "3 Task breakdown",
          "4 Implementation guidance", "5 Team review"]


def pr_at_gate(env, gates: str = "approvals: 1\n"):
    """A base branch with `gates` as its policy, and a linked PR whose session waits at its gate."""
    config = "gates:\n" + "".join(f"  {line}\n" for line in gates.splitlines())
    env.gh.set_files(REPO, {".agent-os/config.yaml": config})
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    run_to_gate(env.engine, sid)
    return sid, pr


def names(prefix="Agent OS / "):
    return [prefix + p for p in PHASES]


def test_pr_body_links_session_and_phases_show_as_checks(env):
    sid = env.engine.start("spec_creation_v1", "user auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Spec for auth\n\nAgent-OS-Session: {sid}\n")
    env.drain()
    state = env.engine.state(sid)
    assert [(p.repository, p.number) for p in state.pull_requests] == [(REPO, pr.number)]
    assert state.author == "dev"
    checks = env.checks(pr.head_sha)
    assert checks[names()[0]] == ("in_progress", None)
    assert all(checks[n] == ("queued", None) for n in names()[1:])
    assert checks["Agent OS"] == ("in_progress", None)
    run = env.gh.check_runs(REPO, pr.head_sha)["Agent OS / 0 Context gathering"]
    assert run.external_id == f"{sid}:0"
    assert run.details_url == f"http://agent-os.test/sessions/{sid}"


def test_gate_waits_for_a_reviewer_not_the_author(env):
    sid = env.engine.start("spec_creation_v1", "user auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    env.drain()
    run_to_gate(env.engine, sid)
    env.drain()
    checks = env.checks(pr.head_sha)
    assert all(checks[n] == ("completed", "success") for n in names()[:5])
    assert checks["Agent OS / 5 Team review"] == ("completed", "action_required")
    assert checks["Agent OS"] == ("completed", "action_required")
    # The check says what the gate needs, in the engine's own words.
    summary = env.gh.check_runs(REPO, pr.head_sha)["Agent OS / 5 Team review"].output["summary"]
    assert env.engine.gate(sid).policy in summary and "Needs 1 approval (not from the author" in summary

    env.gh.submit_review(REPO, pr.number, "dev", "approved")  # the author: ignored
    env.drain()
    assert env.engine.state(sid).status == "active"
    assert env.checks(pr.head_sha)["Agent OS"] == ("completed", "action_required")

    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    assert env.engine.state(sid).status == "complete"
    checks = env.checks(pr.head_sha)
    assert checks["Agent OS / 5 Team review"] == ("completed", "success")
    assert checks["Agent OS"] == ("completed", "success")


def test_changes_requested_blocks_until_that_reviewer_approves(env):
    sid, pr = pr_at_gate(env)
    env.gh.submit_review(REPO, pr.number, "rev2", "changes_requested")
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    gate = env.engine.gate(sid)
    assert not gate.satisfied and gate.blocking == ["rev2"]
    env.gh.submit_review(REPO, pr.number, "rev2", "approved")
    env.drain()
    assert env.engine.state(sid).status == "complete"


def test_base_branch_config_sets_the_policy_and_the_pr_cannot_weaken_it(env):
    env.gh.set_files(REPO, {".agent-os/config.yaml": "gates:\n  approvals: 2\n"})
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}",
                                  files={".agent-os/config.yaml": "gates:\n  approvals: 1\n"})
    run_to_gate(env.engine, sid)
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    assert env.engine.state(sid).status == "active"
    assert env.engine.gate(sid).required_approvals == 2
    env.gh.submit_review(REPO, pr.number, "rev2", "approved")
    env.drain()
    assert env.engine.state(sid).status == "complete"


def test_spec_files_in_the_branch_link_the_session(env):
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    spec_dir = env.engine.state(sid).spec_dir
    pr = env.gh.open_pull_request(REPO, author="dev", body="no marker here", files=spec_files(spec_dir))
    env.drain()
    assert env.engine.sessions_for_pull_request(REPO, pr.number) == [sid]
    assert "Agent OS" in env.checks(pr.head_sha)


def test_push_reposts_checks_on_the_new_head_and_stale_approvals_lapse(env):
    sid, pr = pr_at_gate(env, "approvals: 1\ndismiss_stale_on_push: true")
    env.gh.submit_review(REPO, pr.number, "rev", "commented")
    env.drain()
    old_head = pr.head_sha
    new_head = env.gh.push(REPO, pr.number, {"docs/x.md": "x\n"})
    env.drain()
    checks = env.checks(new_head)
    assert checks["Agent OS / 5 Team review"] == ("completed", "action_required")
    env.gh.submit_review(REPO, pr.number, "rev", "approved", commit_id=old_head)  # reviews the old head
    env.drain()
    assert env.engine.state(sid).status == "active"
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    assert env.engine.state(sid).status == "complete"
    assert env.checks(new_head)["Agent OS"] == ("completed", "success")


def test_dismissed_review_revokes_the_approval(env):
    sid, pr = pr_at_gate(env, "approvals: 2")
    review = env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    env.gh.dismiss_review(REPO, pr.number, review.id, sender="dev")
    env.gh.submit_review(REPO, pr.number, "rev2", "approved")
    env.drain()
    gate = env.engine.gate(sid)
    assert [a.reviewer for a in gate.approvals] == ["rev2"] and not gate.satisfied


def test_phase_completed_over_mcp_updates_the_checks_without_a_webhook(env):
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body="")
    env.drain()
    env.engine.link_pull_request(sid, REPO, pr.number, source="mcp")  # as the MCP tool does
    env.drain()
    assert env.checks(pr.head_sha)["Agent OS / 0 Context gathering"] == ("in_progress", None)


def test_a_required_team_is_read_from_github_with_the_policy(env):
    env.gh.add_team("acme", "security", ["sec1"])
    env.gh.add_collaborator(REPO, "sec1", "write")
    sid, pr = pr_at_gate(env, "approvals: 1\nrequired_teams: [acme/security]")
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    gate = env.engine.gate(sid)
    assert not gate.satisfied
    assert "waiting for a member of @acme/security, a required team" in gate.reasons
    env.gh.submit_review(REPO, pr.number, "sec1", "approved")
    env.drain()
    assert env.engine.state(sid).status == "complete"
    assert env.checks(pr.head_sha)["Agent OS"] == ("completed", "success")


def test_an_unknown_team_keeps_the_gate_closed(env):
    sid, pr = pr_at_gate(env, "approvals: 1\nrequired_teams: [acme/ghosts]")
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    assert env.engine.state(sid).status == "active"
    assert env.checks(pr.head_sha)["Agent OS"] == ("completed", "action_required")


def test_a_review_delivered_before_the_pr_it_belongs_to_still_counts(env):
    """Out of order: the approval's webhook arrives before the PR's `opened` one."""
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    run_to_gate(env.engine, sid)
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", send=False)
    opened = env.gh.deliveries[-1]
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    review = env.gh.deliveries[-1]
    env.drain()
    assert env.engine.state(sid).status == "active"  # nothing linked yet: the review had nowhere to go
    env.gh.send(opened)
    env.drain()
    assert env.engine.state(sid).status == "complete"
    assert env.checks(pr.head_sha)["Agent OS"] == ("completed", "success")
    # The same review reaching us again (a new delivery of it) is not a second approval.
    env.gh.send(env.gh.build_delivery("pull_request_review", review.payload))
    env.drain()
    gate = env.engine.state(sid).phases[5].gate
    assert [a.reviewer for a in gate.approvals] == ["rev"]
