"""The outbox under faults: retries land every check exactly once, rate limits are honoured,
permanent errors stop, and a crash or restart neither loses nor duplicates a write."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from botkit import REPO, WEBHOOK_PATH, BotEnv, bot_env, run_to_gate, settle, wait_until

from bot.app import create_app
from standin.serving import BackgroundServer
from standin import rate_limit_headers, retry_after_headers

PHASE_CHECKS = 6
ALL_CHECKS = PHASE_CHECKS + 1  # and the overall "Agent OS"


def open_linked_pr(env):
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    return sid, pr


def runs_per_name(env, head_sha: str) -> Counter:
    return Counter(r.name for r in env.gh.all_check_runs(REPO) if r.head_sha == head_sha)


def assert_one_run_per_check(env, head_sha: str) -> None:
    counts = runs_per_name(env, head_sha)
    assert len(counts) == ALL_CHECKS and set(counts.values()) == {1}, counts


def sync_items(env, status: str | None = None):
    return [i for i in env.bot.store.outbox(status) if i.kind == "sync_checks"]


def test_server_errors_on_create_are_retried_and_each_check_lands_once(env):
    env.gh.inject("POST", "/repos/*/check-runs", 503, times=2)
    _, pr = open_linked_pr(env)
    settle(env)
    assert len([r for r in env.gh.requests("POST", "/repos/*/check-runs") if r.injected]) == 2
    assert_one_run_per_check(env, pr.head_sha)
    assert env.checks(pr.head_sha)["Agent OS"] == ("in_progress", None)
    assert sync_items(env, "pending") == [] and sync_items(env, "failed") == []


@pytest.mark.slow
def test_a_create_that_timed_out_but_happened_is_found_not_repeated(tmp_path, credentials):
    # GitHub made the run, but the answer came after our timeout: the retry must find it.
    # A long backoff keeps the retry from racing the slow create; the test then makes it due.
    with bot_env(tmp_path, credentials, http_timeout=1.0, backoff_base=60.0, backoff_max=60.0) as env:
        env.gh.inject("POST", "/repos/*/check-runs", None, delay=2.0)
        _, pr = open_linked_pr(env)
        item = wait_until(lambda: next((i for i in sync_items(env, "pending") if i.last_error), None),
                          what="the create to time out")
        assert "timed out" in item.last_error
        wait_until(lambda: env.gh.all_check_runs(REPO), what="the stand-in to finish the slow create")
        env.bot.store.db.execute("UPDATE bot_outbox SET next_attempt_at = 0")  # retry now, not in 60 s
        settle(env)
        assert_one_run_per_check(env, pr.head_sha)
        assert len(env.gh.requests("POST", "/repos/*/check-runs")) == ALL_CHECKS


@pytest.mark.parametrize("status,headers,earliest", [
    (429, retry_after_headers(120), lambda h, t0: t0 + 120),
    (403, rate_limit_headers(300), lambda h, t0: float(h["x-ratelimit-reset"])),
], ids=["retry-after", "rate-limit-reset"])
def test_rate_limits_postpone_the_outbox_until_github_says(env, status, headers, earliest):
    env.gh.inject("POST", "/repos/*/check-runs", status, headers=headers)
    t0 = time.time()
    _, pr = open_linked_pr(env)
    item = wait_until(lambda: next((i for i in sync_items(env, "pending") if i.last_error), None),
                      what="the rate-limited attempt")
    assert f"HTTP {status}" in item.last_error
    assert item.next_attempt_at >= earliest(headers, t0)
    env.drain()  # nothing is due: the worker must not try again before then
    assert env.gh.all_check_runs(REPO) == []
    assert len(env.gh.requests("POST", "/repos/*/check-runs")) == 1

    # Time passes and the limit lifts.
    env.bot.outbox.paused_until = 0.0
    env.bot.store.db.execute("UPDATE bot_outbox SET next_attempt_at = 0")
    settle(env)
    assert_one_run_per_check(env, pr.head_sha)


def test_writes_queued_during_a_rate_limit_wait_for_it_too(env):
    _, pr = open_linked_pr(env)
    settle(env)
    env.gh.inject("POST", "/repos/*/issues/*/comments", 429, headers=retry_after_headers(600))
    env.gh.comment(REPO, pr.number, "rev", "/agent-os status")
    wait_until(lambda: [i for i in env.bot.store.outbox("pending") if i.last_error], what="the rate limit")
    limited_until = time.time() + 500

    env.gh.comment(REPO, pr.number, "rev", "/agent-os help")  # queued while limited
    env.drain()
    pending = env.bot.store.outbox("pending")
    assert sorted(i.kind for i in pending) == ["comment", "status_comment"]
    assert all(i.next_attempt_at >= limited_until for i in pending)
    assert len(env.gh.requests("POST", "/repos/*/issues/*/comments")) == 1  # only the limited one
    assert env.gh.comments(REPO, pr.number)[-1].user == "rev"


def test_a_permanent_error_fails_the_item_without_retrying(env):
    env.gh.inject("POST", "/repos/*/check-runs", 422, message="Validation Failed")
    _, pr = open_linked_pr(env)
    settle(env)
    [failed] = sync_items(env, "failed")
    assert failed.attempts == 1 and "HTTP 422" in failed.last_error
    assert len(env.gh.requests("POST", "/repos/*/check-runs")) == 1
    assert env.gh.all_check_runs(REPO) == []

    env.bot.outbox.sync_pull_request(REPO, pr.number)  # the next change is not blocked by it
    settle(env)
    assert_one_run_per_check(env, pr.head_sha)


def test_a_crash_between_create_and_record_updates_the_runs_instead_of_duplicating(env):
    sid, pr = open_linked_pr(env)
    settle(env)
    assert_one_run_per_check(env, pr.head_sha)
    posts = len(env.gh.requests("POST", "/repos/*/check-runs"))
    patches = len(env.gh.requests("PATCH", "/repos/*/check-runs/*"))

    env.bot.worker.stop()
    # What a crash leaves: GitHub has the runs, our records of them are gone, and the
    # sync that made them was attempted but never marked sent.
    env.bot.store.db.execute("DELETE FROM bot_check_runs")
    run_to_gate(env.engine, sid)
    [item] = sync_items(env, "pending")
    env.bot.store.db.execute("UPDATE bot_outbox SET attempts = 1 WHERE id = ?", (item.id,))
    env.bot.worker.start()  # the restart
    settle(env)

    assert len(env.gh.requests("POST", "/repos/*/check-runs")) == posts
    assert len(env.gh.requests("PATCH", "/repos/*/check-runs/*")) == patches + ALL_CHECKS
    assert_one_run_per_check(env, pr.head_sha)
    checks = env.checks(pr.head_sha)
    assert checks["Agent OS / 4 Implementation guidance"] == ("completed", "success")
    assert checks["Agent OS"] == ("completed", "action_required")


def test_a_restarted_server_sends_what_was_queued_and_retries_failed_deliveries(env):
    sid, pr = open_linked_pr(env)
    settle(env)
    env.server.stop()  # the lifespan stops the worker too

    run_to_gate(env.engine, sid)  # queued while nothing runs
    assert len(sync_items(env, "pending")) == 1
    # A delivery that failed on a GitHub error and has attempts left: tried again on start.
    other = env.engine.start("spec_creation_v1", "billing").session.session_id
    env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {other}", head_ref="billing",
                             send=False)
    failed_id = env.gh.last_delivery.id
    env.bot.store.record_delivery(failed_id, "pull_request", "opened", env.gh.last_delivery.payload)
    env.bot.store.finish_delivery(failed_id, "failed",
                                  "GET /repos/acme/webapp/pulls/2/files: HTTP 404 Not Found")
    assert env.checks(pr.head_sha)["Agent OS"] == ("in_progress", None)

    app = create_app(env.settings, env.engine)
    server = BackgroundServer(app).start()
    try:
        env.gh.set_webhook(server.url + WEBHOOK_PATH)
        restarted = BotEnv(env.gh, env.engine, env.project, app.state.bot, server, env.settings)
        settle(restarted)
        checks = restarted.checks(pr.head_sha)
        assert checks["Agent OS / 5 Team review"] == ("completed", "action_required")
        assert checks["Agent OS"] == ("completed", "action_required")
        assert_one_run_per_check(restarted, pr.head_sha)
        assert restarted.bot.store.delivery(failed_id).status == "done"
        assert env.engine.sessions_for_pull_request(REPO, 2) == [other]
    finally:
        server.stop()


def test_a_stopped_worker_can_still_be_drained_by_hand(env):
    env.bot.worker.stop()
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    assert "Agent OS" not in env.checks(pr.head_sha)  # recorded, not yet processed
    env.bot.worker.drain(timeout=15)
    assert "Agent OS" in env.checks(pr.head_sha)


@pytest.mark.slow
def test_a_reply_that_timed_out_but_was_posted_is_found_by_its_marker_not_posted_again(tmp_path, credentials):
    with bot_env(tmp_path, credentials, http_timeout=1.0, backoff_base=60.0, backoff_max=60.0) as env:
        pr = env.gh.open_pull_request(REPO, author="dev", body="A change", send=False)
        env.gh.inject("POST", "/repos/*/issues/*/comments", None, delay=2.0)
        env.gh.comment(REPO, pr.number, "rev", "/agent-os help")
        item = wait_until(lambda: next((i for i in env.bot.store.outbox("pending") if i.last_error), None),
                          what="the reply to time out")
        assert "timed out" in item.last_error
        wait_until(lambda: len(env.gh.comments(REPO, pr.number)) == 2, what="the slow reply to land")
        env.bot.store.db.execute("UPDATE bot_outbox SET next_attempt_at = 0")  # retry now, not in 60 s
        settle(env)
        [reply] = [c for c in env.gh.comments(REPO, pr.number) if c.user == env.gh.bot_login]
        assert "/agent-os status" in reply.body
        assert reply.body.rstrip().endswith(f"<!-- agent-os:{item.idem_key} -->")
        assert len(env.gh.requests("POST", "/repos/*/issues/*/comments")) == 1
        assert env.bot.store.outbox("done")[-1].idem_key == item.idem_key


def test_a_secondary_rate_limit_without_retry_after_waits_at_least_a_minute(env):
    env.gh.inject("POST", "/repos/*/check-runs", 403,
                  message="You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
    t0 = time.time()
    _, pr = open_linked_pr(env)
    item = wait_until(lambda: next((i for i in sync_items(env, "pending") if i.last_error), None),
                      what="the limited attempt")
    assert "secondary rate limit" in item.last_error
    assert item.next_attempt_at >= t0 + 60
    assert env.bot.outbox.paused_until >= t0 + 60  # every write waits, not just this one
    env.drain()
    assert len(env.gh.requests("POST", "/repos/*/check-runs")) == 1
