"""One template detector: what in a spec file is still template rather than content.

Instruction-like placeholders in any bracket style (`<Feature Name>`, `[Describe the …]`,
`{{feature}}`, `{Feature name}`), marker words (TODO, TBD, FIXME, lorem ipsum), and
sentences left unchanged from the workflow's own templates (the markdown blocks of its
instructions). Pure functions over text; code blocks and inline code are not prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import markdown

_INLINE_CODE = re.compile(r"`+[^`]*`+")
_MARKERS = re.compile(r"\b(?:TODO|TBD|FIXME|XXX)\b|lorem ipsum|\.\.\.\s*$", re.IGNORECASE)
# Verbs and nouns templates put in brackets: "[Describe the goal]", "<Insert name here>".
_INSTRUCTION = (r"(?:describe|insert|add|enter|write|list|explain|fill|replace|your|specify|provide|summari[sz]e|"
                r"name|define|state|give|outline|placeholder|example|feature|project|component|requirement|tbd|todo)")
_BRACKETED = [
    re.compile(r"\{\{[^{}]*\}\}"),                                        # {{ feature }}
    re.compile(r"\{\s*[A-Za-z][^{}]{1,60}\}"),                             # {Feature name}
    re.compile(r"(?<![\w])<[A-Z][\w-]*(?:[ _-][^<>=\"'/]{0,60})?>"),            # <Feature Name>
    re.compile(r"(?<![\w])<\s*" + _INSTRUCTION + r"\b[^<>=\"'/]{0,60}>", re.IGNORECASE),  # <describe it>
    re.compile(r"\[\s*" + _INSTRUCTION + r"\b[^\]]{0,80}\]", re.IGNORECASE),  # [Describe the ...]
    re.compile(r"\[\s*(?:\.\.\.|…)\s*\]"),                                 # [...]
]
_HTML_TAG = re.compile(r"^</?(?:a|b|i|u|p|br|hr|em|strong|code|pre|sub|sup|div|span|img|details|summary|table|tr|td|"
                       r"th|thead|tbody|ul|ol|li|kbd|small|mark|del|ins|s|q|abbr|dl|dt|dd|h[1-6])\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")
MIN_TEMPLATE_WORDS = 6


def _prose(text: str) -> list[tuple[int, str]]:
    return [(n, _INLINE_CODE.sub(" ", line)) for n, line in markdown.outside_code(text)]


def placeholders(text: str) -> list[tuple[int, str]]:
    """(line, marker) of every placeholder left in `text`, outside code."""
    hits: list[tuple[int, str]] = []
    for number, line in _prose(text):
        found = None
        for pattern in _BRACKETED:
            for m in pattern.finditer(line):
                if m.group(0).startswith("<") and _HTML_TAG.match(m.group(0)):
                    continue
                found = m.group(0)
                break
            if found:
                break
        if found is None and (m := _MARKERS.search(line)):
            found = m.group(0).strip() or "..."
        if found:
            hits.append((number, found))
    return hits


def _normal(line: str) -> str:
    return " ".join(w.casefold() for w in _WORD.findall(line))


def template_sentences(instructions: Iterable[str]) -> frozenset[str]:
    """The lines of the markdown skeletons shown in a workflow's instructions (fenced blocks
    holding placeholders), each of at least `MIN_TEMPLATE_WORDS` words, normalised."""
    found: set[str] = set()
    for text in instructions:
        lines = text.splitlines()
        for fence in markdown.fences(lines):
            if fence.info.split()[:1] not in ([], ["markdown"], ["md"]):
                continue
            body = lines[fence.first + 1 : fence.last]
            # A skeleton to fill in (it has placeholders), not a worked example of good content.
            if not placeholders("\n".join(body)):
                continue
            for line in body:
                norm = _normal(line)
                if len(norm.split()) >= MIN_TEMPLATE_WORDS:
                    found.add(norm)
    return frozenset(found)


def unchanged_template_lines(text: str, templates: frozenset[str]) -> list[tuple[int, str]]:
    """(line, text) of the lines of `text` that are a template's line left as it was."""
    if not templates:
        return []
    return [(n, line.strip()) for n, line in markdown.outside_code(text) if _normal(line) in templates]
