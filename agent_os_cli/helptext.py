"""Help screens in the words of a command line, not of Python.

Typer labels each parameter with its Python annotation (`<bool>`, `<list[Path]>`, `{query}`).
People read PATH, N, TEXT; a flag needs no label; an argument is its name in capitals. One
rule here, applied to every command when the CLI starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.core import TyperArgument

_LABELS: dict[type, str] = {int: "N", float: "NUMBER", str: "TEXT", Path: "PATH"}


def _label(param: Any) -> str:
    if param.metavar:
        return param.metavar
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    descriptor = getattr(param, "type_descriptor", None)
    if getattr(descriptor, "is_choice", False) and descriptor.choices:
        return "|".join(str(c) for c in descriptor.choices)
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return _LABELS.get(_element(annotation), "TEXT")


def _element(annotation: Any) -> Any:
    """list[Path] -> Path; Path | None -> Path."""
    for arg in getattr(annotation, "__args__", ()) or ():
        if arg is not type(None):
            return _element(arg)
    return annotation


def plain_help(command: Any) -> Any:
    """Relabel every parameter of `command` and its subcommands (in place); returns it."""
    for param in command.params:
        label = _label(param)
        if isinstance(param, TyperArgument):
            name = (param.metavar or param.name or "").upper()
            param.metavar = name
            param.display_type_rich = lambda ctx=None: ""  # type: ignore[method-assign]
            param._usage_display_name = (  # type: ignore[attr-defined]
                lambda n=name, required=param.required: n if required else f"[{n}]")
        else:
            param.display_type_rich = lambda ctx=None, label=label: label  # type: ignore[method-assign]
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub)
    original = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None:
            option.display_type_rich = lambda ctx=None: ""  # type: ignore[attr-defined]
        return option

    command.get_help_option = help_option  # type: ignore[method-assign]
    return command
