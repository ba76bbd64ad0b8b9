"""Where the shipped workflows and standards live, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    # A wheel carries them as package data; a checkout (editable install) beside the package.
    packaged = _PACKAGE / "_data" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


def shipped_workflows_dir() -> Path:
    """The directory of the workflows that ship with Agent OS."""
    return _shipped("workflows")


def shipped_standards_dir() -> Path:
    """The directory of the standards library that ships with Agent OS."""
    return _shipped("standards")
