"""Review handlers against a recording fake: verdicts, dismissals, spec-file comments and
threads. (End to end: test_flow, test_feedback.)"""

from __future__ import annotations

import pytest
from botfake import REPO, harness, pr_event, review_comment_event, review_comment_json, review_event, thread_event
from botkit import run_to_gate


@pytest.fixture
def hub(tmp_path):
    h = harness(tmp_path)
    yield h
    h.engine.close()


def linked(hub, config: str = "gates:\n  approvals: 1\n") -> tuple[str, str]:
    hub.github.config_yaml = config
    sid = hub.start()
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))
    hub.github.calls.clear()
    return sid, hub.engine.state(sid).spec_dir


def test_changes_requested_blocks_until_that_reviewer_approves(hub):
    sid, _ = linked(hub)
    run_to_gate(hub.engine, sid)
    hub.deliver(review_event(1, "rev2", "changes_requested"))
    hub.deliver(review_event(1, "rev", "approved"))
    gate = hub.engine.gate(sid)
    assert not gate.satisfied and gate.blocking == ["rev2"]
    hub.deliver(review_event(1, "rev2", "approved"))
    assert hub.engine.state(sid).status == "complete"
    assert hub.github.writes() == [("sync_checks", REPO, 1)] * 3


def test_the_author_cannot_approve_and_a_dismissal_revokes_an_approval(hub):
    sid, _ = linked(hub, "gates:\n  approvals: 2\n")
    run_to_gate(hub.engine, sid)
    hub.deliver(review_event(1, "dev", "approved"))  # the author
    review = review_event(1, "rev", "approved")
    hub.deliver(review)
    hub.deliver(review_event(1, "rev", "approved", action="dismissed", review=review.payload["review"]))
    hub.deliver(review_event(1, "rev2", "approved"))
    gate = hub.engine.gate(sid)
    assert [a.reviewer for a in gate.approvals] == ["rev2"] and not gate.satisfied


def test_a_pending_review_and_an_unlinked_pr_change_nothing(hub):
    linked(hub)
    assert hub.deliver(review_event(1, "rev", "PENDING")) == "ignored: review state 'PENDING'"
    assert hub.deliver(review_event(9, "rev", "approved")) == "review approved recorded on 0 session(s)"
    assert hub.github.writes() == []


def test_comments_on_spec_files_become_open_threads_and_others_do_not(hub):
    sid, spec_dir = linked(hub)
    first = review_comment_json("rev", f"{spec_dir}/srd.md", 12, "Add rate limiting")
    for c in [first, review_comment_json("dev", f"{spec_dir}/srd.md", 12, "Which limit?", in_reply_to=first["id"]),
              review_comment_json("rev2", f"{spec_dir}/specs.md", 40, "Name the table"),
              review_comment_json("rev", "app/limits.py", 1, "Make this configurable")]:
        hub.deliver(review_comment_event(1, c))
    feedback = hub.engine.review_feedback(sid)
    threads = {(t.path, t.line): t for t in feedback.open_threads}
    assert set(threads) == {(f"{spec_dir}/srd.md", 12), (f"{spec_dir}/specs.md", 40)}
    assert [(c.author, c.body) for c in threads[(f"{spec_dir}/srd.md", 12)].comments] == [
        ("rev", "Add rate limiting"), ("dev", "Which limit?")]
    assert "2 open review thread(s)" in feedback.message
    assert hub.github.writes() == [("sync_checks", REPO, 1)] * 3  # not for the comment on app code


def test_resolving_a_thread_closes_it_and_unresolving_reopens_it(hub):
    sid, spec_dir = linked(hub)
    comment = review_comment_json("rev", f"{spec_dir}/srd.md", 12, "Add rate limiting")
    hub.deliver(review_comment_event(1, comment))
    hub.deliver(thread_event(1, "T_1", [comment]))
    feedback = hub.engine.review_feedback(sid)
    assert feedback.open_threads == [] and feedback.resolved_threads == 1
    hub.deliver(thread_event(1, "T_1", [comment], resolved=False, sender="rev"))
    assert [t.path for t in hub.engine.review_feedback(sid).open_threads] == [f"{spec_dir}/srd.md"]


def test_a_thread_on_another_file_does_not_touch_the_session(hub):
    sid, _ = linked(hub)
    comment = review_comment_json("rev", "app/limits.py", 1, "Make this configurable")
    assert hub.deliver(thread_event(1, "T_2", [comment])) == "thread resolved on 0 session(s)"
    feedback = hub.engine.review_feedback(sid)
    assert feedback.open_threads == [] and feedback.resolved_threads == 0
    assert hub.github.writes() == []


def test_a_team_that_lets_threads_stay_open_is_not_held_by_them(hub):
    sid, spec_dir = linked(hub, "gates:\n  approvals: 1\n  require_resolved_threads: false\n")
    run_to_gate(hub.engine, sid)
    hub.deliver(review_comment_event(1, review_comment_json("rev", f"{spec_dir}/srd.md", 12, "Rate limits?")))
    hub.deliver(review_event(1, "rev", "approved"))
    assert hub.engine.state(sid).status == "complete"
    assert len(hub.engine.review_feedback(sid).open_threads) == 1
