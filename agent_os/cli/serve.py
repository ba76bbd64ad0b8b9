"""Placeholder: commands registered later."""

from __future__ import annotations
