"""Markdown-aware chunking: front matter, then passages cut at headings, sized for the
embedding model's window, each carrying its heading path and its line range in the file.

Pure functions, no I/O. A document is cut into blocks (a heading line, a paragraph, a list
item, a fenced code block); the blocks of one top-level section are packed into chunks of
about equal size under `max_tokens`, preferring to break at headings. Code fences are only
split when a single fence is longer than a whole chunk.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from .. import markdown
from ..yamlload import load_yaml
from .models import Chunk, ParsedDocument

DEFAULT_MAX_TOKENS = 200
"""Estimated tokens per chunk; with the heading path it stays under MiniLM's 256 window."""

_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+\S")
_WORD = re.compile(r"[A-Za-z]+")
_OTHER_TOKEN = re.compile(r"\d+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Roughly how many WordPiece tokens `text` makes (within ~10% on our library).

    Counting with the real tokenizer would tie chunk boundaries to one model; this keeps
    chunking deterministic and cheap. Long words split into several pieces, and every
    digit run or punctuation mark is a token of its own.
    """
    words = sum(1 + len(w) // 10 for w in _WORD.findall(text))
    return words + len(_OTHER_TOKEN.findall(text))


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """The YAML front matter of `text` (or `{}`) and the 0-based index of the first body line.

    Front matter that is not valid YAML, or not a mapping, is treated as absent metadata but
    still kept out of the body, so a typo never leaks `title:` lines into the index.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            try:
                data = load_yaml("\n".join(lines[1:i])) or {}
            except yaml.YAMLError:
                data = {}
            return (data if isinstance(data, dict) else {}), i + 1
    return {}, 0  # no closing marker: not front matter after all


@dataclass(frozen=True)
class _Block:
    first: int  # 0-based line indexes, inclusive
    last: int
    path: tuple[tuple[int, str], ...]  # (level, title) of enclosing headings, self included
    is_heading: bool
    tokens: int


def _blocks(lines: list[str], start: int) -> list[_Block]:
    blocks: list[_Block] = []
    stack: list[tuple[int, str]] = []
    para_first: int | None = None

    def close_para(last: int) -> None:
        nonlocal para_first
        if para_first is not None and last >= para_first:
            text = "\n".join(lines[para_first : last + 1])
            blocks.append(_Block(para_first, last, tuple(stack), False, estimate_tokens(text)))
        para_first = None

    # Where code blocks end is markdown's decision, made in one place.
    fence_end = {f.first + start: f.last + start for f in markdown.fences(lines[start:])}
    i = start
    while i < len(lines):
        line = lines[i]
        if i in fence_end:
            close_para(i - 1)
            j = fence_end[i]
            text = "\n".join(lines[i : j + 1])
            blocks.append(_Block(i, j, tuple(stack), False, estimate_tokens(text)))
            i = j + 1
            continue
        heading = markdown.heading(line)
        if heading:
            close_para(i - 1)
            level = heading[0]
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append(heading)
            blocks.append(_Block(i, i, tuple(stack), True, estimate_tokens(line)))
        elif not line.strip():
            close_para(i - 1)
        elif _LIST_ITEM.match(line):
            # Each top-level list item is a unit: rules lists are long, their items are not.
            close_para(i - 1)
            para_first = i
        elif para_first is None:
            para_first = i
        i += 1
    close_para(len(lines) - 1)
    return blocks


def _group_level(blocks: list[_Block]) -> int:
    """The heading level whose sections are packed separately: `##` under a single `#` title."""
    levels = sorted({b.path[-1][0] for b in blocks if b.is_heading})
    if not levels:
        return 0
    top = levels[0]
    tops = [b for b in blocks if b.is_heading and b.path[-1][0] == top]
    if len(tops) == 1 and len(levels) > 1:
        return levels[1]
    return top


def _split_long(block: _Block, lines: list[str], max_tokens: int) -> list[_Block]:
    """Cut one block longer than a chunk (a huge code fence or paragraph) at line breaks."""
    out: list[_Block] = []
    first, tokens = block.first, 0
    for i in range(block.first, block.last + 1):
        t = estimate_tokens(lines[i])
        if tokens and tokens + t > max_tokens:
            out.append(_Block(first, i - 1, block.path, False, tokens))
            first, tokens = i, 0
        tokens += t
    out.append(_Block(first, block.last, block.path, False, tokens))
    return out


def _pack(group: list[_Block], max_tokens: int) -> list[list[_Block]]:
    total = sum(b.tokens for b in group)
    if total <= max_tokens:
        return [group]
    target = total / math.ceil(total / max_tokens)
    chunks: list[list[_Block]] = []
    current: list[_Block] = []
    size = 0
    for block in group:
        if current and not current[-1].is_heading:
            too_big = size + block.tokens > max_tokens
            full = size >= target
            at_heading = block.is_heading and size >= target / 2
            if too_big or full or at_heading:
                chunks.append(current)
                current, size = [], 0
        current.append(block)
        size += block.tokens
    if current:
        chunks.append(current)
    return chunks


def _common_path(blocks: list[_Block]) -> tuple[str, ...]:
    paths = [b.path for b in blocks]
    common: list[str] = []
    for items in zip(*paths):
        if all(item == items[0] for item in items):
            common.append(items[0][1])
        else:
            break
    return tuple(common)


def chunk_markdown(
    text: str, *, title: str = "", max_tokens: int = DEFAULT_MAX_TOKENS, body_start: int = 0
) -> list[Chunk]:
    """Cut markdown `text` into chunks; lines before `body_start` (front matter) are skipped.

    Each chunk keeps the verbatim lines `start_line..end_line` (1-based, inclusive) of
    `text`, and its heading path; `title` is put in front of paths that do not start with it.
    """
    lines = text.splitlines()
    blocks = _blocks(lines, body_start)
    level = _group_level(blocks)
    groups: list[list[_Block]] = []
    key: object = object()
    for block in blocks:
        block_key = tuple(h for h in block.path if h[0] <= level)
        if not groups or block_key != key:
            groups.append([])
            key = block_key
        if block.tokens > max_tokens and not block.is_heading:
            groups[-1].extend(_split_long(block, lines, max_tokens))
        else:
            groups[-1].append(block)
    chunks: list[Chunk] = []
    for group in groups:
        for packed in _pack(group, max_tokens):
            if len(groups) > 1 and all(b.is_heading for b in packed):
                continue  # a title with nothing under it: every heading path carries it
            path = _common_path(packed)
            if title and (not path or path[0] != title):
                path = (title, *path)
            first, last = packed[0].first, packed[-1].last
            body = "\n".join(lines[first : last + 1]).strip("\n")
            if not body.strip():
                continue
            chunks.append(Chunk(" > ".join(path), first + 1, last + 1, body))
    return chunks


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [t for t in re.split(r"[,\s]+", value) if t]
    if not isinstance(value, list):
        return ()
    return tuple(str(t).strip().lower() for t in value if str(t).strip())


def parse_document(
    text: str, *, fallback_title: str, max_tokens: int = DEFAULT_MAX_TOKENS
) -> ParsedDocument:
    """Front matter (`title`, `tags`, `summary`) and chunks of one markdown document.

    The title comes from the front matter, else the first `#` heading, else `fallback_title`
    (the file name). Front matter is metadata: it never becomes chunk text.
    """
    meta, body_start = split_front_matter(text)
    title = str(meta.get("title") or "").strip()
    if not title:
        body = "\n".join(text.splitlines()[body_start:])
        title = next((t for level, t, _ in markdown.headings(body) if level == 1), "")
    title = title or fallback_title
    chunks = chunk_markdown(text, title=title, max_tokens=max_tokens, body_start=body_start)
    return ParsedDocument(
        title=title,
        tags=_tags(meta.get("tags")),
        summary=str(meta.get("summary") or "").strip(),
        chunks=chunks,
    )
