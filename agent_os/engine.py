"""The workflow engine: sessions that move through phases only on checked evidence.

`Engine` is the one object the doors (CLI, MCP server, GitHub App) hold; it is a thin
facade over modules of one idea each: `lifecycle` (starting sessions), `reading`
(state and views), `completion` (checking evidence, moving on), `gating` and
`approvals` (gates and people's verdicts), `pull_requests` (links, heads, review
feedback). A refused call changes no session state: it is recorded as a refused
submission and nothing else.
"""

from __future__ import annotations

from typing import Any

from . import approvals, ci, completion, lifecycle, pull_requests, reading, verification, views
from . import files as filesource
from .authoring import build_definition, handed_over, write_workflow
from .context import Context, Listener
from .definitions import Workflow
from .errors import InputError, NotFoundError
from .gating import gate as _gate
from .paths import check_repository, check_sha
from .project import GatePolicyConfig, Project
from .registry import Registry, summary
from .repo_library import DefaultBranches, RepositoryLibraries
from .store import SessionStore, open_store
from .testrun import CommandRunner, LocalRunner

__all__ = ["Engine", "Listener"]


class Engine:
    """Sessions of workflows on one project and one store."""

    def __init__(self, project: Project, store: SessionStore, *, files: filesource.FileSource | None = None,
                 runner: CommandRunner | None = None, standards: filesource.StandardsLookup | None = None) -> None:
        # Solo defaults: the working tree, commands run in the project root, standards on disk.
        self.ctx = Context(project, store, files if files is not None else filesource.WorkingTree(project.root),
                           Registry(project), runner if runner is not None else LocalRunner(project.root),
                           standards if standards is not None else filesource.StandardsRoots(project.standards_roots()))

    @classmethod
    def open(cls, project: Project, store: SessionStore | None = None) -> Engine:
        """The engine for `project`, opening (and migrating) its session store unless one is given."""
        return cls(project, store or open_store(project.db_path))

    @property
    def project(self) -> Project:
        """The project the sessions work in."""
        return self.ctx.project

    @property
    def store(self) -> SessionStore:
        """Where the sessions live."""
        return self.ctx.store

    @property
    def files(self) -> filesource.FileSource:
        """Where the project's files are read unless a call brings its own (a snapshot, a commit)."""
        return self.ctx.files

    @property
    def registry(self) -> Registry:
        """The workflows this project can start."""
        return self.ctx.registry

    @property
    def db(self) -> Any:
        """The database the session store lives in, for components that keep their own tables beside it."""
        return self.store.db  # type: ignore[attr-defined]

    def close(self) -> None:
        """Close the session store."""
        self.store.close()

    def subscribe(self, callback: Listener, *, in_transaction: bool = False) -> None:
        """Call `callback(session_id, event_kind)` after each committed change to a session;
        with `in_transaction`, inside the change's transaction before it commits (see
        `Context.subscribe`)."""
        self.ctx.subscribe(callback, in_transaction=in_transaction)

    # workflows ---------------------------------------------------------------------------

    def use_default_branches(self, branches: DefaultBranches) -> None:
        """Team server: sessions of a repository see its default branch's own workflows and
        standards (read through `branches`, never from this machine's disk)."""
        self.ctx.libraries = RepositoryLibraries(self.project, branches)

    @property
    def libraries(self) -> RepositoryLibraries | None:
        """Each repository's default branch, on a team server (None solo)."""
        return self.ctx.libraries

    def registry_for(self, repository: str | None = None) -> Registry:
        """The workflows a session of `repository` may run (shipped plus its own, team mode)."""
        return self.ctx.registry_for(check_repository(repository) if repository else None)

    def list_workflows(self, repository: str | None = None) -> list[views.WorkflowSummary]:
        """Workflows this project (or, on a team server, `repository`) can start."""
        return self.registry_for(repository).summaries()

    def workflow(self, name: str, repository: str | None = None) -> Workflow:
        """A workflow definition by name."""
        return self.registry_for(repository).load(name)

    def validate_workflow(self, name_or_dir: str, repository: str | None = None) -> views.ValidationReport:
        """Check a workflow by name or directory; every problem is listed."""
        return self.registry_for(repository).validate(name_or_dir)

    def create_workflow(self, name: str, workflow_type: str, phases: list[Any],
                        repository: str | None = None) -> views.WorkflowSummary:
        """A new workflow, valid by construction. Solo: written into `.agent-os/workflows/<name>/`.
        A team server writes nothing of a repository: it answers with the files, for the
        agent's side to write into its clone and push to the default branch."""
        data, files = build_definition(name, workflow_type, phases)
        registry = self.registry_for(repository)
        try:
            registry.directory(name)
        except NotFoundError:
            pass
        else:
            raise InputError(f"A workflow named {name!r} already exists.", hint="Choose another name.")
        if isinstance(self.files, filesource.WritableSource):
            directory = write_workflow(self.project.workflows_dir, data, files)
            return summary(self.registry.load(directory.name), "project")
        return handed_over(data, files, repository)

    # sessions ----------------------------------------------------------------------------

    def start(self, workflow: str, target: str, *, author: str | None = None,
              files: filesource.FileSource | None = None, repository: str | None = None) -> views.StartResult:
        """Start `workflow` on `target` (in `repository`, when known), or resume the open session
        of that workflow and target."""
        return lifecycle.start(self.ctx, workflow, target, author=author, files=files, repository=repository)

    def state(self, session_id: str) -> views.SessionState:
        """Everything about a session: phases, gates, evidence results, linked PRs."""
        return reading.state(self.ctx, session_id)

    def current_phase(self, session_id: str) -> views.PhaseView:
        """The phase the session is on, with its instructions and the evidence it demands."""
        return reading.current_phase(self.ctx, session_id)

    def get_task(self, session_id: str, phase: int | str, task_id: str) -> views.TaskView:
        """One task's instructions."""
        return reading.get_task(self.ctx, session_id, phase, task_id)

    def list_sessions(self, status: str | None = None) -> list[views.SessionSummary]:
        """Sessions, most recently updated first."""
        return reading.list_sessions(self.ctx, status)

    def events(self, session_id: str, after_id: int = 0) -> list[views.EventView]:
        """The session's append-only timeline."""
        return reading.events(self.ctx, session_id, after_id)

    def submissions(self, session_id: str) -> list[views.SubmissionView]:
        """Every evidence submission of the session, accepted or refused."""
        return reading.submissions(self.ctx, session_id)

    def complete_phase(self, session_id: str, phase: int | str, evidence: Any, *,
                       files: filesource.FileSource | None = None) -> views.CompletionResult:
        """Check `evidence` against the phase's checkpoint and, if it passes, move on (see completion.py)."""
        return completion.complete_phase(self.ctx, session_id, phase, evidence, files=files)

    # gates and people's verdicts -----------------------------------------------------------

    def gate(self, session_id: str) -> views.GateView | None:
        """The gate of the phase waiting for approval, else of the next gated phase (None if none)."""
        return _gate(self.ctx, session_id)

    def approve(self, session_id: str, *, by: str, source: str = "cli", note: str = "") -> views.GateView:
        """A person's approval of the phase waiting at its gate (solo mode; no MCP tool calls this)."""
        return approvals.approve(self.ctx, session_id, by=by, source=source, note=note)

    def record_review(self, session_id: str, review: views.ReviewInput) -> views.SessionState:
        """Record a pull-request review and pass the waiting gate if its policy is now met."""
        return approvals.record_review(self.ctx, session_id, review)

    def set_gate_policy(self, session_id: str, policy: GatePolicyConfig | None) -> None:
        """Set the team's gate policy for this session (read by the bot from the PR's base branch)."""
        approvals.set_gate_policy(self.ctx, session_id, policy)

    # pull requests and review feedback ---------------------------------------------------

    def link_pull_request(self, session_id: str, repository: str, number: int, *, author: str | None = None,
                          head_sha: str | None = None, source: str = "tool") -> views.PullRequestView:
        """Link a pull request to the session (idempotent), or refresh the link and move the head on a push."""
        return pull_requests.link_pull_request(self.ctx, session_id, repository, number, author=author,
                                               head_sha=head_sha, source=source)

    def set_head(self, session_id: str, head_sha: str) -> None:
        """Record the PR's current head commit; stale approvals then stop counting if the policy says so."""
        pull_requests.set_head(self.ctx, session_id, head_sha)

    def sessions_for_pull_request(self, repository: str, number: int) -> list[str]:
        """Sessions linked to a pull request."""
        return self.store.sessions_for_pull_request(repository, number)

    def session_for_spec_dir(self, spec_dir: str, repository: str | None = None) -> str | None:
        """The most recent session working in `spec_dir` (of `repository`, if given)."""
        return pull_requests.session_for_spec_dir(self.ctx, spec_dir, repository)

    def reverify(self, session_id: str, files: filesource.FileSource, commit: str) -> list[int]:
        """Check every completed phase again at `commit` of the session's pull request (read
        through `files`); the verdicts show in the session's state. Returns the phases that
        no longer pass. Files whose blob SHA is the checkpoint's are not read at all."""
        return verification.reverify_session(self.ctx, session_id, files, check_sha(commit))

    def record_ci(self, repository: str, result: ci.CIResult) -> list[str]:
        """Record what CI said about a commit (a check run or a commit status) for the sessions
        whose head it is and whose workflow names that check; a phase waiting for it moves on
        (or is refused with CI's link). Returns the sessions it concerned (see ci.py)."""
        return ci.record_ci(self.ctx, repository, result)

    def ci_sessions_at(self, repository: str, head_sha: str) -> list[str]:
        """Active sessions of `repository` at head `head_sha` whose phases wait for CI checks."""
        return ci.sessions_at(self.ctx, repository, head_sha)

    def ci_checks_wanted(self, session_id: str) -> list[str]:
        """The CI check names the session's phases wait for in team mode (none: no CI needed)."""
        return sorted(ci.wanted(self.ctx, self.ctx.load(session_id).id))

    def record_review_comment(self, session_id: str, comment: views.ReviewCommentInput) -> bool:
        """Record a review comment on one of the session's spec files (False: not a spec file's)."""
        return pull_requests.record_review_comment(self.ctx, session_id, comment)

    def set_thread_resolved(self, session_id: str, thread_id: str, resolved: bool, comment_ids: list[int]) -> bool:
        """Record that a review thread was resolved or reopened (False: not one of the session's)."""
        return pull_requests.set_thread_resolved(self.ctx, session_id, thread_id, resolved, comment_ids)

    def review_feedback(self, session_id: str) -> views.ReviewFeedback:
        """Open review threads on the session's spec files, and who requested changes."""
        return pull_requests.review_feedback(self.ctx, session_id)
