"""Repository path patterns, as teams write them in `.agent-os/config.yaml` (`src/**`, `*.py`).

`*` and `?` stay inside one path segment; `**` spans any number of segments (also none).
A pattern without a slash matches the file name in any folder, as in `.gitignore`.
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    text = pattern.strip().lstrip("/")
    if "/" not in text.rstrip("/"):
        text = "**/" + text
    if text.endswith("/"):
        text += "**"
    out, i = [], 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif text.startswith("**", i):
            out.append(".*")
            i += 2
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return re.compile("".join(out))


def matches(pattern: str, path: str) -> bool:
    """Whether repository path `path` (POSIX, relative) matches `pattern`."""
    return _compile(pattern).fullmatch(path.lstrip("/")) is not None


def matching(patterns: list[str], paths: list[str]) -> list[str]:
    """The paths that match any of the patterns, in their order."""
    return [p for p in paths if any(matches(pat, p) for pat in patterns)]
