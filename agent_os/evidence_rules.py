"""Rules as data (rule_definitions.Rule), evaluated against the evidence and the spec's
files: counts in any file, one field equal to another, values read from a file, distinct
items, links that resolve, ids that carry content. A refusal names the rule's id."""

from __future__ import annotations

import re
from typing import Any

from . import files, markdown
from .evidence_model import CheckContext, Collector, read_artifact, short
from .rule_definitions import Rule

_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_WORD = re.compile(r"[A-Za-z][\w'-]*")


def _scope(rule: Rule, ctx: CheckContext, out: Collector, texts: dict[str, str | None]) -> tuple[str, str] | None:
    """The text the rule reads (its file, or the file's section) and where that is."""
    assert rule.file is not None
    if rule.file not in texts:
        texts[rule.file] = read_artifact(ctx.files, files.join(ctx.spec_dir, rule.file), rule.file, out)
    text = texts[rule.file]
    if text is None:
        return None
    if rule.section is None:
        return text, rule.file
    section = markdown.find_section(text, rule.section)
    if section is None:
        out.fail(rule.file, rule.id, f"a section '{rule.section}'", "no such section",
                 f"Add a '## {rule.section}' section to {rule.file}.")
        return None
    return section.body, f"{rule.file} § {rule.section}"


def _key(item: Any) -> str:
    text = re.sub(r"\s+", " ", str(item)).strip().casefold()
    try:
        return files.normalise(text)
    except files.PathOutside:
        return text


def _links(rule: Rule, text: str, ctx: CheckContext, where: str, out: Collector) -> int:
    """Distinct existing files the links of `text` reach; broken and repeated links fail."""
    base = files.join(ctx.spec_dir, rule.file or "").rsplit("/", 1)[0]
    seen: dict[str, str] = {}
    problems: list[str] = []
    for _, line in markdown.outside_code(text):
        for target in _LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
                continue  # URLs and anchors are not the spec's files
            path = target.split("#", 1)[0]
            try:
                rel = files.join(base, files.normalise(path))
                ok = ctx.files.is_file(rel)
            except files.PathOutside:
                ok, rel = False, path
            if not ok:
                problems.append(f"{target} leads to no file")
            elif rel in seen:
                problems.append(f"{target} links {seen[rel]} again")
            else:
                seen[rel] = target
    if problems:
        out.fail(rule.file or "", rule.id, f"links in {where} to distinct existing files", "; ".join(problems[:5]),
                 "Link each document once, by its path relative to the linking file.")
    return len(seen)


def check_rules(rules: list[Rule], evidence: dict[str, Any], typed_ok: set[str], ctx: CheckContext,
                out: Collector) -> None:
    """Evaluate every rule; fields already refused for their type are not judged again."""
    texts: dict[str, str | None] = {}
    for rule in rules:
        if (rule.field is not None and rule.field not in typed_ok) or (rule.other is not None and rule.other not in typed_ok):
            continue
        value = evidence.get(rule.field) if rule.field else None
        if rule.kind == "equals_field":
            if value != evidence[rule.other]:
                out.fail(rule.field or "", rule.id, f"{rule.field} equal to {rule.other} ({short(evidence[rule.other])})",
                         short(value), rule.description or f"Make {rule.field} and {rule.other} agree with the files.")
            continue
        if rule.kind == "distinct":
            keys = [_key(v) for v in value or []]
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            if repeated:
                out.fail(rule.field or "", rule.id, f"every item of {rule.field} different", f"repeated: {short(repeated)}",
                         "List each item once; a repeat does not count twice.")
            continue
        scope = _scope(rule, ctx, out, texts)
        if scope is None:
            continue
        text, where = scope
        pattern = re.compile(rule.pattern or "")
        matches = [m for _, line in markdown.outside_code(text) for m in [pattern.search(line)] if m]
        if rule.kind == "count_in_file":
            if value != len(matches):
                out.fail(rule.field or "", rule.id, f"{len(matches)}: the lines of {where} matching the rule "
                         f"({rule.description or rule.pattern})", str(value),
                         f"Report the true count ({len(matches)}), or change {rule.file} so it holds what you claim.")
        elif rule.kind == "values_in_file":
            found = [m.group(1).strip() for m in matches]
            if [str(v).strip() for v in value or []] != found:
                out.fail(rule.field or "", rule.id, f"exactly {short(found, 200)}, in order, as {where} names them",
                         short(value, 200), rule.description or f"Copy them from {rule.file}, in order.")
        elif rule.kind == "links_resolve":
            count = _links(rule, text, ctx, where, out)
            if rule.field is not None and value != count:
                out.fail(rule.field, rule.id, f"{count}: the distinct files {where} links", str(value),
                         f"Report the true number ({count}) of linked documents.")
        elif rule.kind == "ids_have_content":
            bare = [m.group(0).strip() for m in matches
                    if len(_WORD.findall(m.string[m.end():])) < rule.min_words]
            if bare:
                out.fail(rule.file or "", rule.id, f"at least {rule.min_words} words after each id in {where}",
                         f"{len(bare)} without: {short(bare, 120)}", "Write what each id requires; an id alone is not one.")
