"""A webhook body checked as GitHub sends it: UTF-8 JSON, an object, not absurdly deep. Pure.

Whatever a sender with the secret can put in a body ends as a 4xx with the reason, never as
a 500: GitHub records a 500 as a failed delivery, and a traceback in the log helps nobody.
https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

JSON_TYPES = ("application/json", "application/vnd.github+json")
# GitHub's payloads nest about ten levels; Python's own parser gives up near a thousand.
MAX_DEPTH = 100


Outcome = Literal["new", "duplicate", "queued", "retry"]
"""What recording a delivery found: "new"; "duplicate" (already done); "queued" (waiting or
running); "retry" (it had failed and will run again: GitHub's redelivery)."""


@dataclass(frozen=True)
class Incoming:
    """A verified delivery to record; `body` is its JSON as received (the worker parses it)."""

    delivery_id: str
    event: str
    action: str | None
    pr_key: str | None
    body: str


def pr_key_of(payload: dict[str, Any]) -> str | None:
    """"owner/repo#number" of the pull request a webhook concerns, or None (installation, ping)."""
    repo = (payload.get("repository") or {}).get("full_name")
    if not isinstance(repo, str):
        return None
    # `is None`, not `or`: a falsy 0 would fall through to the next place and lose the key.
    number = (payload.get("pull_request") or {}).get("number")
    if number is None:
        number = (payload.get("issue") or {}).get("number")
    if number is None:
        prs = (payload.get("check_run") or {}).get("pull_requests") or []
        number = prs[0].get("number") if prs and isinstance(prs[0], dict) else None
    return f"{repo.lower()}#{number}" if isinstance(number, int) else None


class PayloadError(Exception):
    """The body cannot be a webhook delivery: `status` and `reason` for the answer and metrics."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def check_content_type(content_type: str | None) -> None:
    """Refuse anything but JSON (a missing header is allowed: the body decides)."""
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES:
        return
    hint = " Set the App's webhook content type to application/json." if "form" in media else ""
    raise PayloadError(415, "content_type", f"Content-Type {media[:60]!r} is not JSON.{hint}")


def parse_payload(body: bytes) -> dict[str, Any]:
    """The delivery's JSON object; raises PayloadError (400) with the reason otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(400, "encoding", f"The body is not UTF-8 (byte {exc.start}); GitHub sends UTF-8 JSON.") \
            from None
    try:
        payload = json.loads(text)
    except RecursionError:
        raise PayloadError(400, "json", f"The JSON body nests deeper than {MAX_DEPTH} levels.") from None
    except ValueError as exc:  # JSONDecodeError, and integers over Python's digit limit
        raise PayloadError(400, "json", f"The body is not JSON: {str(exc)[:120]}.") from None
    if not isinstance(payload, dict):
        raise PayloadError(400, "json", "The body is not a JSON object.")
    if _depth_over(payload, MAX_DEPTH):
        raise PayloadError(400, "json", f"The JSON body nests deeper than {MAX_DEPTH} levels.")
    return payload


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests more than `limit` containers deep (level by level: no recursion to
    blow, and no tuple per child, which halves the cost on every webhook)."""
    level, depth = [value], 1
    while level:
        if depth > limit:
            return True
        below: list[Any] = []
        for node in level:
            below += [c for c in (node.values() if type(node) is dict else node)
                      if type(c) is dict or type(c) is list]
        level, depth = below, depth + 1
    return False
