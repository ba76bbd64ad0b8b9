"""Webhook events as the handlers see them: the fields we read, typed, and nothing else.

githubkit 0.16.1's webhook models (`githubkit.webhooks.parse_obj`) reject 25 of GitHub's
own example payloads in tests/fixtures/github-payloads (for instance `labels[].archived_by`
is required there but absent in real deliveries), so a strict parse would drop genuine
events. We validate only what we use, with lenient pydantic models (extra fields
ignored), the way gidgethub hands handlers the parsed JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


_M = TypeVar("_M", bound=_Model)


class User(_Model):
    login: str = ""
    type: str = "User"
    id: int | None = None


class Ref(_Model):
    ref: str = ""
    sha: str = ""


class PullRequest(_Model):
    number: int
    body: str | None = None
    user: User = User()
    head: Ref = Ref()
    base: Ref = Ref()
    state: str = "open"


class ReviewComment(_Model):
    id: int
    path: str = ""
    line: int | None = None
    original_line: int | None = None
    body: str = ""
    user: User | None = None
    html_url: str = ""
    in_reply_to_id: int | None = None


class Thread(_Model):
    node_id: str
    comments: list[ReviewComment] = []


class App(_Model):
    id: int | None = None
    slug: str | None = None


class IssueComment(_Model):
    id: int
    body: str | None = ""
    user: User | None = None
    performed_via_github_app: App | None = None


class Issue(_Model):
    number: int
    pull_request: dict[str, Any] | None = None


class CheckRun(_Model):
    id: int
    name: str = ""
    head_sha: str = ""
    external_id: str | None = None
    app: App | None = None


class Envelope(_Model):
    """The parts every event may carry."""

    action: str | None = None
    sender: User | None = None
    repository: dict[str, Any] | None = None
    installation: dict[str, Any] | None = None

    @property
    def repo(self) -> str | None:
        return (self.repository or {}).get("full_name")

    @property
    def installation_id(self) -> int | None:
        value = (self.installation or {}).get("id")
        return int(value) if isinstance(value, int) else None


@dataclass(frozen=True)
class Event:
    """One delivery: its id, event name, action and payload (parsed lazily per handler)."""

    delivery_id: str
    name: str
    payload: dict[str, Any]

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def envelope(self) -> Envelope:
        return Envelope.model_validate(self.payload)

    def part(self, model: type[_M], key: str) -> _M:
        """The payload's `key` validated as `model` (raises pydantic's ValidationError)."""
        return model.model_validate(self.payload.get(key))
