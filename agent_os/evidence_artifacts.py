"""Artifact checks: a spec file exists, holds no template markers, has its required
headings with content and enough words, and holds the counts the evidence claims."""

from __future__ import annotations

import re
from typing import Any

from . import files, markdown
from .definitions import Artifact
from .evidence_model import CheckContext, Collector, read_artifact

# Markers of a template nobody filled in. Checked outside fenced code.
_PLACEHOLDERS = re.compile(
    r"\bTODO\b|\bTBD\b|\bFIXME\b|<[A-Z][A-Z0-9_ -]{2,}>|\{\{[^}]*\}\}|\[insert\b[^\]]*\]|lorem ipsum",
    re.IGNORECASE,
)
# `<placeholder>` must stay case-sensitive (upper case) so that HTML such as <br> passes.
_ANGLE = re.compile(r"<[A-Z][A-Z0-9_ -]{2,}>")


def check_artifact(
    art: Artifact, evidence: dict[str, Any], typed_ok: set[str], ctx: CheckContext, out: Collector
) -> None:
    """One artifact file: present, no placeholders, required headings, words, claimed counts."""
    label = art.path
    try:
        target = files.join(ctx.spec_dir, art.path)
    except files.PathOutside:
        target = ""
    if not target or not files.inside(target, ctx.spec_dir):
        out.fail(label, "path", "a file inside the spec directory", art.path, "Fix the workflow definition.")
        return
    text = read_artifact(ctx.files, target, label, out)
    if text is None:
        return
    before = len(out.failures)
    if art.reject_placeholders:
        hits = [
            (n, m.group(0))
            for n, line in markdown.outside_code(text)
            for m in [_PLACEHOLDERS.search(line)]
            if m and (not m.group(0).startswith("<") or _ANGLE.search(line))
        ]
        if hits:
            shown = ", ".join(f"line {n}: {marker!r}" for n, marker in hits[:5])
            more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
            out.fail(label, "placeholder", "no template markers left", shown + more, "Replace every placeholder with real content.")
    for heading in art.required_headings:
        section = markdown.find_section(text, heading)
        if section is None:
            out.fail(label, "heading", f"a heading '{heading}'", "no such heading", f"Add a '## {heading}' section with real content.")
        elif markdown.word_count(section.body) < 3:
            out.fail(label, "heading", f"content under '{heading}'", f"an empty section at line {section.line}", f"Write the '{heading}' section.")
    if art.min_words:
        words = markdown.word_count(text)
        if words < art.min_words:
            out.fail(label, "min_words", f"at least {art.min_words} words", f"{words} words", "The artifact is too thin; complete it.")
    for rule in art.counts:
        scope = text
        where = label
        if rule.section:
            section = markdown.find_section(text, rule.section)
            if section is None:
                continue  # already reported by the heading check when required
            scope, where = section.body, f"{label} § {rule.section}"
        found = sum(1 for _, line in markdown.outside_code(scope) if re.search(rule.pattern, line))
        if rule.evidence not in typed_ok:
            continue  # the field itself is missing or mistyped: already reported
        claimed = evidence[rule.evidence]
        what = rule.label or f"lines matching /{rule.pattern}/"
        if claimed != found:
            out.fail(
                rule.evidence,
                "count",
                f"{claimed} {what} in {where} (as claimed)",
                f"{found}",
                f"Report the true count ({found}) or change {label} so it holds what you claim.",
            )
        else:
            out.verified.append(f"{where}: {found} {what}")
    if len(out.failures) == before:
        out.verified.append(f"{label}: present and complete")
