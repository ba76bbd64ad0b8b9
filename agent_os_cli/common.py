"""What every CLI command shares: the --project/--json options, error-to-exit-code mapping,
and output helpers. Exit codes: 0 ok, 1 refused, 2 usage or input error."""

from __future__ import annotations

import functools
import gc
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from agent_os.errors import AgentOSError
from agent_os.project import Project
from .words import cli_words



class _Console(Console):
    """A console whose text speaks CLI words: the engine's hints name MCP tools, people run commands."""

    def print(self, *objects: Any, **kwargs: Any) -> None:  # noqa: A003 - rich's name
        super().print(*(cli_words(o) if isinstance(o, str) else o for o in objects), **kwargs)


console = _Console()
err_console = _Console(stderr=True)

ProjectOpt = Annotated[
    Path | None,
    typer.Option("--project", help="Project directory (default: the current directory).", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

F = TypeVar("F", bound=Callable[..., Any])


def running_on() -> None:
    """A command that keeps running (a server, the demo, an index build) calls this once built:
    the garbage collector, off while the command started (`main`), is on again, and what is
    loaded by now is frozen, so its full passes skip the modules and the app (~160,000
    objects for the team server, 30-90 ms a pass) that live as long as the process."""
    gc.freeze()
    gc.enable()


def open_project(project: Path | None, **overrides: Any) -> Project:
    """The project the command works on: --project, else the nearest folder holding
    `.agent-os/` from here up (as git finds its repository), else the current directory.

    An editor may start `agent-os mcp` in a subfolder of the project; the committed client
    configs name no absolute path, so the project is found rather than told.
    """
    return Project.open(project if project is not None else find_project(Path.cwd()), **overrides)


def find_project(start: Path) -> Path:
    """The nearest of `start` and its parents that holds `.agent-os/`; `start` if none does."""
    for folder in (start, *start.parents):
        if (folder / ".agent-os").is_dir():
            return folder
    return start


def emit_json(value: Any) -> None:
    """Print `value` (a pydantic model, dataclass-free dict or list) as JSON on stdout."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = json.dumps(value, indent=2, default=_default)
    sys.stdout.write(text + "\n")


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def quiet_library_logs() -> None:
    """Warnings and errors only, on stderr: library chatter (the MCP SDK's, httpx's, the
    model loader's) would drown the output; for `agent-os mcp`, stdout is the protocol's."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="agent-os: %(levelname)s %(message)s")
    for name in ("mcp", "httpx", "httpx2", "sentence_transformers", "uvicorn", "uvicorn.access", "bot",
                 "agent_os"):
        logging.getLogger(name).setLevel(logging.WARNING)


def guarded(fn: F) -> F:
    """Turn our errors into a message on stderr and the documented exit code.

    With --json the error is also printed on stdout as `{"error": ..., "hint": ...}` so a
    script always gets parseable output.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AgentOSError as exc:
            if kwargs.get("json_out"):
                payload: dict[str, Any] = {"error": cli_words(exc.message), "hint": cli_words(exc.hint),
                                           "kind": type(exc).__name__}
                if exc.data is not None:
                    payload["details"] = exc.data
                emit_json(payload)
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
