"""The agent's door in team mode: `agent-os mcp --server URL`.

Claude Code (or Cursor, VS Code) starts `agent-os mcp` in the agent's clone, over stdio.
With `--server` that process serves the very same tools (names, schemas, docstrings: the
functions of `server.py`), but every answer comes from the team server's `/mcp`: sessions,
gate state, review feedback and search live there. What the door adds is what only the
agent's machine can do: read the clone. With `complete_phase` it sends the files the
phase's checkpoint reads (`agent_os.snapshot`), each with its git blob SHA, in the
request's `_meta`; the server checks the evidence against exactly those bytes.

One MCP connection to the server serves the calls while it works; a failure drops it and
the next call opens another: a restarted or briefly unreachable server costs at most one
failed call, never a dead door.
"""

from __future__ import annotations

import functools
import logging
import re
import subprocess
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT

from agent_os import views
from agent_os.definitions import NAME, WORKFLOW_FILE
from agent_os.errors import InputError
from agent_os.files import PathOutside, WorkingTree, normalise
from agent_os.project import SPECS_DIR, Project
from agent_os.registry import REPOSITORY_WORKFLOWS, Registry, WorkflowRoot
from agent_os.snapshot import Snapshot, checkpoint_paths, read_snapshot
from agent_os.standards.models import SearchResponse

from .sources import META_REPOSITORY, META_SNAPSHOT

log = logging.getLogger(__name__)

_REMOTE_URL = re.compile(r"(?:[:/])([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9_.-]{1,100}?)(?:\.git)?/?$")


