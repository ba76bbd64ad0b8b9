"""Refusals as tool errors the agent can act on.

The engine's exceptions already say what happened and what to do next; here they become
`ToolError`s (an `isError` result the model reads), with the refusal's kind first so the
agent can tell "fix your evidence" from "wait for a person".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from agent_os.errors import (
    AgentOSError,
    EvidenceRejected,
    GateClosed,
    InputError,
    NotFoundError,
    Refused,
    SessionComplete,
    WorkflowDefinitionError,
    WrongPhase,
)

F = TypeVar("F", bound=Callable[..., Any])

_HEADINGS: list[tuple[type[AgentOSError], str]] = [
    (EvidenceRejected, "Refused: the checkpoint rejected the evidence."),
    (WrongPhase, "Refused: wrong phase."),
    (GateClosed, "Refused: this phase waits for a person's approval; no tool can approve it."),
    (SessionComplete, "Refused: the session is complete."),
    (Refused, "Refused."),
    (NotFoundError, "Not found."),
    (WorkflowDefinitionError, "The workflow definition has problems."),
    (InputError, "Invalid input."),
]


def tool_error_text(exc: AgentOSError) -> str:
    """The text of the tool error for `exc`: kind, what happened, every failure, what next."""
    heading = next((h for cls, h in _HEADINGS if isinstance(exc, cls)), "Error.")
    body = exc.message if not isinstance(exc, WorkflowDefinitionError) else str(exc)
    parts = [heading, body]  # an EvidenceRejected message already lists every failure
    if exc.hint and not isinstance(exc, WorkflowDefinitionError):
        parts.append(f"Next: {exc.hint}")
    return "\n\n".join(p for p in parts if p)


@contextmanager
def _as_tool_errors(tool: str, on_call: Callable[[str, bool], None] | None) -> Iterator[None]:
    try:
        yield
    except AgentOSError as exc:
        if on_call is not None:
            on_call(tool, False)
        raise ToolError(tool_error_text(exc)) from exc
    if on_call is not None:
        on_call(tool, True)


def refusals_as_tool_errors(fn: F, on_call: Callable[[str, bool], None] | None = None) -> F:
    """Run a tool, turning our errors into tool errors whose text says what to do next.

    `on_call(tool name, ok)` is told of each call, for metrics.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _as_tool_errors(fn.__name__, on_call):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
