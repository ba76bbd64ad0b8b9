"""Deliveries GitHub could not make while the server was down are asked for again at start,
each processed once; linked PRs are re-read after downtime."""

from __future__ import annotations

from collections import Counter

from botkit import REPO, WEBHOOK_PATH, BotEnv, bot_env, pr_files, run_to_gate, settle, wait_until

from bot.app import create_app
from bot.github import DeliveryAttempt
from bot.recovery import missed
from standin.serving import BackgroundServer


def attempt(id: int, guid: str, code: int) -> DeliveryAttempt:
    return DeliveryAttempt(id=id, guid=guid, status_code=code, event="ping", redelivery=False)


def test_missed_lists_each_failed_unknown_event_once_oldest_first():
    log = [attempt(9, "c", 0), attempt(8, "b", 202), attempt(7, "a", 502), attempt(6, "b", 0),
           attempt(5, "d", 0), attempt(4, "a", 0), attempt(3, "e", 0)]
    # a: failed twice (redeliver its latest attempt); b: got through on a redelivery; d: already in
    # the store (its 2xx attempt is older than the log we read); c and e: never got through.
    assert [(a.guid, a.id) for a in missed(log, known={"d"})] == [("e", 3), ("a", 7), ("c", 9)]


def restart(env: BotEnv) -> BotEnv:
    app = create_app(env.settings, env.engine)
    server = BackgroundServer(app).start()
    env.gh.set_webhook(server.url + WEBHOOK_PATH)
    return BotEnv(env.gh, env.engine, env.project, app.state.bot, server, env.settings)


def test_fifty_deliveries_missed_while_down_are_all_processed_once_after_restart(tmp_path, credentials):
    with bot_env(tmp_path, credentials, recover_interval=0.5, recover_delay=0.05) as env:
        pr = env.gh.open_pull_request(REPO, author="dev", body="A change", send=False)
        env.gh.ping()
        settle(env)
        wait_until(lambda: env.bot.store.cursor("delivery_log"), what="the first look at the delivery log")
        env.server.stop()

        for i in range(50):
            env.gh.comment(REPO, pr.number, "rev", f"/agent-os help {i}")
        missed_ids = [d.id for d in env.gh.deliveries[-50:]]
        assert all(d.attempts == [0] for d in env.gh.deliveries[-50:])  # nobody answered

        again = restart(env)
        try:
            wait_until(lambda: all((d := again.bot.store.delivery(i)) and d.status == "done" for i in missed_ids),
                       timeout=60, what="every missed delivery to be processed")
            settle(again)
            replies = [c for c in env.gh.comments(REPO, pr.number) if c.user == env.gh.bot_login]
            assert len(replies) == 50
            assert [again.bot.store.delivery(i).attempts for i in missed_ids] == [1] * 50
            sends = Counter(a.delivery.id for a in env.gh.attempts)
            assert {sends[i] for i in missed_ids} == {2}  # the failed attempt and one redelivery each
            assert env.gh.requests("POST", "/app/hook/deliveries/*/attempts")
        finally:
            again.server.stop()


def test_a_review_and_a_push_made_while_down_are_read_back_at_start(tmp_path, credentials):
    with bot_env(tmp_path, credentials) as env:
        sid = env.engine.start("spec_creation_v1", "auth").session.session_id
        pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
        settle(env)
        env.server.stop()
        new_head = env.gh.push(REPO, pr.number, {"docs/x.md": "x\n"})
        env.gh.submit_review(REPO, pr.number, "rev", "commented")
        env.gh.attempts.clear()  # GitHub's log is gone too: only re-reading the PR can help

        env.settings = env.settings.model_copy(update={"recover_interval": 60.0, "recover_delay": 0.0})
        again = restart(env)
        try:
            wait_until(lambda: "Agent OS" in again.checks(new_head), what="checks on the head pushed while down")
            assert env.engine.state(sid).pull_requests[0].head_sha == new_head
        finally:
            again.server.stop()


def test_threads_resolved_or_reopened_while_down_hold_or_release_the_gate_after_restart(tmp_path, credentials):
    with bot_env(tmp_path, credentials) as env:
        env.gh.set_files(REPO, {".agent-os/config.yaml": "gates:\n  approvals: 1\n  require_resolved_threads: true\n"})
        sid = env.engine.start("spec_creation_v1", "auth").session.session_id
        spec_dir = env.engine.state(sid).spec_dir
        run_to_gate(env.engine, sid)
        pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}",
                                      files=pr_files(env.engine, sid))
        settle(env)
        first = env.gh.review_comment(REPO, pr.number, "rev", f"{spec_dir}/srd.md", 12, "Add rate limiting")
        second = env.gh.review_comment(REPO, pr.number, "rev", f"{spec_dir}/srd.md", 20, "Name the limits")
        env.gh.resolve_thread(REPO, pr.number, second.thread_id, sender="dev")
        env.gh.submit_review(REPO, pr.number, "rev", "approved")
        settle(env)

        def open_threads() -> list[int]:  # each by its first comment
            return [t.comments[0].comment_id for t in env.engine.review_feedback(sid).open_threads]

        assert open_threads() == [first.id] and env.engine.state(sid).status == "active"
        env.settings = env.settings.model_copy(update={"recover_interval": 60.0, "recover_delay": 0.0})

        # Down: the open thread is resolved, the resolved one reopened; GitHub's delivery log is
        # gone too, so only re-reading the PR's threads (GraphQL) can tell.
        env.server.stop()
        env.gh.resolve_thread(REPO, pr.number, first.thread_id, sender="dev")
        env.gh.resolve_thread(REPO, pr.number, second.thread_id, sender="rev", resolved=False)
        env.gh.attempts.clear()
        again = restart(env)
        try:
            wait_until(lambda: open_threads() == [second.id], what="the reopened thread to hold the gate")
            settle(again)
            assert env.engine.state(sid).status == "active" and not env.engine.gate(sid).satisfied
            assert again.checks(pr.head_sha)["Agent OS"] == ("completed", "action_required")
        finally:
            again.server.stop()

        # Down again: the last open thread is resolved, and the gate passes on restart.
        env.gh.resolve_thread(REPO, pr.number, second.thread_id, sender="dev")
        env.gh.attempts.clear()
        third = restart(env)
        try:
            wait_until(lambda: env.engine.state(sid).status == "complete", what="the gate to pass")
            settle(third)
            assert third.checks(pr.head_sha)["Agent OS"] == ("completed", "success")
            assert len(env.gh.requests("POST", "/graphql")) >= 2
        finally:
            third.server.stop()
