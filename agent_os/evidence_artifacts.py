"""Artifact checks: a spec file exists, holds no template markers, has its required
headings with content and enough words, and holds the counts the evidence claims."""

from __future__ import annotations

import re
from typing import Any

from . import files, markdown, templates
from .definitions import Artifact
from .evidence_model import CheckContext, Collector, read_artifact

COPY_MIN_WORDS = 40
"""Files shorter than this may well be the same in two specs (a stub, a shared note)."""


def _copied_from(ctx: CheckContext, target: str, art: Artifact, text: str) -> str | None:
    """Another spec directory holding a byte-identical file of the same name, if any."""
    if markdown.word_count(text) < COPY_MIN_WORDS:
        return None
    parent = ctx.spec_dir.rsplit("/", 1)[0] if "/" in ctx.spec_dir else ""
    try:
        siblings = ctx.files.list_dir(parent) if parent and ctx.files.is_dir(parent) else []
        sha = ctx.files.blob_sha(target)
        for name in siblings:
            other = files.join(parent, name, art.path)
            if files.join(parent, name) != ctx.spec_dir and ctx.files.is_file(other) and ctx.files.blob_sha(other) == sha:
                return other
    except (files.PathOutside, files.FileMissing):
        return None
    return None


def _check_template(art: Artifact, text: str, target: str, ctx: CheckContext, out: Collector) -> None:
    label = art.path
    hits = templates.placeholders(text)
    if hits:
        shown = ", ".join(f"line {n}: {marker!r}" for n, marker in hits[:5])
        more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
        out.fail(label, "placeholder", "no template markers left", shown + more, "Replace every placeholder with real content.")
    unchanged = templates.unchanged_template_lines(text, ctx.templates)
    if unchanged:
        shown = "; ".join(f"line {n}: {line[:60]!r}" for n, line in unchanged[:3])
        out.fail(label, "template_text", "your own content, not the workflow's template", shown,
                 "Rewrite those lines for this feature: they are the template's, word for word.")
    copy = _copied_from(ctx, target, art, text)
    if copy is not None:
        out.fail(label, "copied", "a file written for this spec", f"identical to {copy}",
                 "Write this spec's own file; a copy of another spec's does not describe this feature.")


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
        _check_template(art, text, target, ctx, out)
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
