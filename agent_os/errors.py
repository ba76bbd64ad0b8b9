"""Our exception hierarchy.

Every error carries a message a user (or an agent) can act on. The doors map the
classes to their own vocabulary: the CLI to exit codes (`Refused` -> 1, everything else
-> 2), MCP to tool errors, HTTP to status codes.
"""

from __future__ import annotations

from typing import Any


class AgentOSError(Exception):
    """Base class: `message` says what happened, `hint` what to do next."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.data = data

    def __str__(self) -> str:
        sep = "\n" if "\n" in self.message else " "
        return f"{self.message}{sep}{self.hint}".strip()


class InputError(AgentOSError):
    """The caller's input is malformed: a bad name, a hostile path, a wrong type."""


class NotFoundError(AgentOSError):
    """An id or name that does not exist: a session, a workflow, a phase, a task, a file."""


class WorkflowDefinitionError(AgentOSError):
    """A workflow directory that does not load; `problems` lists every issue found."""

    def __init__(self, message: str, problems: list[str], *, hint: str = "") -> None:
        super().__init__(message, hint=hint, data=problems)
        self.problems = problems

    def __str__(self) -> str:
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


class StoreError(AgentOSError):
    """The database is missing, corrupt, or from a newer version of Agent OS."""


class Refused(AgentOSError):
    """A well-formed request the rules do not allow right now (exit code 1)."""

    exit_code = 1


class WrongPhase(Refused):
    """The call names a phase that is not the session's active phase."""


class GateClosed(Refused):
    """The phase passed its checkpoint and waits for a person's approval."""


class EvidenceRejected(Refused):
    """The checkpoint refused the evidence; `data` is the `CheckResult` with every failure."""


class SessionComplete(Refused):
    """Every phase of the session is already complete."""


class Conflict(Refused):
    """Another call changed the session at the same moment; nothing of this call was written."""
