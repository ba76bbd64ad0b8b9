"""The `agent-os` command: one entry point, a module per group of commands."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

app = typer.Typer(
    name="agent-os",
    help="Agent OS Enhanced: evidence-checked workflows, standards search and PR-gated phases "
    "for AI coding agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Markdown: docstring paragraphs reflow to the terminal's width instead of keeping
    # their source line breaks.
    rich_markup_mode="markdown",
)



def _print_version(value: bool) -> None:
    if value:
        from agent_os import __version__

        typer.echo(f"agent-os {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    # Options of `agent-os` itself; the help text is the app's.
    pass


# Each module registers its commands on `app`.
from . import standards as _standards  # noqa: E402,F401
from . import workflow as _workflow  # noqa: E402,F401
from . import mcpcli as _mcpcli  # noqa: E402,F401
from . import serve as _serve  # noqa: E402,F401
from . import appcreate as _appcreate  # noqa: E402,F401
from . import standin_cmd as _standin_cmd  # noqa: E402,F401
from . import dbcli as _dbcli  # noqa: E402,F401


def command():  # noqa: ANN201 - a click command
    """The CLI as one click command, with help screens in command-line words."""
    from typer.main import get_command

    from .helptext import plain_help

    return plain_help(get_command(app))


def main() -> None:
    """Console-script entry point."""
    # What a command imports as it starts (the MCP SDK, FastAPI, SQLAlchemy: about a second)
    # lives as long as the process: the collector's passes over it while it loads are ~8 % of
    # a start. Commands that keep running turn it back on once built (`common.running_on`);
    # the others end first.
    gc.disable()
    command()(prog_name="agent-os")
