"""The `agent-os` command: one entry point, a module per group of commands."""

from __future__ import annotations

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

# Each module registers its commands on `app`.
from . import standards as _standards  # noqa: E402,F401
from . import workflow as _workflow  # noqa: E402,F401
from . import mcpcli as _mcpcli  # noqa: E402,F401
from . import serve as _serve  # noqa: E402,F401
from . import standin_cmd as _standin_cmd  # noqa: E402,F401
from . import dbcli as _dbcli  # noqa: E402,F401


def main() -> None:
    """Console-script entry point."""
    app()
