"""The CLI's words for what the engine and the workflows say in MCP tool words.

The engine's hints and the workflows' instructions are written for agents, who call tools
(`get_current_phase('ses_1')`); a person at a terminal runs commands (`agent-os phase
ses_1`). Every message the CLI prints passes through `cli_words`, so a person never meets a
tool name; the data (JSON output) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# What each tool is on the command line, given its arguments as written in the text.
_SESSION = "SESSION"


def _arg(args: list[str], i: int, default: str) -> str:
    """The i-th argument when the text gives a value ('ses_1', 3); a placeholder otherwise."""
    if i < len(args):
        raw = args[i].strip()
        if raw[:1] in "'\"" or raw.isdigit():
            return raw.strip("'\"")
    return default


def _quoted(args: list[str], i: int, default: str) -> str:
    if i < len(args) and args[i].strip()[:1] in "'\"":
        return '"' + args[i].strip().strip("'\"") + '"'
    return default


_COMMANDS: dict[str, Callable[[list[str]], str]] = {
    "search_standards": lambda a: f"agent-os search {_quoted(a, 0, 'QUERY')}",
    "get_current_phase": lambda a: f"agent-os phase {_arg(a, 0, _SESSION)}",
    "get_task": lambda a: f"agent-os phase {_arg(a, 0, _SESSION)} --task {_arg(a, 2, 'TASK')}",
    "complete_phase": lambda a: f"agent-os complete {_arg(a, 0, _SESSION)} {_arg(a, 1, 'PHASE')} --evidence FILE.json",
    "get_workflow_state": lambda a: f"agent-os status {_arg(a, 0, _SESSION)}",
    "list_sessions": lambda a: "agent-os status",
    "start_workflow": lambda a: f"agent-os start {_arg(a, 0, 'WORKFLOW')} {_arg(a, 1, 'TARGET')}",
    "list_workflows": lambda a: "agent-os workflows list",
    "validate_workflow": lambda a: f"agent-os workflows validate {_arg(a, 0, 'NAME')}",
    "create_workflow": lambda a: "a workflow folder of your own in .agent-os/workflows/",
    "get_review_feedback": lambda a: "the review comments on the pull request",
    "link_pull_request": lambda a: f"an Agent-OS-Session: {_arg(a, 0, _SESSION)} line in the pull request's "
                                   "description",
}

TOOL_NAMES = frozenset(_COMMANDS)
_CALL = re.compile(r"\b(?:(?P<verb>[Cc]all|[Rr]ead|[Uu]se)\s+)?(?P<tool>" + "|".join(sorted(_COMMANDS, key=len, reverse=True))
                   + r")\b(?:\((?P<args>[^()]*)\))?")
_ARGS = re.compile(r"""'[^']*'|"[^"]*"|[^,]+""")


def cli_words(text: str, session: str | None = None) -> str:
    """`text` with every MCP tool call written as the command (or action) a person uses.

    `session` fills the session placeholder when the text names none.
    """

    def replace(m: re.Match[str]) -> str:
        args = [a.strip() for a in _ARGS.findall(m.group("args") or "") if a.strip()]
        command = _COMMANDS[m.group("tool")](args)
        if session:
            command = command.replace(_SESSION, session)
        verb = m.group("verb")
        if verb:
            verb = ("Run " if verb[0].isupper() else "run ") if command.startswith("agent-os") else verb + " "
        return (verb or "") + command

    return _CALL.sub(replace, text)
