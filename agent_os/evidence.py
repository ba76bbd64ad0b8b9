"""Checkpoint evaluation: typed evidence fields, artifact checks against files, built-in checks.

`check_evidence` never raises on bad evidence: it returns every failure at once, as data
(field, rule, expected, found, fix), so one answer tells the agent everything to correct.
The only I/O is reading the files the evidence and artifacts name, through the
`FileSource` the caller passes (files.py). The checks themselves live in evidence_fields,
evidence_artifacts and evidence_tasks; this module runs them in order.
"""

from __future__ import annotations

from typing import Any

from . import files
from .definitions import Checkpoint
from .evidence_artifacts import check_artifact
from .evidence_fields import check_fields
from .evidence_model import (
    MAX_ARTIFACT_BYTES,
    CheckContext,
    CheckResult,
    Collector,
    Failure,
    short,
    type_name,
)
from .evidence_rules import check_rules
from .evidence_tasks import check_builtin, summary_passes, tests_named

__all__ = ["MAX_ARTIFACT_BYTES", "CheckContext", "CheckResult", "Failure", "check_evidence", "summary_passes",
           "tests_named"]


def check_evidence(checkpoint: Checkpoint, evidence: Any, ctx: CheckContext) -> CheckResult:
    """Evaluate `evidence` against `checkpoint`; every failure is collected, none raised."""
    out = Collector()
    if not isinstance(evidence, dict):
        out.fail("evidence", "type", "a JSON object of evidence fields", f"{type_name(evidence)}", "Send evidence as an object, e.g. {\"field\": value}.")
        return CheckResult(tuple(out.failures))
    bad_keys = [k for k in evidence if not isinstance(k, str)]
    if bad_keys:
        out.fail("evidence", "type", "string field names", short(bad_keys), "Use the field names the checkpoint declares.")
        return CheckResult(tuple(out.failures))
    link = files.symlinked_part(ctx.files, ctx.spec_dir)
    if link is not None:
        out.fail("spec_dir", "spec_dir_real", "the spec directory to be a real directory inside the project",
                 f"{link} is a symbolic link", "Replace the link by the directory itself, inside the project.")
        return CheckResult(tuple(out.failures))
    typed_ok = check_fields(checkpoint, evidence, ctx, out)
    for art in checkpoint.artifacts:
        check_artifact(art, evidence, typed_ok, ctx, out)
    check_rules(checkpoint.rules, evidence, typed_ok, ctx, out)
    check_builtin(checkpoint, evidence, typed_ok, ctx, out)
    if not out.failures:
        out.verified.insert(0, f"{len(checkpoint.evidence)} evidence field(s) valid")
    return CheckResult(tuple(out.failures), tuple(out.verified), tuple(out.runs))
