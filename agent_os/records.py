"""What the session store keeps: plain frozen dataclasses, independent of any database.

The engine reads and writes these through `SessionStore` (store.py); each store
implementation maps them to its own tables. Nested data (a phase's definition, a
submission's evidence) stays as Python values here and is serialised by the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def now() -> datetime:
    """The current time in UTC (one place, so tests and records agree)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionRecord:
    """A workflow session; `rev` advances on every change (compare-and-set)."""

    id: str
    workflow: str
    workflow_version: int
    target: str
    target_key: str
    spec_dir: str
    status: str
    author: str | None
    head_sha: str | None
    gate_policy: dict[str, Any] | None
    rev: int
    created_at: datetime
    updated_at: datetime
    repository: str | None = None
    """`owner/name` of the repository the session works in, once known (from its first linked PR)."""


@dataclass(frozen=True)
class PhaseRecord:
    """One phase of a session, with the definition snapshotted when the session started."""

    session_id: str
    number: int
    phase_id: str
    title: str
    state: str
    definition: dict[str, Any]
    tasks_section: str | None
    started_at: datetime | None
    completed_at: datetime | None
    stored: str | None = field(default=None, repr=False, compare=False)
    """`definition` as the store keeps it (JSON), when read from a store: what the phase's
    model is remembered by (`context.definition`)."""


@dataclass(frozen=True)
class Failure:
    """One reason a checkpoint refused: what was expected, what was found, how to fix it."""

    field: str
    rule: str
    expected: str
    found: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        """The failure as JSON-ready data (an error's details, a stored submission)."""
        return asdict(self)


@dataclass(frozen=True)
class SubmissionRecord:
    """An evidence submission, accepted or refused, with every failure found."""

    id: int
    session_id: str
    phase: int
    accepted: bool
    evidence: Any
    failures: list[Failure]
    verified: list[str]
    at: datetime


@dataclass(frozen=True)
class EventRecord:
    """One entry of a session's append-only timeline."""

    id: int
    session_id: str
    kind: str
    phase: int | None
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class PullRequestRecord:
    """A pull request linked to a session."""

    session_id: str
    repository: str
    number: int
    head_sha: str | None
    author: str | None
    source: str
    linked_at: datetime


@dataclass(frozen=True)
class CommentRecord:
    """A review comment on one of a session's spec files (or its edit or deletion)."""

    comment_id: int
    thread_id: str | None
    path: str
    line: int | None
    body: str
    author: str
    url: str
    state: str
    in_reply_to: int | None
    at: datetime


@dataclass(frozen=True)
class Review:
    """One review or approval as recorded, in the order received."""

    reviewer: str
    state: str  # approved | changes_requested | dismissed | commented
    at: datetime
    source: str
    commit_id: str | None = None
    is_bot: bool = False
