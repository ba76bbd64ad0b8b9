"""What the benchmarks share: one percentile, one description of the machine."""

from __future__ import annotations

import os
import platform


def percentile(values: list[float], q: float) -> float:
    """The value at quantile `q` (0..1) of `values`, by rank (no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def machine() -> str:
    """CPUs, architecture, OS and Python: what a figure was measured on."""
    return (f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}, "
            f"Python {platform.python_version()}")
