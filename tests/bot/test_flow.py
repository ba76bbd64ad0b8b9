"""A whole PR-gated spec session: linking, check runs, gates, reviews, over real HTTP."""

from __future__ import annotations

from botkit import REPO, pr_files, run_to_gate

PHASES = ["0 Context gathering", "1 Requirements", "2 Technical design", "3 Task breakdown",
          "4 Implementation guidance", "5 Team review"]


def pr_at_gate(env, gates: str = "approvals: 1\n"):
    """A base branch with `gates` as its policy, and a linked PR whose session waits at its gate."""
    config = "gates:\n" + "".join(f"  {line}\n" for line in gates.splitlines())
    env.gh.set_files(REPO, {".agent-os/config.yaml": config})
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    run_to_gate(env.engine, sid)
    env.gh.push(REPO, pr.number, pr_files(env.engine, sid))  # the PR carries what the checkpoints read
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


def test_push_reposts_checks_on_the_new_head_and_stale_approvals_lapse(env):
    sid, pr = pr_at_gate(env, "approvals: 1\ndismiss_stale_on_push: true")
    env.gh.submit_review(REPO, pr.number, "rev", "commented")
    env.drain()
    old_head = pr.head_sha
    new_head = env.gh.push(REPO, pr.number, {"docs/x.md": "x\n"})
    env.drain()
    assert [e.data["head_sha"] for e in env.engine.events(sid) if e.kind == "head_changed"][-2:] == [old_head, new_head]
    checks = env.checks(new_head)
    assert checks["Agent OS / 5 Team review"] == ("completed", "action_required")
    env.gh.submit_review(REPO, pr.number, "rev", "approved", commit_id=old_head)  # reviews the old head
    env.drain()
    assert env.engine.state(sid).status == "active"
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    env.drain()
    assert env.engine.state(sid).status == "complete"
    assert env.checks(new_head)["Agent OS"] == ("completed", "success")


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


def test_a_team_the_app_may_not_read_closes_the_gate_with_the_reason_on_the_check(env, caplog):
    env.gh.add_team("acme", "security", ["sec1"])
    env.gh.inject("GET", "/orgs/*/teams/*/members", 403, message="Resource not accessible by integration",
                  headers={"x-accepted-github-permissions": "members=read"}, times=5)
    sid, pr = pr_at_gate(env, "approvals: 1\nrequired_teams: [acme/security]")
    env.gh.submit_review(REPO, pr.number, "sec1", "approved")
    env.drain()
    assert env.engine.state(sid).status == "active"
    assert {d.status for d in env.bot.store.deliveries()} == {"done"}  # the PR did not fail
    run = env.gh.check_runs(REPO, pr.head_sha)["Agent OS"]
    assert run.conclusion == "action_required"
    assert "@acme/security" in run.output["summary"] and "Members: read" in run.output["summary"]
    assert any("Members: read" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
