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


def test_comments_on_spec_files_become_open_threads_and_others_do_not(env):
    sid, spec_dir, pr = spec_pr(env)
    first = env.gh.review_comment(REPO, pr.number, "rev", f"{spec_dir}/srd.md", 12, "Add rate limiting")
    env.gh.review_comment(REPO, pr.number, "dev", f"{spec_dir}/srd.md", 12, "Which limit?",
                          in_reply_to=first.id)
    env.gh.review_comment(REPO, pr.number, "rev2", f"{spec_dir}/specs.md", 40, "Name the table")
    env.gh.review_comment(REPO, pr.number, "rev", "app/limits.py", 1, "Make this configurable")
    env.gh.review_comment(REPO, pr.number, "rev", "README.md", 1, "Typo")
    settle(env)

    feedback = env.engine.review_feedback(sid)
    threads = {(t.path, t.line): t for t in feedback.open_threads}
    assert set(threads) == {(f"{spec_dir}/srd.md", 12), (f"{spec_dir}/specs.md", 40)}
    srd = threads[(f"{spec_dir}/srd.md", 12)]
    assert [(c.author, c.body) for c in srd.comments] == [
        ("rev", "Add rate limiting"), ("dev", "Which limit?")]
    assert not srd.resolved and feedback.resolved_threads == 0
    assert "2 open review thread(s)" in feedback.message


def test_resolving_a_thread_closes_it_and_unresolving_reopens_it(env):
    sid, spec_dir, pr = spec_pr(env)
    comment = env.gh.review_comment(REPO, pr.number, "rev", f"{spec_dir}/srd.md", 12, "Add rate limiting")
    env.gh.review_comment(REPO, pr.number, "rev", f"{spec_dir}/tasks.md", 3, "Split this task")
    settle(env)
    assert len(env.engine.review_feedback(sid).open_threads) == 2

    env.gh.resolve_thread(REPO, pr.number, comment.thread_id, sender="dev")
    settle(env)
    feedback = env.engine.review_feedback(sid)
    assert [t.path for t in feedback.open_threads] == [f"{spec_dir}/tasks.md"]
    assert feedback.resolved_threads == 1

    env.gh.resolve_thread(REPO, pr.number, comment.thread_id, sender="rev", resolved=False)
    settle(env)
    feedback = env.engine.review_feedback(sid)
    assert sorted(t.path for t in feedback.open_threads) == [f"{spec_dir}/srd.md", f"{spec_dir}/tasks.md"]
    assert feedback.resolved_threads == 0


def test_a_thread_on_another_file_does_not_touch_the_session(env):
    sid, spec_dir, pr = spec_pr(env)
    comment = env.gh.review_comment(REPO, pr.number, "rev", "app/limits.py", 1, "Make this configurable")
    env.gh.resolve_thread(REPO, pr.number, comment.thread_id, sender="dev")
    settle(env)
    feedback = env.engine.review_feedback(sid)
    assert feedback.open_threads == [] and feedback.resolved_threads == 0
    assert feedback.message == "No open review feedback on the spec."


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


def test_a_team_that_lets_threads_stay_open_is_not_held_by_them(env):
    # spec_creation_v1 requires resolved threads by default; the base branch's config relaxes it.
    sid, spec_dir, pr = spec_pr(env, "gates:\n  approvals: 1\n  require_resolved_threads: false\n")
    run_to_gate(env.engine, sid)
    env.gh.review_comment(REPO, pr.number, "rev", f"{spec_dir}/srd.md", 12, "Add rate limiting")
    env.gh.submit_review(REPO, pr.number, "rev", "approved")
    settle(env)
    assert env.engine.state(sid).status == "complete"
    assert len(env.engine.review_feedback(sid).open_threads) == 1
