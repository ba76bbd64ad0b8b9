"""Review comments on the spec files become the session's review feedback, and unresolved
threads hold the gate unless the team's policy lets them stay open."""

from __future__ import annotations

from botkit import REPO, run_to_gate, settle, spec_files


def spec_pr(env, config: str | None = None):
    """A session and a PR carrying its spec files (linked by its body too)."""
    if config is not None:
        env.gh.set_files(REPO, {".agent-os/config.yaml": config})
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    spec_dir = env.engine.state(sid).spec_dir
    files = {**spec_files(spec_dir), "app/limits.py": "LIMIT = 10\n"}
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", files=files)
    settle(env)
    return sid, spec_dir, pr


def test_unresolved_spec_threads_hold_the_gate_when_the_team_says_so(env):
    config = "gates:\n  approvals: 1\n  require_resolved_threads: true\n"
    sid, spec_dir, pr = spec_pr(env, config)
    run_to_gate(env.engine, sid)
    comment = env.gh.review_comment(REPO, pr.number, "rev", f"{spec_dir}/srd.md", 12, "Add rate limiting")
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    settle(env)
    gate = env.engine.gate(sid)
    assert env.engine.state(sid).status == "active"
    assert gate.unresolved_threads == 1 and not gate.satisfied
    assert [a.reviewer for a in gate.approvals] == ["rev"]
    assert env.checks(pr.head_sha)["Agent OS"] == ("completed", "action_required")

    env.gh.resolve_thread(REPO, pr.number, comment.thread_id, sender="dev")
    settle(env)
    assert env.engine.state(sid).status == "complete"
    checks = env.checks(pr.head_sha)
    assert checks["Agent OS / 5 Team review"] == ("completed", "success")
    assert checks["Agent OS"] == ("completed", "success")
