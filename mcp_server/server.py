"""The MCP server: the agent's door to the engine and the standards.

Each tool is a typed function whose signature is its input schema, whose docstring tells
the agent when to call it, and whose return type (a pydantic view) is its structured
output. The tools only translate: every rule about phases, evidence and gates lives in the
engine. No tool approves a gate: only people do, on the pull request or with
`agent-os approve`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

from agent_os import __version__, views
from agent_os.engine import Engine
from agent_os.errors import EvidenceRejected
from agent_os.project import Project
from agent_os.repo_library import RepositoryUnavailable
from agent_os.standards.models import SearchResponse
from agent_os.tokens import repository_allowed

from . import scope
from .backend import Backend
from .errors import refusals_as_tool_errors
from .models import SessionList, WorkflowList
from .prompts import register_prompts
from .resources import register_resources
from .sources import Sources, repository_of, request_meta
from .summaries import summarised

if TYPE_CHECKING:
    from agent_os.standards import Embedder, StandardsIndex

log = logging.getLogger(__name__)

SERVER_NAME = "agent-os"

INSTRUCTIONS = """\
Agent OS drives your work through checked workflows and gives you the team's standards.

How to work:
- Search the standards before you decide anything: search_standards("what you are about \
to decide") returns the team's rules with their paths; cite those paths in your evidence.
- Drive the work through a workflow. "Create a spec for X" means \
start_workflow("spec_creation_v1", "x"); "implement the spec" means \
start_workflow("spec_execution_v1", "<spec dir>"). Then loop: get_current_phase, do the \
tasks (get_task for details), complete_phase with the evidence the phase asks for.
- Phases run in order; they cannot be skipped, re-entered or reordered. If complete_phase \
refuses, read every listed failure, fix the files or the evidence, and submit again.
- Never invent evidence. Report only what is true of the files: the checkpoint counts and \
reads them.
- A gate waits for a person. When a phase waits for approval, tell the person: a reviewer \
approves the pull request, or someone runs `agent-os approve`. Never try to approve it \
yourself; no tool can. Meanwhile read get_review_feedback and revise.
- "Where are we?" means get_workflow_state(session_id), or list_sessions if you do not \
know the session.
"""

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)


def build_server(
    project: Project,
    *,
    engine: Engine | None = None,
    index: StandardsIndex | None = None,
    embedder: Embedder | None = None,
    token_verifier: TokenVerifier | None = None,
    public_url: str = "http://127.0.0.1:8765",
    warm_index: bool = False,
    on_tool_call: Callable[[str, bool], None] | None = None,
    backend: Any = None,
    sources: Sources | None = None,
) -> MCPServer:
    """The MCP server for `project`.

    `engine`, `index` and `embedder` are borrowed when given (the team server shares its
    engine); otherwise they are opened on first use and closed when the server stops.
    `token_verifier` turns on bearer-token auth for the HTTP transport (`public_url` is
    then the server's own address, which the SDK's auth settings require).
    `warm_index` refreshes the standards index in the background at start.
    `on_tool_call(tool, ok)` is told of every tool call (the team server counts them).
    `backend` replaces the local engine and index (the door in team mode, `door.py`): the
    tools are the same functions, so their names and schemas are the same too; the
    resources, which read the local project, are then left out. `sources` says where a
    call's files are read when no door sent them (the team server: the PR's head commit).
    """
    local = backend is None
    backend = backend or Backend(project, engine=engine, index=index, embedder=embedder, sources=sources)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[Backend]:
        backend.start_background_work(build_index=warm_index)
        try:
            yield backend
        finally:
            backend.close()

    auth = None
    if token_verifier is not None:
        auth = AuthSettings(issuer_url=public_url, resource_server_url=None)
    server: MCPServer = _Server(
        SERVER_NAME,
        title="Agent OS",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        token_verifier=token_verifier,
        auth=auth,
        tools=_tools(backend, on_tool_call),
    )
    if local:
        register_resources(server, backend)
    register_prompts(server)
    server.backend = backend  # type: ignore[attr-defined]  # for the doors and tests
    server.on_list_tools = backend.handshake.set  # type: ignore[attr-defined]
    return server


class _Server(MCPServer):
    """MCPServer that tells the backend when the client has listed the tools."""

    on_list_tools: Callable[[], None] | None = None

    async def list_tools(self):
        if self.on_list_tools is not None:
            self.on_list_tools()
        return await super().list_tools()


def report_progress(ctx: Context, done: int, total: int, message: str) -> None:
    """Send a progress notification from a sync tool (it runs in a worker thread)."""
    import anyio.from_thread

    try:
        anyio.from_thread.run(ctx.report_progress, done, total, message)
    except Exception:
        log.debug("progress notification not sent", exc_info=True)


# A tool's schemas come from its signature, the same for every server this process builds;
# deriving them (pydantic models, JSON schemas) was half of building a server (~55 ms of CPU).
# Each server gets a copy of the first one's tool, bound to its own function.
_TOOL_TEMPLATES: dict[str, Tool] = {}


def _bound_tool(fn: Callable[..., Any], annotations: ToolAnnotations) -> Tool:
    template = _TOOL_TEMPLATES.get(fn.__name__)
    if template is None:
        template = _TOOL_TEMPLATES.setdefault(fn.__name__, Tool.from_function(fn, annotations=annotations))
    return template.model_copy(update={"fn": fn})


def _tools(backend: Backend, on_tool_call: Callable[[str, bool], None] | None = None) -> list[Tool]:
    tools: list[Tool] = []

    def tool(annotations: ToolAnnotations):
        def register(fn):
            tools.append(_bound_tool(summarised(refusals_as_tool_errors(fn, on_tool_call)), annotations))
            return fn

        return register

    @tool(READ_ONLY)
    def search_standards(query: str, ctx: Context, n_results: int = 3) -> SearchResponse:
        """Search the team's standards (coding rules, security, API, testing practice).

        Use it BEFORE deciding how to build something and whenever you are unsure what the
        team expects ("race conditions in async code", "how we version APIs"). Returns the
        best passages with their document path and line range; cite those paths as
        evidence (e.g. standards_consulted). n_results is 1-20. While the index is still
        being built the answer comes at once from keywords, with partial=true: search
        again shortly for complete results.
        """
        notices: list[str] = []
        try:
            index = backend.index_for(repository_of(ctx))
        except RepositoryUnavailable as exc:  # GitHub unreachable: the shipped standards still answer
            index, notices = backend.index, [f"{exc.message} Searched the shipped standards only."]
        response = index.search(query, n_results=n_results, wait=False)
        if notices:
            response = response.model_copy(update={"notices": [*response.notices, *notices]})
        build_status = getattr(index, "build_status", None)  # a team door's has none
        if response.partial and build_status is not None:
            status = build_status()
            report_progress(ctx, status.embedded, status.chunks,
                            f"Embedding the standards: {status.embedded} of {status.chunks} passages")
        return response

    @tool(READ_ONLY)
    def list_workflows(ctx: Context) -> WorkflowList:
        """List the workflows you can start, with their phases.

        Use it when the person asks for work you have no workflow name for yet. The
        shipped ones: spec_creation_v1 (turn a feature request into a reviewed spec) and
        spec_execution_v1 (implement an approved spec phase by phase).
        """
        return WorkflowList(workflows=backend.engine.list_workflows(repository=repository_of(ctx)))

    @tool(WRITES)
    def start_workflow(workflow_type: str, target_file: str, ctx: Context) -> views.StartResult:
        """Start a workflow session (or resume the open one for the same target).

        Use it as soon as the person asks for work a workflow covers: "create a spec for
        user authentication" -> start_workflow("spec_creation_v1", "user_authentication");
        "implement that spec" -> start_workflow("spec_execution_v1",
        ".agent-os/specs/2026-01-15-user-authentication"). target_file is a short feature
        name, or the spec directory for spec_execution_v1; never a path outside the
        project. Returns the session id and phase 0: its instructions, tasks and the
        evidence its checkpoint demands. Keep the session_id for every later call.
        """
        where = backend.sources.start(request_meta(ctx))
        repository = scope.start_repository(where.pop("repository", None))
        if repository:
            where["repository"] = repository
        return backend.engine.start(workflow_type, target_file, **where)

    @tool(READ_ONLY)
    def get_current_phase(session_id: str) -> views.PhaseView:
        """The phase the session is on: instructions, tasks, and the evidence it demands.

        Use it at the start of each phase, and whenever you lose track of what to do next.
        """
        scope.check_session(backend.engine, session_id)
        return backend.engine.current_phase(session_id)

    @tool(READ_ONLY)
    def get_task(session_id: str, phase: int | str, task_id: str) -> views.TaskView:
        """The full instructions of one task of a phase (phase by number or id).

        Use it while working a phase, task by task, when the phase's summary is not enough.
        """
        scope.check_session(backend.engine, session_id)
        return backend.engine.get_task(session_id, phase, task_id)

    @tool(WRITES)
    def complete_phase(session_id: str, phase: int | str, evidence: dict[str, Any],
                       ctx: Context) -> views.CompletionResult:
        """Submit the evidence that the current phase is done; the checkpoint checks it.

        Use it when every task of the phase is done and the files are written. evidence is
        an object with exactly the fields get_current_phase listed, with true values: the
        checkpoint reads the files and counts what you claim. If refused, the error lists
        every failing field with what was expected, what was found and how to fix it; fix
        them all and submit again. Phases cannot be skipped. If the phase ends in a gate
        it then waits for a person's approval: tell them; you cannot approve it.
        """
        scope.check_session(backend.engine, session_id)
        where = backend.sources.completion(session_id, request_meta(ctx))
        note = where.pop("note", "")
        try:
            return backend.engine.complete_phase(session_id, phase, evidence, **where)
        except EvidenceRejected as exc:
            exc.hint = f"{note} {exc.hint}".strip()  # e.g. which commit the files were read at
            raise

    @tool(READ_ONLY)
    def get_workflow_state(session_id: str) -> views.SessionState:
        """Where a session stands: phases done and left, evidence results, gate status, linked PRs.

        Use it when the person asks "where are we?", after a pause, or before reporting
        progress. next_step says what to do now.
        """
        scope.check_session(backend.engine, session_id)
        return backend.engine.state(session_id)

    @tool(READ_ONLY)
    def list_sessions(status: Literal["active", "complete"] | None = None) -> SessionList:
        """Workflow sessions of this project, most recently updated first.

        Use it to find a session id you do not have ("where are we?" with no session in
        view), or to see what is in progress.
        """
        allowed = scope.limits()
        return SessionList(sessions=[s for s in backend.engine.list_sessions(status)
                                     if allowed is None or repository_allowed(allowed, s.repository)])

    @tool(WRITES)
    def create_workflow(name: str, workflow_type: str, phases: list[str | dict[str, Any]],
                        ctx: Context) -> views.WorkflowSummary:
        """Create a new workflow definition in this project (.agent-os/workflows/<name>/).

        Use it only when the person asks for a repeatable process no listed workflow covers.
        name: lowercase with a version suffix, e.g. "bugfix_v1". workflow_type: "new_spec"
        or "existing_spec" (what target_file names when it is started). phases: titles, or
        objects {title, id, evidence: {field: {type, ...}}, gate: bool, ci_checks: [names of the
        CI checks a phase waits for in team mode]}. Run validate_workflow afterwards. On a team
        server the files come back in the answer (files, next_step): they are written into your
        clone, and take effect once pushed to the default branch.
        """
        return backend.engine.create_workflow(name, workflow_type, phases, repository=repository_of(ctx))

    @tool(READ_ONLY)
    def validate_workflow(name: str, ctx: Context) -> views.ValidationReport:
        """Check a workflow definition by name (or directory) and list every problem.

        Use it after create_workflow, or when a workflow will not start.
        """
        return backend.engine.validate_workflow(name, repository=repository_of(ctx))

    @tool(WRITES)
    def link_pull_request(session_id: str, repository: str, number: int) -> views.PullRequestView:
        """Link the pull request holding this session's work ("owner/name", PR number).

        Use it right after you open the pull request. From then on each phase shows as a
        check on the PR, reviewers approve gates there, and their comments reach you
        through get_review_feedback.
        """
        if scope.limits() is not None:  # a limited token links only within its repositories
            scope.require(repository if isinstance(repository, str) else None, "that pull request")
            if backend.engine.state(session_id).repository:
                scope.check_session(backend.engine, session_id)
        linked = backend.engine.link_pull_request(session_id, repository, number, source="mcp")
        # The team server re-verifies at the PR's head now, as a webhook's link would.
        if not backend.sources.linked(linked.repository, linked.number):
            return linked
        return next((pr for pr in backend.engine.state(session_id).pull_requests
                     if (pr.repository, pr.number) == (linked.repository, linked.number)), linked)

    @tool(READ_ONLY)
    def get_review_feedback(session_id: str) -> views.ReviewFeedback:
        """Open review comments and threads on the session's spec files, and who requested changes.

        Use it while a phase waits at its gate, and whenever the person mentions review
        comments: each open thread is a revision to make. Empty (and says why) until a
        pull request is linked and reviewers comment.
        """
        scope.check_session(backend.engine, session_id)
        return backend.engine.review_feedback(session_id)

    return tools
