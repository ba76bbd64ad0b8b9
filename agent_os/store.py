"""Where sessions live: the `SessionStore` interface the engine is written against.

The engine holds no SQL; it speaks only to this interface. `SQLSessionStore`
(sql_store.py) implements it over SQLAlchemy Core, on SQLite (the embedded default) or
PostgreSQL (a replicated team server). The interface is deliberately narrow and
dialect-neutral: records in, records out (records.py), no connections or cursors.

Concurrency contract: every session-changing write happens inside
`transaction(session_id)`, which takes that session's row lock before anything else
(`BEGIN IMMEDIATE` on SQLite, `SELECT ... FOR UPDATE` on PostgreSQL). `bump()` is a
compare-and-set on the session's revision; a False result means another writer got
there first, and the caller must refuse or retry, never carry on.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .records import (
    CommentRecord,
    EventRecord,
    Failure,
    PhaseRecord,
    PullRequestRecord,
    Review,
    SessionRecord,
    SubmissionRecord,
)

SESSION_FIELDS = frozenset({"status", "head_sha", "gate_policy", "author", "repository"})
"""The session fields `bump()` may change; everything else is fixed at creation."""


class SessionStore(Protocol):
    """What the engine needs from storage."""

    def transaction(self, session_id: str | None = None) -> AbstractContextManager[None]:
        """One write transaction (re-entrant); with `session_id`, that session's row is locked first."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...

    # sessions
    def insert_session(self, rec: SessionRecord, phases: list[PhaseRecord]) -> None:
        """Create a session with its phases; raises if `(workflow, target_key)` already has an active one."""
        ...

    def session(self, session_id: str) -> SessionRecord | None: ...
    def open_session_for(self, workflow: str, target_key: str) -> SessionRecord | None: ...

    def sessions(self, status: str | None = None) -> list[SessionRecord]:
        """Sessions, most recently updated first."""
        ...

    def sessions_for_spec_dir(self, spec_dir: str) -> list[SessionRecord]:
        """Sessions working in `spec_dir`, most recently updated first."""
        ...

    def bump(self, session_id: str, expected_rev: int, **changes: Any) -> bool:
        """Compare-and-set: apply `changes` (keys in SESSION_FIELDS) and advance `rev` if it is still `expected_rev`."""
        ...

    # phases
    def phases(self, session_id: str) -> list[PhaseRecord]: ...
    def set_phase_state(self, session_id: str, number: int, state: str, at: datetime) -> None: ...
    def replace_phases_from(self, session_id: str, first: int, phases: list[PhaseRecord]) -> None: ...

    # submissions and the timeline
    def add_submission(self, session_id: str, phase: int, accepted: bool, evidence: Any,
                       failures: list[Failure], verified: list[str]) -> int: ...
    def submissions(self, session_id: str) -> list[SubmissionRecord]: ...
    def add_event(self, session_id: str, kind: str, phase: int | None = None, **data: Any) -> None: ...
    def events(self, session_id: str, after_id: int = 0) -> list[EventRecord]: ...

    # reviews
    def add_review(self, session_id: str, review: Review, review_id: int | None) -> bool:
        """Record a review; False (nothing written) if GitHub review `review_id` is already recorded in that state."""
        ...

    def reviews(self, session_id: str) -> list[Review]:
        """Every review of the session, in the order received."""
        ...

    # pull requests, review comments and threads
    def upsert_pull_request(self, rec: PullRequestRecord) -> bool:
        """Link a PR, or refresh its head and author where given; True if the link is new."""
        ...

    def pull_requests(self, session_id: str) -> list[PullRequestRecord]: ...

    def sessions_for_pull_request(self, repository: str, number: int) -> list[str]:
        """Ids of the sessions linked to a PR (`repository` compared case-insensitively)."""
        ...

    def upsert_comment(self, session_id: str, rec: CommentRecord) -> None: ...
    def comments(self, session_id: str) -> list[CommentRecord]: ...

    def set_thread(self, session_id: str, thread_id: str, resolved: bool, comment_ids: list[int]) -> None:
        """Mark a review thread resolved or not, and file the recorded comments among `comment_ids` under it."""
        ...

    def threads(self, session_id: str) -> dict[str, bool]: ...


def open_store(location: str | Path) -> SessionStore:
    """The session store at `location` (a SQLite file path, `:memory:`, or a `postgresql://`
    URL), migrated to this release."""
    from .db import Database
    from .sql_store import SQLSessionStore

    return SQLSessionStore(Database.open(location))
