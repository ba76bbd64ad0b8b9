"""Evidence fields: each value's type and constraints, and paths that must stay inside the
project (and the spec directory) and exist."""

from __future__ import annotations

import math
import re
from typing import Any

from . import files, templates
from .definitions import Checkpoint, EvidenceField
from .evidence_model import CheckContext, Collector, short, type_name


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
        )
    if kind in ("string", "path"):
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    return False


def _locate(name: str, value: str, ctx: CheckContext, out: Collector, base: str = "") -> str | None:
    """`value` (relative to `base`) as a path from the project root, or None (failure recorded)."""
    try:
        rel = files.join(base, files.normalise(value)) if base else files.normalise(value)
        ctx.files.exists(rel)  # a symlink that leads out raises here
    except files.PathOutside as exc:
        out.fail(name, "path", "a path relative to the project root that stays inside it", short(value),
                 f"{exc.message} Give the path relative to the project root, without '..' or a leading '/'.")
        return None
    return rel


def _check_path(
    name: str, value: str, spec: EvidenceField, ctx: CheckContext, out: Collector
) -> None:
    target = _locate(name, value, ctx, out)
    if target is None:
        return
    if spec.within_spec_dir and not files.inside(target, ctx.spec_dir):
        # Agents often name spec files relative to the spec directory ("srd.md");
        # accept that too, as long as it stays inside.
        target = _locate(name, value, ctx, out, base=ctx.spec_dir)
        if target is None:
            return
        if not files.inside(target, ctx.spec_dir):
            out.fail(
                name,
                "within_spec_dir",
                f"a path inside the session's spec directory {ctx.spec_dir}",
                short(value),
                f"Write the file under {ctx.spec_dir}/ and name it by its path from the project root (or from the spec directory).",
            )
            return
    if spec.must_exist and not ctx.files.exists(target):
        out.fail(
            name,
            "exists",
            "an existing file or directory",
            f"nothing at {value}",
            "Create the file first, or correct the path (relative to the project root).",
        )
    elif spec.must_be_file and ctx.files.exists(target) and not ctx.files.is_file(target):
        out.fail(name, "file", "a file (not a folder)", f"{value} is a folder",
                 "Name the files you read one by one, by their path from the project root.")


def _check_substance(name: str, text: str, spec: EvidenceField, out: Collector) -> None:
    """Free text is checked like spec files: no template markers, and words rather than filler."""
    hits = templates.placeholders(text)
    if hits:
        out.fail(name, "placeholder", "your own words, no template markers", repr(hits[0][1]),
                 f"Replace the placeholder in {name} with what is true.")
    if spec.min_length and spec.min_length >= 20:  # prose, not a command or a summary line
        words = {w.casefold() for w in re.findall(r"[A-Za-z]{2,}", text)}
        needed = max(3, spec.min_length // 15)
        if len(words) < needed:
            out.fail(name, "substance", f"at least {needed} different words", f"{len(words)}: {short(text, 40)}",
                     f"Write {name} as sentences that say something; repeated or filler text is not evidence.")


def _check_scalar(name: str, value: Any, spec: EvidenceField, kind: str, ctx: CheckContext, out: Collector) -> bool:
    """Type and constraints of one value; returns False if its type is wrong."""
    if not _is_type(value, kind):
        out.fail(name, "type", f"a {kind}", f"{type_name(value)} {short(value)}", f"Send {name} as a JSON {kind}.")
        return False
    if kind in ("integer", "number"):
        if spec.min is not None and value < spec.min:
            out.fail(name, "min", f">= {spec.min:g}", str(value), f"{name} must be at least {spec.min:g}.")
        if spec.max is not None and value > spec.max:
            out.fail(name, "max", f"<= {spec.max:g}", str(value), f"{name} must be at most {spec.max:g}.")
    if kind in ("string", "path"):
        stripped = value.strip()
        if spec.required and not stripped:
            out.fail(name, "required", "a non-empty string", "an empty string", f"Fill in {name}.")
            return True
        if spec.min_length is not None and len(stripped) < spec.min_length:
            out.fail(
                name,
                "min_length",
                f"at least {spec.min_length} characters",
                f"{len(stripped)} characters",
                f"Say more in {name}: it is checked for substance, not presence.",
            )
        if kind == "string" and stripped:
            _check_substance(name, stripped, spec, out)
        if spec.max_length is not None and len(stripped) > spec.max_length:
            out.fail(name, "max_length", f"at most {spec.max_length} characters", f"{len(stripped)}", f"Shorten {name}.")
        if spec.pattern is not None and kind == "string" and not re.search(spec.pattern, value):
            out.fail(name, "pattern", f"text matching /{spec.pattern}/", short(value), f"Make {name} match /{spec.pattern}/.")
        if kind == "path":
            _check_path(name, value, spec, ctx, out)
        if spec.standard and ctx.standards is not None and stripped and not ctx.standards.has(stripped):
            out.fail(name, "standard", "the path of a standards document search_standards returned", short(value),
                     "Cite standards by the path search_standards gives (e.g. 'security/rate-limiting.md'); "
                     "only documents that exist count.")
    if spec.one_of is not None and value not in spec.one_of:
        out.fail(name, "one_of", f"one of {spec.one_of}", short(value), f"Choose {name} from {spec.one_of}.")
    return True


def _check_field(name: str, value: Any, spec: EvidenceField, ctx: CheckContext, out: Collector) -> bool:
    if spec.type != "list":
        return _check_scalar(name, value, spec, spec.type, ctx, out)
    if not isinstance(value, list):
        out.fail(name, "type", "a list", f"{type_name(value)} {short(value)}", f"Send {name} as a JSON array.")
        return False
    if spec.min_items is not None and len(value) < spec.min_items:
        out.fail(name, "min_items", f"at least {spec.min_items} item(s)", f"{len(value)}", f"List at least {spec.min_items} in {name}.")
    if spec.max_items is not None and len(value) > spec.max_items:
        out.fail(name, "max_items", f"at most {spec.max_items} item(s)", f"{len(value)}", f"List at most {spec.max_items} in {name}.")
    item_kind = spec.items or "string"
    for i, item in enumerate(value):
        _check_scalar(f"{name}[{i}]", item, spec, item_kind, ctx, out)
    return True


def check_fields(checkpoint: Checkpoint, evidence: dict[str, Any], ctx: CheckContext, out: Collector) -> set[str]:
    """Check every declared field; return the names whose type was right."""
    typed_ok: set[str] = set()
    declared = checkpoint.evidence
    for name in sorted(set(evidence) - set(declared)):
        out.fail(
            name,
            "unknown",
            f"one of the declared fields ({', '.join(declared) or 'none'})",
            f"an undeclared field {name!r}",
            "Remove it, or correct its name: the checkpoint lists every field it accepts.",
        )
    for name, spec in declared.items():
        if name not in evidence or evidence[name] is None:
            if spec.required:
                example = f" e.g. {spec.example!r}" if spec.example is not None else ""
                out.fail(name, "required", f"a {spec.type}{example}", "nothing", f"Add {name}: {spec.description or spec.type}.")
            continue
        if _check_field(name, evidence[name], spec, ctx, out):
            typed_ok.add(name)
    return typed_ok
