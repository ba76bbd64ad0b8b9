"""Reviews, review comments and review threads: recorded on every session the PR carries.

The verdicts and the threads are the engine's to weigh (gates and feedback); here they are
only read from the payload and offered to the sessions.
"""

from __future__ import annotations

from agent_os.views import ReviewCommentInput, ReviewInput

from ..events import Event, ReviewComment, Thread
from ..routing import Router
from .context import Context, pull_of

router: Router[Context] = Router()

REVIEW_STATES = {"APPROVED": "approved", "CHANGES_REQUESTED": "changes_requested",
                 "COMMENTED": "commented", "DISMISSED": "dismissed"}


def review_input(raw: dict) -> ReviewInput | None:
    """A review from a webhook or the REST list, as the engine records it (None: not a verdict,
    e.g. a pending review)."""
    state = REVIEW_STATES.get(str(raw.get("state", "")).upper())
    user = raw.get("user") or {}
    if state is None or not isinstance(raw.get("id"), int):
        return None
    return ReviewInput(reviewer=user.get("login") or "ghost", state=state, review_id=raw["id"],
                       commit_id=raw.get("commit_id"), is_bot=user.get("type") == "Bot")


@router.on("pull_request_review", "submitted", "edited", "dismissed")
def on_review(event: Event, ctx: Context) -> str:
    """Record the verdict on every linked session."""
    repo, number = pull_of(event)
    raw = event.payload.get("review") or {}
    review = review_input({**raw, "state": "dismissed"} if event.action == "dismissed" else raw)
    if review is None:
        return f"ignored: review state {raw.get('state')!r}"
    sessions = ctx.engine.sessions_for_pull_request(repo, number)
    for sid in sessions:
        ctx.engine.record_review(sid, review)
    if sessions:
        ctx.github.sync_checks(repo, number)
    return f"review {review.state} recorded on {len(sessions)} session(s)"


def backfill_reviews(ctx: Context, repo: str, number: int, session_ids: set[str]) -> None:
    """Record the PR's reviews that came before the link (or while we were down).

    Reviews are counted from when we learn of them, so one that predates the phase's
    gate still does not approve it; one that arrives again by webhook is not doubled.
    """
    for raw in ctx.github.reviews(repo, number):
        review = review_input(raw)
        if review is None:
            continue
        for sid in session_ids:
            ctx.engine.record_review(sid, review)


@router.on("pull_request_review_comment", "created", "edited", "deleted")
def on_review_comment(event: Event, ctx: Context) -> str:
    """Offer the comment to the sessions (the engine keeps those on its spec files)."""
    repo, number = pull_of(event)
    comment = event.part(ReviewComment, "comment")
    recorded = record_comments(ctx, repo, number, [comment], deleted=event.action == "deleted")
    if recorded:
        ctx.github.sync_checks(repo, number)
    return f"comment recorded on {recorded} session(s)"


@router.on("pull_request_review_thread", "resolved", "unresolved")
def on_thread(event: Event, ctx: Context) -> str:
    """Mark the thread resolved or open on every session that holds it."""
    repo, number = pull_of(event)
    touched = apply_thread(ctx, repo, number, event.part(Thread, "thread"), event.action == "resolved")
    if touched:
        ctx.github.sync_checks(repo, number)
    return f"thread {event.action} on {touched} session(s)"


def apply_thread(ctx: Context, repo: str, number: int, thread: Thread, resolved: bool) -> int:
    """A thread's state, from its webhook or read back after downtime: its comments are offered
    to the PR's sessions, then each session holding one records it resolved or open. How
    many sessions hold it."""
    record_comments(ctx, repo, number, thread.comments, deleted=False)
    ids = [c.id for c in thread.comments]
    return sum(ctx.engine.set_thread_resolved(sid, thread.node_id, resolved, ids)
               for sid in ctx.engine.sessions_for_pull_request(repo, number))


def backfill_threads(ctx: Context, repo: str, number: int) -> None:
    """Bring the sessions' review threads up to GitHub's (resolved or reopened while we were down)."""
    # Reopened ones first: a gate must not pass between reading one resolved and one reopened.
    for state in sorted(ctx.github.review_threads(repo, number), key=lambda s: s.resolved):
        apply_thread(ctx, repo, number, state.thread, state.resolved)


def record_comments(ctx: Context, repo: str, number: int, comments: list[ReviewComment], *,
                    deleted: bool) -> int:
    """Offer each comment to every session on the PR; the engine keeps those on its spec files."""
    sessions = ctx.engine.sessions_for_pull_request(repo, number)
    return sum(
        ctx.engine.record_review_comment(sid, ReviewCommentInput(
            comment_id=c.id, path=c.path, line=c.line or c.original_line, body=c.body,
            author=c.user.login if c.user else "ghost", url=c.html_url,
            state="deleted" if deleted else "open", in_reply_to=c.in_reply_to_id))
        for c in comments for sid in sessions)
