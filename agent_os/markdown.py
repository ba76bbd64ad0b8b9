"""Just enough markdown structure for our checks and our chunker: ATX headings (outside
fenced code), the section under each, and checkbox items. Pure functions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CHECKBOX = re.compile(r"^\s*[-*+]\s+\[([ xX])\]\s+(.*\S)\s*$")
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[ivxlc]+\.|[A-Z]\.)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    """A heading and the lines under it, up to the next heading of the same or higher level.

    Line numbers are 1-based; `end_line` is inclusive. `body` excludes the heading line.
    """

    level: int
    title: str
    line: int
    end_line: int
    body: str
    path: tuple[str, ...]  # titles of the enclosing headings, outermost first, self last


@dataclass(frozen=True)
class Checkbox:
    """A `- [ ] text` / `- [x] text` item."""

    checked: bool
    text: str
    line: int


def normalise_heading(title: str) -> str:
    """Compare headings the way a reader would: no numbering, case, emphasis or colon."""
    t = title.strip().strip("*_`").strip()
    t = _NUMBERING.sub("", t)
    t = re.sub(r"[*_`]", "", t)
    return re.sub(r"\s+", " ", t).strip().rstrip(":").strip().casefold()


def headings(text: str) -> list[tuple[int, str, int]]:
    """(level, title, line) of every ATX heading outside fenced code blocks."""
    out: list[tuple[int, str, int]] = []
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _HEADING.match(line)
        if m and m.group(2):
            out.append((len(m.group(1)), m.group(2).strip(), number))
    return out


def sections(text: str) -> list[Section]:
    """Every heading's section, in document order."""
    lines = text.splitlines()
    found = headings(text)
    result: list[Section] = []
    stack: list[tuple[int, str]] = []
    for i, (level, title, line) in enumerate(found):
        end = len(lines)
        for next_level, _, next_line in found[i + 1 :]:
            if next_level <= level:
                end = next_line - 1
                break
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        body = "\n".join(lines[line:end])
        result.append(
            Section(level, title, line, end, body, tuple(t for _, t in stack))
        )
    return result


def find_section(text: str, title: str) -> Section | None:
    """The first section whose heading matches `title` (see `normalise_heading`)."""
    want = normalise_heading(title)
    for s in sections(text):
        if normalise_heading(s.title) == want:
            return s
    return None


def checkboxes(text: str, *, first_line: int = 1) -> list[Checkbox]:
    """Checkbox items in `text`, outside fenced code; `first_line` numbers the first line."""
    out: list[Checkbox] = []
    in_fence = False
    for offset, line in enumerate(text.splitlines()):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else _CHECKBOX.match(line)
        if m:
            out.append(Checkbox(m.group(1).lower() == "x", m.group(2), first_line + offset))
    return out


def word_count(text: str) -> int:
    """Words outside headings and markdown punctuation."""
    return len(re.findall(r"[A-Za-z0-9][\w'-]*", text))
