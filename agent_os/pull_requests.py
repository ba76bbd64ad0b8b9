"""Pull requests linked to a session: their head commit, review comments and threads,
and the feedback the agent reads back."""

from __future__ import annotations

from . import views
from .changes import Change, changing
from .context import Context, current
from .errors import InputError, Refused
from .files import inside, normalise
from .gating import threads
from .paths import check_repository, check_sha
from .reading import pr_view
from .records import CommentRecord, PullRequestRecord, now
from .reviews import latest_verdicts


def link_pull_request(ctx: Context, session_id: str, repository: str, number: int, *, author: str | None = None,
                      head_sha: str | None = None, source: str = "tool") -> views.PullRequestView:
    """Link a pull request to the session (idempotent), or refresh the link on a push.

    Its author becomes the session's author if unset, its repository the session's; a
    `head_sha` that differs from the session's moves the head as `set_head` does.
    """
    ctx.load(session_id)
    repository = check_repository(repository)
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 10**9:
        raise InputError(f"number {number!r} is not a pull request number.")
    if head_sha is not None:
        check_sha(head_sha)
    with changing(ctx, session_id, "pull_request_linked") as change:
        rec = change.rec
        if rec.repository and rec.repository.lower() != repository.lower():
            raise Refused(f"Session {rec.id} works in {rec.repository}, not {repository}.",
                          hint=f"Link a pull request of {rec.repository}, or start a session in {repository}.")
        new = ctx.store.upsert_pull_request(PullRequestRecord(rec.id, repository, number, head_sha, author,
                                                              source, now()))
        fields = {}
        if author and not rec.author:
            fields["author"] = author
        if new and not rec.repository:
            fields["repository"] = repository
        if fields or new:
            change.bump(**fields)
        if new:
            change.event("pull_request_linked", repository=repository, number=number, source=source)
        if head_sha is not None:
            _move_head(change, head_sha)
        if not new:
            change.kind = "head_changed"
    stored = next(p for p in ctx.store.pull_requests(rec.id) if p.repository.lower() == repository.lower() and p.number == number)
    return pr_view(stored)


def set_head(ctx: Context, session_id: str, head_sha: str) -> None:
    """Record the PR's current head commit; stale approvals then stop counting if the policy says so."""
    check_sha(head_sha)
    with changing(ctx, session_id, "head_changed") as change:
        _move_head(change, head_sha)


def _move_head(change: Change, head_sha: str) -> None:
    # The one way a session's head moves: recorded as an event, and (by `changing`) the
    # gate re-settled, since a new head can open it (an approval of that commit, with
    # dismiss_stale_on_push, may have arrived before the push did).
    if change.rec.head_sha != head_sha:
        change.bump(head_sha=head_sha)
        change.event("head_changed", head_sha=head_sha)


def session_for_spec_dir(ctx: Context, spec_dir: str, repository: str | None = None) -> str | None:
    """The most recent session working in `spec_dir` (relative to the project root); with
    `repository`, only a session of that repository (or of none yet)."""
    found = [s for s in ctx.store.sessions_for_spec_dir(spec_dir.strip().strip("/"))
             if repository is None or not s.repository or s.repository.lower() == repository.lower()]
    return found[0].id if found else None


def record_review_comment(ctx: Context, session_id: str, comment: views.ReviewCommentInput) -> bool:
    """Record a review comment (or its edit or deletion) on one of the session's spec files.

    Comments on other files of the pull request are code review, not the spec's: they
    are not recorded (False), so they neither reach the agent nor hold a gate.
    """
    rec = ctx.load(session_id)
    if not _in_spec_dir(comment.path, rec.spec_dir):
        return False
    known = next((c for c in ctx.store.comments(rec.id) if c.comment_id == comment.comment_id), None)
    if known is not None and (known.body, known.state) == (comment.body, comment.state) \
            and comment.line in (None, known.line) and comment.thread_id in (None, known.thread_id):
        return True  # told again (a redelivery, or read back after downtime): nothing would change
    with changing(ctx, rec.id, "review_comment", settle=False) as change:
        ctx.store.upsert_comment(rec.id, CommentRecord(
            comment.comment_id, comment.thread_id, comment.path, comment.line, comment.body, comment.author,
            comment.url, comment.state, comment.in_reply_to, now()))
        change.event(f"review_comment_{comment.state}", path=comment.path, author=comment.author)
    return True


def _in_spec_dir(path: str, spec_dir: str) -> bool:
    try:
        rel = normalise(path)
    except InputError:
        return False
    return rel != spec_dir and inside(rel, normalise(spec_dir))


def set_thread_resolved(ctx: Context, session_id: str, thread_id: str, resolved: bool, comment_ids: list[int]) -> bool:
    """Record that a review thread (holding `comment_ids`) was resolved or reopened.

    A thread none of whose comments the session recorded is not about its spec: ignored (False).
    """
    rec = ctx.load(session_id)
    if not {c.comment_id for c in ctx.store.comments(rec.id)} & set(comment_ids):
        return False
    if ctx.store.threads(rec.id).get(thread_id) == resolved:
        return True  # already so (a redelivery, or read back after downtime)
    with changing(ctx, rec.id, "review_thread") as change:
        ctx.store.set_thread(rec.id, thread_id, resolved, comment_ids)
        change.event("thread_resolved" if resolved else "thread_unresolved", thread_id=thread_id)
    return True


def review_feedback(ctx: Context, session_id: str) -> views.ReviewFeedback:
    """Open review threads on the session's spec files, and who requested changes."""
    rec = ctx.load(session_id)
    found = threads(ctx, rec.id)
    open_threads = [
        views.ReviewThread(
            thread_id=t.thread_id or f"comment-{t.root.comment_id}", path=t.root.path, line=t.root.line,
            resolved=False,
            comments=[views.ReviewComment(comment_id=c.comment_id, author=c.author, body=c.body, url=c.url,
                                          line=c.line, at=c.at) for c in t.comments])
        for t in found if not t.resolved]
    # The same verdicts the gate reads: since the current phase opened, author and bots left out.
    cur = current(ctx.store.phases(rec.id))
    requested = list(latest_verdicts(ctx.store.reviews(rec.id), author=rec.author,
                                     since=cur.started_at if cur else None).changes_requested_by)
    prs = [pr_view(p) for p in ctx.store.pull_requests(rec.id)]
    if not prs:
        message = "No pull request is linked yet, so there is no review feedback. Link one with link_pull_request."
    elif not open_threads and not requested:
        message = "No open review feedback on the spec."
    else:
        message = (f"{len(open_threads)} open review thread(s)"
                   + (f"; changes requested by {', '.join(requested)}" if requested else "")
                   + ". Revise the spec files to address them; reviewers resolve the threads.")
    return views.ReviewFeedback(session_id=rec.id, pull_requests=prs, open_threads=open_threads,
                                resolved_threads=len(found) - len(open_threads), changes_requested_by=requested,
                                message=message)
