"""Review logic, pure: whose verdict counts, and which review threads are open.

The gate (gates.py) and the agent's review feedback (engine) both read reviews through
these functions, so they cannot disagree about who requested changes or how many
threads are unresolved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .records import CommentRecord, Review


def same_login(a: str | None, b: str | None) -> bool:
    """Whether two GitHub logins name the same account (logins are case-insensitive)."""
    return a is not None and b is not None and a.casefold() == b.casefold()


@dataclass(frozen=True)
class Verdicts:
    """Each person's latest verdict, and the reviews that do not count (with why)."""

    latest: tuple[Review, ...]
    """One review per person (approved, changes_requested or dismissed), in order of first appearance."""
    ignored: tuple[str, ...]

    @property
    def approvals(self) -> tuple[Review, ...]:
        """The latest verdicts that approve."""
        return tuple(r for r in self.latest if r.state == "approved")

    @property
    def changes_requested_by(self) -> tuple[str, ...]:
        """Who currently requests changes (each person once)."""
        return tuple(r.reviewer for r in self.latest if r.state == "changes_requested")


def latest_verdicts(
    reviews: Iterable[Review],
    *,
    author: str | None,
    since: datetime | None = None,
    exclude_author: bool = True,
    exclude_bots: bool = True,
) -> Verdicts:
    """Each person's latest review that is not a mere comment, counting from `since`.

    Logins compare case-insensitively; the author's and bots' reviews are left out (and
    their approvals listed as ignored) unless the policy says otherwise; a dismissal
    takes a person's earlier verdict back.
    """
    latest: dict[str, Review] = {}
    ignored: list[str] = []
    for review in reviews:
        if since is not None and review.at < since:
            continue
        if exclude_author and same_login(review.reviewer, author):
            if review.state == "approved":
                ignored.append(f"@{review.reviewer}: the author cannot approve their own work")
            continue
        if exclude_bots and review.is_bot:
            if review.state == "approved":
                ignored.append(f"@{review.reviewer}: approvals from bots do not count")
            continue
        if review.state == "commented":
            continue
        latest[review.reviewer.casefold()] = review
    return Verdicts(tuple(latest.values()), tuple(ignored))


@dataclass(frozen=True)
class Thread:
    """A review thread: a root comment and its replies (deleted comments left out)."""

    thread_id: str | None
    comments: tuple[CommentRecord, ...]
    resolved: bool

    @property
    def root(self) -> CommentRecord:
        return self.comments[0]


def review_threads(comments: Iterable[CommentRecord], resolved: dict[str, bool]) -> list[Thread]:
    """Group comments into threads (a reply joins its root's); `resolved` maps thread id -> resolved.

    A thread whose root comment was deleted but whose replies remain is still a thread,
    as on GitHub. A thread GitHub never told us about is open.
    """
    groups: dict[int, list[CommentRecord]] = {}
    for c in comments:
        if c.state != "deleted":
            groups.setdefault(c.in_reply_to or c.comment_id, []).append(c)
    out = []
    for root_id, items in groups.items():
        items.sort(key=lambda c: (c.comment_id != root_id, c.at, c.comment_id))
        tid = next((c.thread_id for c in items if c.thread_id), None)
        out.append(Thread(tid, tuple(items), bool(tid and resolved.get(tid))))
    return out


def unresolved_count(threads: Iterable[Thread]) -> int:
    """How many threads are still open."""
    return sum(not t.resolved for t in threads)
