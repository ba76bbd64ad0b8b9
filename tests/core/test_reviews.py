"""One reading of reviews for the gate and the agent's feedback (reviews.py).

Before, `review_feedback` kept its own latest-verdict table: case-sensitive, with the
author and bots, all time; and the gate counted open threads by root comment only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_os import views
from agent_os.engine import Engine
from agent_os.project import GatePolicyConfig
from agent_os.records import CommentRecord, Review
from agent_os.reviews import latest_verdicts, review_threads, unresolved_count

from support import GOOD_WRITE, write_notes

SUMMARY = {"summary": "Checked every note against the source."}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def to_gate(engine: Engine, sid: str) -> None:
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.complete_phase(sid, 1, SUMMARY)
    engine.complete_phase(sid, 2, SUMMARY)


def review(who: str, state: str, minutes: int = 0, *, bot: bool = False) -> Review:
    return Review(who, state, T0 + timedelta(minutes=minutes), "github", is_bot=bot)


def test_changes_requested_by_lists_each_person_once_and_never_the_author_or_a_bot(engine: Engine):
    sid = engine.start("notes_v1", "notes", author="dev").session.session_id
    engine.link_pull_request(sid, "acme/app", 7)
    to_gate(engine, sid)
    for who, bot in (("dev", False), ("renovate[bot]", True), ("Alice", False), ("alice", False)):
        engine.record_review(sid, views.ReviewInput(reviewer=who, state="changes_requested", is_bot=bot))
    feedback = engine.review_feedback(sid)
    # Before: ['dev', 'renovate[bot]', 'Alice', 'alice'].
    assert feedback.changes_requested_by == ["alice"]
    assert engine.gate(sid).blocking == ["alice"]
    assert "changes requested by alice." in feedback.message


def test_feedback_counts_verdicts_since_the_phase_opened_as_the_gate_does(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    engine.link_pull_request(sid, "acme/app", 7)
    engine.record_review(sid, views.ReviewInput(reviewer="bob", state="changes_requested"))
    to_gate(engine, sid)
    # Before: the feedback still named bob while the gate did not.
    assert engine.gate(sid).blocking == []
    assert engine.review_feedback(sid).changes_requested_by == []


def test_a_thread_whose_first_comment_was_deleted_is_open_for_the_gate_and_the_feedback(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    spec = engine.state(sid).spec_dir
    engine.link_pull_request(sid, "acme/app", 7)
    engine.set_gate_policy(sid, GatePolicyConfig(require_resolved_threads=True))
    comment = {"path": f"{spec}/notes.md", "line": 2, "author": "bob"}
    engine.record_review_comment(sid, views.ReviewCommentInput(comment_id=1, body="Why?", **comment))
    engine.record_review_comment(sid, views.ReviewCommentInput(comment_id=2, body="Still open", in_reply_to=1,
                                                               **comment))
    engine.record_review_comment(sid, views.ReviewCommentInput(comment_id=1, body="", state="deleted", **comment))
    to_gate(engine, sid)
    engine.record_review(sid, views.ReviewInput(reviewer="carol", state="approved"))
    # Before: the gate counted 0 open threads (and opened) while the feedback showed 1.
    assert [t.comments[0].body for t in engine.review_feedback(sid).open_threads] == ["Still open"]
    assert engine.gate(sid).unresolved_threads == 1
    assert engine.state(sid).status == "active"


def test_a_dismissal_takes_a_verdict_back_and_logins_compare_without_case():
    verdicts = latest_verdicts([review("Bob", "approved", 1), review("carol", "changes_requested", 2),
                                review("bob", "dismissed", 3), review("CAROL", "commented", 4)], author="dev")
    assert verdicts.approvals == ()
    assert verdicts.changes_requested_by == ("carol",)


def test_the_authors_and_bots_approvals_are_ignored_with_a_reason_unless_the_policy_counts_them():
    reviews = [review("DEV", "approved", 1), review("ci[bot]", "approved", 2, bot=True)]
    ignored = latest_verdicts(reviews, author="dev")
    assert ignored.approvals == ()
    assert ignored.ignored == ("@DEV: the author cannot approve their own work",
                               "@ci[bot]: approvals from bots do not count")
    counted = latest_verdicts(reviews, author="dev", exclude_author=False, exclude_bots=False)
    assert [r.reviewer for r in counted.approvals] == ["DEV", "ci[bot]"]
    assert latest_verdicts(reviews, author=None, since=T0 + timedelta(minutes=2), exclude_bots=False).approvals \
        == (reviews[1],)


def test_threads_group_replies_under_their_root_and_count_open_ones():
    def c(cid: int, thread: str | None = None, reply_to: int | None = None, state: str = "open") -> CommentRecord:
        return CommentRecord(cid, thread, "spec/srd.md", 1, f"c{cid}", "bob", "", state, reply_to, T0)

    threads = review_threads([c(1, "T1"), c(2, None, 1), c(3), c(4, "T4", state="deleted")], {"T1": True})
    assert [(t.root.comment_id, [x.comment_id for x in t.comments], t.resolved) for t in threads] == \
        [(1, [1, 2], True), (3, [3], False)]
    assert unresolved_count(threads) == 1


def test_a_comment_or_thread_state_told_again_changes_nothing_and_logs_nothing(engine: Engine):
    # Redelivered webhooks and the bot's re-read after downtime tell the same state again.
    sid = engine.start("notes_v1", "notes").session.session_id
    spec = engine.state(sid).spec_dir
    engine.link_pull_request(sid, "acme/app", 7)
    comment = views.ReviewCommentInput(comment_id=1, path=f"{spec}/notes.md", line=2, author="bob", body="Why?")
    for _ in range(2):
        assert engine.record_review_comment(sid, comment)
        assert engine.set_thread_resolved(sid, "PRRT_1", True, [1])
    assert engine.record_review_comment(sid, comment.model_copy(update={"line": None}))  # GitHub lost the line
    kinds = [e.kind for e in engine.events(sid)]
    assert kinds.count("review_comment_open") == 1 and kinds.count("thread_resolved") == 1
    assert engine.set_thread_resolved(sid, "PRRT_1", False, [1])
    assert [e.kind for e in engine.events(sid)].count("thread_unresolved") == 1
    assert [t.comments[0].line for t in engine.review_feedback(sid).open_threads] == [2]
