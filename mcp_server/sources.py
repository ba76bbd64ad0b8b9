"""Where a tool call's files are read, and which repository it is about.

The agent's door (`agent-os mcp --server URL`) attaches to its requests, in `_meta`, the
repository of its clone and, with `complete_phase` and `start_workflow`, a snapshot of the
files the call reads. The engine then reads exactly those bytes. Without a snapshot the
call reads the server's default source: the project's working tree when the server runs
solo; on the team server, the linked pull request's head commit (`agent_os_cli/pr_sources.py`).
"""

from __future__ import annotations

from typing import Any

from agent_os import files as filesource
from agent_os.snapshot import Snapshot

from . import scope

META_SNAPSHOT = "agent-os.dev/snapshot"
META_REPOSITORY = "agent-os.dev/repository"


def request_meta(ctx: Any) -> dict[str, Any]:
    """The `_meta` of the request a tool answers ({} when there is none)."""
    try:
        meta = ctx.request_context.meta
    except (AttributeError, ValueError):  # called outside a request (tests calling the function)
        return {}
    return dict(meta) if isinstance(meta, dict) else {}


def snapshot_in(meta: dict[str, Any]) -> filesource.FileSource | None:
    """The snapshot a door sent, as a file source (None if it sent none; InputError if it is bad)."""
    wire = meta.get(META_SNAPSHOT)
    return Snapshot.from_wire(wire).source() if wire is not None else None


class Sources:
    """What a tool call reads: the door's snapshot, else the engine's own source."""

    def start(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for `Engine.start` (files, repository)."""
        out: dict[str, Any] = {}
        files = snapshot_in(meta)
        if files is not None:
            out["files"] = files
        repository = meta.get(META_REPOSITORY)
        if repository:
            out["repository"] = repository
        return out

    def completion(self, session_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for `Engine.complete_phase` (files)."""
        files = snapshot_in(meta)
        return {"files": files} if files is not None else {}

    def linked(self, repository: str, number: int) -> bool:
        """A session was just linked to this pull request by the tool; True if the PR was
        read again (the team server re-verifies at its head at once; solo has no GitHub)."""
        return False


def repository_of(ctx: Any) -> str | None:
    """The repository a call is about (the door's clone, or a token's only one), for the
    workflows and standards it sees; None: the shipped ones and the server's own."""
    return scope.call_repository(request_meta(ctx).get(META_REPOSITORY))
