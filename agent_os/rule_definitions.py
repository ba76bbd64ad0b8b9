"""Rules as data: what a workflow.yaml can say that relates a field to a file, to another
field, or to itself, beyond each field's own constraints. The model and its reference
checks (every rule names fields the checkpoint declares, of the right type, and files the
workflow's phases produce); evidence_rules.py evaluates them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from .definitions import EvidenceField

RuleKind = Literal["count_in_file", "equals_field", "values_in_file", "distinct", "links_resolve", "ids_have_content"]

# kind: (parameters it needs, the field's type when it names one)
_NEEDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "count_in_file": (("field", "file", "pattern"), "integer"),
    "equals_field": (("field", "other"), None),
    "values_in_file": (("field", "file", "pattern"), "list"),
    "distinct": (("field",), "list"),
    "links_resolve": (("file",), "integer"),
    "ids_have_content": (("file", "pattern"), None),
}


def valid_pattern(value: str | None) -> str | None:
    """`value` if it is None or a regular expression that compiles, else ValueError saying why."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from None
    return value


class Rule(BaseModel):
    """One rule; its `id` names it in every refusal it causes.

    - count_in_file: integer `field` equals the lines matching `pattern` in `file` (or its `section`).
    - equals_field: `field` equals `other`.
    - values_in_file: list `field` equals, in order, group 1 of each line matching `pattern` in `file`.
    - distinct: the items of list `field` are all different.
    - links_resolve: the links in `file` (`section`) lead to distinct existing files; an
      integer `field`, if named, equals their number.
    - ids_have_content: every line matching `pattern` in `file` (`section`) carries at least
      `min_words` words after the match.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: RuleKind
    description: str = ""
    field: str | None = None
    other: str | None = None
    file: str | None = None
    section: str | None = None
    pattern: str | None = None
    min_words: int = Field(default=3, ge=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return valid_pattern(value)

    @field_validator("file")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("/") or ".." in value.split("/") or not value.strip()):
            raise ValueError(f"rule file {value!r} must be relative to the spec directory")
        return value

    @model_validator(mode="after")
    def _has_what_its_kind_needs(self) -> Rule:
        needed, _ = _NEEDS[self.kind]
        missing = [p for p in needed if getattr(self, p) is None]
        if missing:
            raise ValueError(f"rule {self.id!r} ({self.kind}) needs {', '.join(missing)}")
        if self.kind == "values_in_file" and re.compile(self.pattern or "").groups < 1:
            raise ValueError(f"rule {self.id!r}: values_in_file needs a pattern with a group capturing the value")
        return self


def field_problems(rules: list[Rule], fields: dict[str, EvidenceField]) -> list[str]:
    """Rules naming evidence fields the checkpoint does not declare, or of the wrong type."""
    problems: list[str] = []
    for rule in rules:
        _, kind = _NEEDS[rule.kind]
        for attr in ("field", "other"):
            name = getattr(rule, attr)
            if name is None:
                continue
            spec = fields.get(name)
            if spec is None:
                problems.append(f"rule {rule.id!r} names evidence field {name!r}, which the checkpoint does not declare")
            elif attr == "field" and kind is not None and spec.type != kind:
                problems.append(f"rule {rule.id!r}: field {name!r} must be of type {kind} for {rule.kind}")
        if rule.kind == "equals_field" and rule.field in fields and rule.other in fields \
                and fields[rule.field].type != fields[rule.other].type:
            problems.append(f"rule {rule.id!r}: {rule.field!r} and {rule.other!r} have different types")
    return problems


def file_problems(phase_id: str, rules: list[Rule], known: set[str]) -> list[str]:
    """Rules naming files that no phase up to this one declares as an artifact."""
    return [f"phase {phase_id}: rule {r.id!r} reads {r.file!r}, which no phase up to this one declares as an artifact"
            for r in rules if r.file is not None and r.file not in known]
