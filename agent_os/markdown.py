"""Just enough markdown structure for our checks and our chunker: fenced code blocks (by
CommonMark's rules), ATX headings outside them, the section under each heading, and
checkbox items. This is the one place that decides what is code. Pure functions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
# An opening fence: up to three spaces, then three or more backticks or tildes.
_OPEN_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_CHECKBOX = re.compile(r"^\s*[-*+]\s+\[([ xX])\]\s+(.*\S)\s*$")
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[ivxlc]+\.|[A-Z]\.)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Fence:
    """A fenced code block: 0-based line indexes of its opening and last line (inclusive).

    `closed` is False when no closing fence came: CommonMark runs it to the end of the text.
    """

    first: int
    last: int
    marker: str
    info: str
    closed: bool


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


def _opening(line: str) -> tuple[str, str] | None:
    m = _OPEN_FENCE.match(line)
    if not m:
        return None
    marker, info = m.group(2), m.group(3)
    # A backtick fence's info string may not hold a backtick (that is inline code).
    if marker[0] == "`" and "`" in info:
        return None
    return marker, info.strip()


def _closes(line: str, marker: str) -> bool:
    """A closing fence: ≤3 spaces, the same character at least as many times, then blanks."""
    m = re.match(r"^ {0,3}(`+|~+)[ \t]*$", line)
    return bool(m) and m.group(1)[0] == marker[0] and len(m.group(1)) >= len(marker)


def fences(lines: list[str]) -> list[Fence]:
    """Every fenced code block of `lines`, in order."""
    out: list[Fence] = []
    i = 0
    while i < len(lines):
        opened = _opening(lines[i])
        if opened is None:
            i += 1
            continue
        marker, info = opened
        j = i + 1
        while j < len(lines) and not _closes(lines[j], marker):
            j += 1
        closed = j < len(lines)
        last = j if closed else len(lines) - 1
        out.append(Fence(i, last, marker, info, closed))
        i = last + 1
    return out


def code_mask(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (its fences included)."""
    mask = [False] * len(lines)
    for fence in fences(lines):
        for i in range(fence.first, fence.last + 1):
            mask[i] = True
    return mask


def outside_code(text: str) -> list[tuple[int, str]]:
    """(1-based line number, line) of every line outside fenced code blocks."""
    lines = text.splitlines()
    mask = code_mask(lines)
    return [(i + 1, line) for i, line in enumerate(lines) if not mask[i]]


def heading(line: str) -> tuple[int, str] | None:
    """(level, title) if `line` is an ATX heading with a title (the caller rules out code)."""
    m = _HEADING.match(line)
    if not m or not m.group(2):
        return None
    title = _CLOSING_HASHES.sub("", m.group(2)).strip()
    return (len(m.group(1)), title) if title else None


def normalise_heading(title: str) -> str:
    """Compare headings the way a reader would: no numbering, case, emphasis or colon."""
    t = title.strip().strip("*_`").strip()
    t = _NUMBERING.sub("", t)
    t = re.sub(r"[*_`]", "", t)
    return re.sub(r"\s+", " ", t).strip().rstrip(":").strip().casefold()


def headings(text: str) -> list[tuple[int, str, int]]:
    """(level, title, line) of every ATX heading outside fenced code blocks."""
    out: list[tuple[int, str, int]] = []
    for number, line in outside_code(text):
        found = heading(line)
        if found:
            out.append((found[0], found[1], number))
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
    for number, line in outside_code(text):
        m = _CHECKBOX.match(line)
        if m:
            out.append(Checkbox(m.group(1).lower() == "x", m.group(2), first_line + number - 1))
    return out


def word_count(text: str) -> int:
    """Words outside headings and markdown punctuation."""
    return len(re.findall(r"[A-Za-z0-9][\w'-]*", text))
