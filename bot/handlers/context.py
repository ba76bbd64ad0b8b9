"""What every handler receives, and the small helpers they share."""

from __future__ import annotations

from dataclasses import dataclass

from agent_os.engine import Engine

from ..events import Event, PullRequest
from ..port import GitHubPort
from ..settings import Settings


class PermanentError(Exception):
    """A delivery that cannot succeed however often it is retried (malformed payload)."""


@dataclass
class Context:
    """The engine the sessions live in, GitHub as the handlers see it, and the settings."""

    engine: Engine
    github: GitHubPort
    settings: Settings


def repo_of(event: Event) -> str:
    """The `owner/name` an event is about (a PermanentError if it names none)."""
    repo = event.envelope.repo
    if not repo:
        raise PermanentError(f"{event.name} delivery has no repository")
    return repo


def pull_of(event: Event) -> tuple[str, int]:
    """The repository and pull request number an event is about."""
    return repo_of(event), event.part(PullRequest, "pull_request").number
