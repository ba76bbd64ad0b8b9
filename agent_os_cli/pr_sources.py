"""The team server's answer to "where are this call's files?" when no door sent them.

An agent that talks to `/mcp` directly (a cloud agent in a checkout GitHub hosts) has no
door to read its clone: its evidence is checked against its linked pull request's head
commit, read through git trees and blobs. So it must push first, and a refusal says so.
The server never reads a repository's files from its own disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent_os.engine import Engine
from agent_os.errors import Refused
from agent_os.files import Snapshot
from bot.port import GitHubPort
from mcp_server.sources import Sources

log = logging.getLogger(__name__)

NO_FILES = Snapshot({})
"""The team server's default source: it holds no repository's files."""


class PullRequestSources(Sources):
    """A door's snapshot when it sent one; else the linked PR's head commit."""

    def __init__(self, engine: Engine, github: GitHubPort,
                 refresh: Callable[[str, int], None] | None = None) -> None:
        self.engine = engine
        self.github = github
        self.refresh = refresh
        """The bot's re-read of a PR (head, re-verification, base policy, reviews, checks)."""

    def start(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Without a door's listing, the spec folders this server knows of are what exists:
        an approved spec created through it can be executed."""
        out = super().start(meta)
        if "files" not in out:
            out["files"] = Snapshot({}, directories=[s.spec_dir for s in self.engine.store.sessions()
                                                     if not out.get("repository") or
                                                     (s.repository or "").lower() == out["repository"].lower()])
        return out

    def completion(self, session_id: str, meta: dict[str, Any]) -> dict[str, Any]:
        out = super().completion(session_id, meta)
        if "files" in out:
            return out
        prs = self.engine.state(session_id).pull_requests
        if not prs:
            raise Refused(
                f"Session {session_id} has no pull request, and no files came with this call: the team "
                "server checks evidence against the pull request's head commit.",
                hint="Commit and push your branch, open a pull request, call link_pull_request, then "
                     "complete_phase again (or work through `agent-os mcp --server URL`, which sends the files).")
        pr = prs[-1]
        head = self.github.pull(pr.repository, pr.number)["head"]["sha"]
        return {"files": self.github.files_at(pr.repository, head),
                "note": f"Checked at {pr.repository}#{pr.number}'s head commit {head[:7]}: push your latest "
                        "commits first if the files there are not your latest."}

    def linked(self, repository: str, number: int) -> bool:
        """Re-verify at once, as a link from a webhook or `/agent-os refresh` does: the PR's
        head is read, every completed phase checked there, its checks brought up to date.
        The link stands if GitHub cannot be read now; the next push or refresh does it."""
        if self.refresh is None:
            return False
        try:
            self.refresh(repository, number)
        except Exception:  # noqa: BLE001 - the link is made; verifying it waits for the next event
            log.warning("re-verifying %s#%d after link_pull_request failed; the next webhook retries",
                        repository, number, exc_info=True)
            return False
        return True
