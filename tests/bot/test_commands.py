"""`/agent-os` commands in PR comments, and the re-check buttons on the check runs."""

from __future__ import annotations

from botkit import REPO, run_to_gate, settle

from bot.checks import MARKER

ALL_CHECKS = 7


def linked_pr(env):
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    settle(env)
    return sid, pr


def bot_comments(env, number: int):
    return [c for c in env.gh.comments(REPO, number) if c.user == env.gh.bot_login]


def test_status_posts_one_comment_and_later_edits_it(env):
    sid, pr = linked_pr(env)
    env.gh.comment(REPO, pr.number, "rev", "/agent-os status")
    settle(env)
    [status] = bot_comments(env, pr.number)
    assert status.body.startswith(MARKER)
    assert f"session [`{sid}`](http://agent-os.test/sessions/{sid})" in status.body
    assert "| # | Phase | State |" in status.body
    assert "| 0 | Context gathering | in progress |" in status.body
    assert "| 5 | Team review | not started |" in status.body

    run_to_gate(env.engine, sid)
    settle(env)
    env.gh.comment(REPO, pr.number, "rev", "/agent-os status")
    settle(env)
    [edited] = bot_comments(env, pr.number)
    assert edited.id == status.id
    assert "| 0 | Context gathering | complete |" in edited.body
    assert "| 5 | Team review | checkpoint passed, waiting for approval |" in edited.body
    assert env.gh.requests("PATCH", f"/repos/{REPO}/issues/comments/{status.id}")


def unlinked_pr(env):
    """A pull request no session is linked to (its opening is not even delivered)."""
    return env.gh.open_pull_request(REPO, author="dev", body="A change", send=False)


def test_a_reply_is_posted_once_however_often_its_delivery_runs(env):
    pr = unlinked_pr(env)
    env.gh.comment(REPO, pr.number, "rev", "/agent-os help")
    delivery = env.gh.last_delivery
    settle(env)
    env.bot.store.db.execute("UPDATE bot_deliveries SET status = 'failed' WHERE delivery_id = ?",
                             (delivery.id,))
    assert env.gh.redeliver(delivery.id).json()["status"] == "retry"  # so it is processed again
    settle(env)
    assert env.bot.store.delivery(delivery.id).status == "done"
    assert len(env.gh.requests("GET", "/repos/*/collaborators/rev/permission")) == 2  # it did run twice
    assert len(bot_comments(env, pr.number)) == 1


def test_rerun_and_the_recheck_button_recompute_every_check(env):
    sid, pr = linked_pr(env)
    run = env.gh.check_runs(REPO, pr.head_sha)["Agent OS / 0 Context gathering"]
    # GitHub offers Re-run only on a completed run: this one ended (say, it timed out).
    with env.gh.state.lock:
        run.status, run.conclusion, run.completed_at = "completed", "timed_out", run.started_at
    posts = len(env.gh.requests("POST", "/repos/*/check-runs"))
    for approvals, click in [(2, lambda: env.gh.rerequest_check_run(REPO, run.id, sender="rev")),
                             (3, lambda: env.gh.request_action(REPO, run.id, "recheck", sender="rev"))]:
        patches = len(env.gh.requests("PATCH", "/repos/*/check-runs/*"))
        env.gh.set_files(REPO, {".agent-os/config.yaml": f"gates:\n  approvals: {approvals}\n"})
        delivery = click()
        settle(env)
        assert env.bot.store.delivery(delivery.id).status == "done"
        assert len(env.gh.requests("PATCH", "/repos/*/check-runs/*")) == patches + ALL_CHECKS
        assert env.engine.gate(sid).required_approvals == approvals  # the policy was re-read too
    assert len(env.gh.requests("POST", "/repos/*/check-runs")) == posts
    assert env.checks(pr.head_sha)["Agent OS / 0 Context gathering"] == ("in_progress", None)


def test_a_status_comment_posted_before_a_crash_is_found_not_posted_twice(env):
    sid, pr = linked_pr(env)
    env.gh.comment(REPO, pr.number, "rev", "/agent-os status")
    settle(env)
    [status] = bot_comments(env, pr.number)
    # The crash: GitHub has the comment, our record of it is gone, the write is retried.
    env.bot.worker.stop()  # so the retry cannot start before it is marked as one
    env.bot.store.db.execute("DELETE FROM bot_status_comments")
    env.bot.outbox.update_status_comment(REPO, pr.number)
    env.bot.store.db.execute("UPDATE bot_outbox SET attempts = 1 WHERE status = 'pending'")
    env.bot.worker.start()
    settle(env)
    [again] = bot_comments(env, pr.number)
    assert again.id == status.id
    assert env.bot.store.status_comment(REPO, pr.number) == status.id