def repository_of(clone: Path) -> str | None:
    """`owner/name` of the clone's `origin` remote (None if it has none)."""
    try:
        url = subprocess.run(["git", "-C", str(clone), "remote", "get-url", "origin"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    match = _REMOTE_URL.search(url)
    return f"{match.group(1)}/{match.group(2)}" if match else None


class TeamServer:
    """Calls tools on the team server's `/mcp` with a bearer token.

    One MCP connection serves every call while it works (its own event loop, in a daemon
    thread): a call costs one request instead of a handshake, a tool listing (whose output
    schemas the SDK then compiles), the call and a goodbye; `list_workflows` took 25 ms that
    way and takes 7 (bench_repository). Any failure drops the connection, and the next call
    opens a new one.
    """

    def __init__(self, url: str, token: str | None, *, repository: str | None = None, timeout: float = 60.0) -> None:
        base = url.rstrip("/")
        self.url = base if base.endswith("/mcp") else base + "/mcp"
        self.token = token
        self.repository = repository
        self.timeout = timeout
        self._lock = threading.Lock()
        self._portal_cm: Any = None
        self._portal: BlockingPortal | None = None
        self._connection: Any = None  # the open connection's context manager, entered in the portal
        self._client: Client | None = None
        self._refused_token = False

    def call(self, tool: str, arguments: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """The structured answer of `tool`; a refusal is raised as a ToolError with the server's text."""
        full_meta = dict(meta or {})
        if self.repository:
            full_meta[META_REPOSITORY] = self.repository
        client = self._open()
        try:
            result = self._run(functools.partial(client.call_tool, tool, arguments, meta=full_meta or None))
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - the network, the server, auth
            self._drop(client)
            raise ToolError(self._failed(exc)) from None
        if result.is_error:
            text = "\n".join(getattr(c, "text", "") for c in result.content).strip()
            # The server's SDK prefixes this; ours adds it again when the door re-raises.
            raise ToolError(text.removeprefix(f"Error executing tool {tool}: ")
                            or f"The team server refused {tool}.")
        return result.structured_content or {}

    def close(self) -> None:
        """End the connection and the door's event loop (a later call starts them again)."""
        if self._client is not None:
            self._drop(self._client)
        with self._lock:
            portal_cm, self._portal_cm, self._portal = self._portal_cm, None, None
        if portal_cm is not None:
            portal_cm.__exit__(None, None, None)

    def _open(self) -> Client:
        """The open connection, or a new one."""
        with self._lock:
            if self._client is not None:
                return self._client
            if self._portal is None:
                self._portal_cm = start_blocking_portal(name="agent-os-door")
                self._portal = self._portal_cm.__enter__()
            self._refused_token = False
            connection = self._portal.wrap_async_context_manager(self._connect())
            try:
                client = connection.__enter__()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - unreachable, refused, not MCP
                raise ToolError(self._failed(exc)) from None
            self._connection, self._client = connection, client
            return client

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None

        async def note_refused_token(response: httpx2.Response) -> None:
            if response.status_code == 401:
                self._refused_token = True

        http = httpx2.AsyncClient(headers=headers, event_hooks={"response": [note_refused_token]},
                                  timeout=httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT))
        async with http, Client(streamable_http_client(self.url, http_client=http),
                                read_timeout_seconds=self.timeout) as client:
            yield client

    def _run(self, call: Any) -> Any:
        portal = self._portal
        if portal is None:
            raise RuntimeError("the door's connection was closed")
        return portal.call(call)

    def _drop(self, client: Client) -> None:
        """Close `client`'s connection if it is still the open one (errors ignored: it failed)."""
        with self._lock:
            if self._client is not client:
                return
            connection, self._connection, self._client = self._connection, None, None
        try:
            connection.__exit__(None, None, None)
        except (Exception, BaseExceptionGroup):  # a failed connection may fail to close too
            log.debug("closing a failed connection to the team server failed", exc_info=True)

    def _failed(self, exc: BaseException) -> str:
        if self._refused_token:
            return self._unauthorized()
        return self._unreachable(exc)

    def _unauthorized(self) -> str:
        return (f"The team server at {self.url} refused the token (401). Next: set AGENT_OS_TOKEN to a "
                "token from `agent-os token create NAME` on the server (or run `agent-os init --server URL "
                "--token T`), then restart the agent.")

    def _unreachable(self, exc: BaseException) -> str:
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        if isinstance(exc, ToolError):
            return str(exc)
        text = str(exc) or type(exc).__name__
        return (f"Cannot reach the team server at {self.url}: {text[:300]}. Next: check that it runs and "
                "that --server names it; then call the tool again.")


def write_into_clone(clone: Path, files: dict[str, str]) -> list[str]:
    """Write a new workflow's files (paths under `.agent-os/workflows/<name>/`) into the
    clone; refused, writing nothing, if any path is elsewhere or the folder already exists."""
    tree = WorkingTree(clone)
    paths = {normalise(p): text for p, text in files.items()}
    folders = {"/".join(p.split("/")[:3]) for p in paths}
    if len(folders) != 1 or not next(iter(folders)).startswith(REPOSITORY_WORKFLOWS + "/") or \
            any(p.count("/") < 3 for p in paths):
        raise InputError("The team server sent workflow files outside .agent-os/workflows/<name>/; none were "
                         "written.", hint="Upgrade agent-os on this machine or the server so they match.")
    folder = next(iter(folders))
    if tree.exists(folder):
        raise InputError(f"{folder} already exists in your clone; nothing was written.",
                         hint="Choose another name, or edit that workflow's files directly.")
    for rel, text in paths.items():
        target = tree.local(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return sorted(p.removeprefix(folder + "/") for p in paths)


class RemoteEngine:
    """The engine methods the tools call, answered by the team server."""

    def __init__(self, server: TeamServer, clone: Path) -> None:
        self.server = server
        self.clone = clone

    def list_workflows(self, repository: str | None = None) -> list[views.WorkflowSummary]:
        data = self.server.call("list_workflows", {})
        return [views.WorkflowSummary.model_validate(w) for w in data.get("workflows", [])]

    def start(self, workflow: str, target: str) -> views.StartResult:
        """Start on the server, telling it which spec folders the clone holds (an approved
        spec is found there; a new one's name does not collide with them)."""
        tree = WorkingTree(self.clone)
        folders = [f"{SPECS_DIR}/{n}" for n in tree.list_dir(SPECS_DIR)
                   if tree.is_dir(f"{SPECS_DIR}/{n}")] if tree.is_dir(SPECS_DIR) else []
        return views.StartResult.model_validate(self.server.call(
            "start_workflow", {"workflow_type": workflow, "target_file": target},
            meta={META_SNAPSHOT: Snapshot(directories=folders).to_wire()}))

    def current_phase(self, session_id: str) -> views.PhaseView:
        return views.PhaseView.model_validate(self.server.call("get_current_phase", {"session_id": session_id}))

    def get_task(self, session_id: str, phase: int | str, task_id: str) -> views.TaskView:
        return views.TaskView.model_validate(
            self.server.call("get_task", {"session_id": session_id, "phase": phase, "task_id": task_id}))

    def complete_phase(self, session_id: str, phase: int | str, evidence: dict[str, Any]) -> views.CompletionResult:
        """Send the evidence with a snapshot of the files the phase's checkpoint reads."""
        current = self.current_phase(session_id)
        paths = checkpoint_paths(
            current.spec_dir, {n: f.model_dump() for n, f in current.evidence.items()},
            [a.path for a in current.artifacts], bool(current.checks), evidence)
        # The whole spec folder too: a phase's rules may read its other spec files (say, the
        # requirements a design must trace), and they are small.
        tree = WorkingTree(self.clone)
        if tree.is_dir(current.spec_dir):
            paths += [f"{current.spec_dir}/{n}" for n in tree.list_dir(current.spec_dir)
                      if tree.is_file(f"{current.spec_dir}/{n}")]
        snapshot = read_snapshot(self.clone, list(dict.fromkeys(paths)))
        data = self.server.call("complete_phase", {"session_id": session_id, "phase": phase, "evidence": evidence},
                                meta={META_SNAPSHOT: snapshot.to_wire()})
        return views.CompletionResult.model_validate(data)

    def state(self, session_id: str) -> views.SessionState:
        return views.SessionState.model_validate(self.server.call("get_workflow_state", {"session_id": session_id}))

    def list_sessions(self, status: str | None = None) -> list[views.SessionSummary]:
        data = self.server.call("list_sessions", {"status": status} if status else {})
        return [views.SessionSummary.model_validate(s) for s in data.get("sessions", [])]

    def create_workflow(self, name: str, workflow_type: str, phases: list[Any],
                        repository: str | None = None) -> views.WorkflowSummary:
        """The server checks the new workflow and answers with its files (it writes no
        repository's files); the door writes them into the clone, for the agent to commit."""
        made = views.WorkflowSummary.model_validate(self.server.call(
            "create_workflow", {"name": name, "workflow_type": workflow_type, "phases": phases}))
        if not made.files:
            return made
        written = write_into_clone(self.clone, made.files)
        folder = f"{REPOSITORY_WORKFLOWS}/{made.name}"
        return made.model_copy(update={"directory": folder, "next_step": (
            f"Wrote {len(written)} files into your clone under {folder}/: {', '.join(written)}. Fill in each "
            f"phase's instructions, then commit and push them (`git add {folder} && git commit -m "
            f"'Workflow {made.name}' && git push`) and merge them into the default branch: the team server "
            f"reads workflows from there. validate_workflow('{made.name}') checks the files in your clone "
            "meanwhile.")})

    def validate_workflow(self, name: str, repository: str | None = None) -> views.ValidationReport:
        """A workflow in the clone (not pushed yet) is checked here; any other by the server."""
        local = WorkingTree(self.clone)
        folder = f"{REPOSITORY_WORKFLOWS}/{name}"
        try:
            here = re.match(NAME, name) is not None and local.is_file(f"{folder}/{WORKFLOW_FILE}")
        except PathOutside:
            here = False
        if here:
            return Registry(Project(self.clone), [WorkflowRoot(local, REPOSITORY_WORKFLOWS, "repository",
                                                               Path(REPOSITORY_WORKFLOWS))]).validate(name)
        return views.ValidationReport.model_validate(self.server.call("validate_workflow", {"name": name}))

    def link_pull_request(self, session_id: str, repository: str, number: int, *, source: str = "mcp"
                          ) -> views.PullRequestView:
        return views.PullRequestView.model_validate(self.server.call(
            "link_pull_request", {"session_id": session_id, "repository": repository, "number": number}))

    def review_feedback(self, session_id: str) -> views.ReviewFeedback:
        return views.ReviewFeedback.model_validate(
            self.server.call("get_review_feedback", {"session_id": session_id}))


class RemoteIndex:
    """Standards search, answered by the team server (its index holds the team's standards)."""

    def __init__(self, server: TeamServer) -> None:
        self.server = server

    def search(self, query: str, n_results: int = 3, *, wait: bool = False) -> SearchResponse:
        """The server's answer; it never waits for its own index build (`wait` is ignored)."""
        return SearchResponse.model_validate(
            self.server.call("search_standards", {"query": query, "n_results": n_results}))


class _FromTheDoor:
    """The door reads the clone itself (RemoteEngine); the model's own `_meta` is not passed on."""

    def start(self, meta: dict[str, Any]) -> dict[str, Any]:
        return {}

    def completion(self, session_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        return {}

    def linked(self, repository: str, number: int) -> bool:
        return False  # the team server re-verifies when it answers the link


class DoorBackend:
    """What the tools call in team mode: the server, through its `/mcp`; nothing opened locally."""

    def __init__(self, clone: Project, server: TeamServer) -> None:
        self.project = clone
        self.server = server
        self.engine = RemoteEngine(server, clone.root)
        self.index = RemoteIndex(server)
        self.sources = _FromTheDoor()
        self.handshake = threading.Event()

    def index_for(self, repository: str | None) -> RemoteIndex:
        """The server's index: it knows the repository from the door's `_meta`."""
        return self.index

    def start_background_work(self, *, build_index: bool = False) -> None:
        """Nothing to warm: the server holds the model and the index."""

    def close(self) -> None:
        """Close the connection to the server (a later call opens another)."""
        self.server.close()


def build_door(clone: Project, url: str, token: str | None, *, repository: str | None = None):  # noqa: ANN201
    """The stdio MCP server of `agent-os mcp --server URL`, for the agent's clone."""
    from .server import build_server

    server = TeamServer(url, token, repository=repository or repository_of(clone.root))
    return build_server(clone, backend=DoorBackend(clone, server))
