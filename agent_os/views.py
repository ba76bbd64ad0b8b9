"""What the engine answers with: pydantic models that every door serialises as they are.

The MCP server returns them as structured tool output, the CLI prints them with --json,
the bot renders them into check runs. They are snapshots, never live objects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .records import Failure

PhaseState = Literal["pending", "active", "awaiting_approval", "complete"]
SessionStatus = Literal["active", "complete"]
ReviewState = Literal["approved", "changes_requested", "dismissed", "commented"]


class _View(BaseModel):
    model_config = {"frozen": True}


class SubmissionView(_View):
    """An evidence submission, accepted or refused."""

    id: int
    phase: int
    accepted: bool
    evidence: Any
    failures: list[Failure] = []
    verified: list[str] = []
    at: datetime


class ApprovalView(_View):
    """A person's approval that counts toward a gate."""

    reviewer: str
    at: datetime
    source: str


class GateView(_View):
    """A gate's policy and where it stands; `reasons` say what it still waits for."""

    phase: int
    phase_title: str
    required_approvals: int
    approvals: list[ApprovalView] = []
    blocking: list[str] = Field(default=[], description="Reviewers whose latest review requests changes.")
    ignored: list[str] = Field(default=[], description="Reviews that do not count, and why.")
    unresolved_threads: int = 0
    satisfied: bool
    reasons: list[str] = []
    policy: str


class TaskSummary(_View):
    id: str
    title: str


class PullRequestView(_View):
    repository: str
    number: int
    url: str
    head_sha: str | None = None
    author: str | None = None
    source: str


class VerificationView(_View):
    """A completed phase checked again at a later commit of its pull request."""

    commit: str
    passed: bool
    failures: list[Failure] = []
    rechecked: bool = Field(default=False, description="False: every file the checkpoint read was unchanged.")
    changed: list[str] = []
    missing: list[str] = []
    at: datetime


class CIResultView(_View):
    """What CI said about one check (a check run or a commit status) on a commit."""

    head_sha: str
    name: str
    status: str
    conclusion: str | None = None
    url: str = ""
    run_id: int | None = None


class CIView(_View):
    """CI on the pull request's head (team mode), for a phase that passed its checkpoint and
    waits for it (`waiting`), or that passed before and whose CI checks fail at the head now."""

    checks: list[str]
    state: Literal["waiting", "failed"] = "waiting"
    head_sha: str | None = None
    waiting_for: list[str] = []
    results: list[CIResultView] = []
    reason: str = Field(description="e.g. 'waiting for CI: test on 3f9a1c2'.")


class PhaseSummary(_View):
    """A phase as the session sees it."""

    number: int
    id: str
    title: str
    state: PhaseState
    tasks: list[TaskSummary] = []
    has_gate: bool = False
    gate: GateView | None = None
    last_submission: SubmissionView | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    verification: VerificationView | None = Field(
        default=None, description="The latest re-verification at the pull request's head, if any.")
    ci: CIView | None = Field(default=None, description="Set while the phase waits for CI's checks, or when "
                              "they fail at the head after it passed (team mode).")


class SessionState(_View):
    """Everything about a session: what is done, what is left, gates and linked PRs."""

    session_id: str
    workflow: str
    workflow_version: int
    target: str
    spec_dir: str = Field(description="Spec directory, relative to the project root.")
    status: SessionStatus
    current_phase: int | None
    phases: list[PhaseSummary]
    pull_requests: list[PullRequestView] = []
    author: str | None = None
    repository: str | None = Field(default=None, description="'owner/name' the session works in, once known.")
    created_at: datetime
    updated_at: datetime
    next_step: str


class SessionSummary(_View):
    session_id: str
    workflow: str
    target: str
    spec_dir: str
    status: SessionStatus
    current_phase: int | None
    current_phase_title: str | None
    current_phase_state: PhaseState | None
    phases_complete: int
    phases_total: int
    repository: str | None = None
    updated_at: datetime


class EvidenceFieldView(_View):
    type: str
    required: bool
    description: str = ""
    constraints: dict[str, Any] = {}
    example: Any = None


class ArtifactView(_View):
    path: str
    description: str = ""
    required_headings: list[str] = []
    counts: list[dict[str, Any]] = []
    min_words: int = 0


class PhaseView(_View):
    """The phase to work on: its instructions, tasks and what the checkpoint demands."""

    session_id: str
    number: int
    id: str
    title: str
    state: PhaseState
    instructions: str
    tasks: list[TaskSummary] = []
    evidence: dict[str, EvidenceFieldView] = {}
    artifacts: list[ArtifactView] = []
    checks: list[str] = []
    tasks_section: str | None = Field(default=None, description="The tasks.md section this phase implements.")
    gate: str | None = Field(default=None, description="The gate's policy, if the phase ends in one.")
    spec_dir: str
    phases_total: int


class TaskView(_View):
    session_id: str
    phase: int
    task_id: str
    title: str
    instructions: str


class StartResult(_View):
    resumed: bool
    session: SessionState
    phase: PhaseView | None


class CompletionResult(_View):
    """A phase's checkpoint accepted the evidence."""

    session_id: str
    phase: int
    phase_state: PhaseState
    verified: list[str] = []
    next_phase: PhaseView | None = None
    gate: GateView | None = None
    session_complete: bool
    message: str


class EventView(_View):
    id: int
    session_id: str
    kind: str
    phase: int | None = None
    data: dict[str, Any] = {}
    at: datetime


class WorkflowSummary(_View):
    name: str
    version: int
    description: str
    target: str
    phases: list[str]
    source: Literal["shipped", "project", "repository"]
    directory: str
    files: dict[str, str] | None = Field(
        default=None, description="Set by create_workflow when the server does not write them itself (a team "
        "server): each file's path in the repository and its text, to commit to the default branch.")
    next_step: str | None = Field(default=None, description="What to do with the new workflow now.")


class ValidationReport(_View):
    name: str
    directory: str
    valid: bool
    problems: list[str] = []


class ReviewInput(BaseModel):
    """A pull-request review as the bot reports it."""

    reviewer: str
    state: ReviewState
    review_id: int | None = None
    commit_id: str | None = None
    is_bot: bool = False
    source: str = "github"
    at: datetime | None = None


class ReviewCommentInput(BaseModel):
    """A review comment on a spec file, as the bot reports it."""

    comment_id: int
    thread_id: str | None = None
    path: str
    line: int | None = None
    body: str
    author: str
    url: str = ""
    state: Literal["open", "deleted"] = "open"
    in_reply_to: int | None = None


class ReviewComment(_View):
    comment_id: int
    author: str
    body: str
    url: str
    line: int | None
    at: datetime


class ReviewThread(_View):
    thread_id: str
    path: str
    line: int | None
    resolved: bool
    comments: list[ReviewComment]


class ReviewFeedback(_View):
    """Open review threads on the session's spec files: what the reviewers ask for."""

    session_id: str
    pull_requests: list[PullRequestView]
    open_threads: list[ReviewThread]
    resolved_threads: int
    changes_requested_by: list[str]
    message: str
