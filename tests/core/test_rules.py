"""Rules as data: each kind refuses what breaks it, naming the rule; `workflows validate`
(the loader) refuses rules that name fields or files that do not exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent_os.definitions import Checkpoint, load_workflow
from agent_os.errors import WorkflowDefinitionError
from agent_os.evidence import CheckContext, check_evidence
from agent_os.files import Snapshot

SPEC = "specs/x"
DOC = """# Doc

## Items

- **FR-1**: The system lets a user sign in with email and password.
- **FR-2**: The system signs users out everywhere on request.

## Tests

Tests: `pytest tests/a.py`
Tests: `pytest tests/b.py`

## Documents

- [Doc](doc.md)
- [Other](other.md)
"""


def run(rules: list[dict], fields: dict, evidence: dict, files: dict[str, str] | None = None) -> set[tuple[str, str]]:
    checkpoint = Checkpoint.model_validate({"evidence": fields, "rules": rules})
    snapshot = Snapshot({f"{SPEC}/{k}": v.encode() for k, v in (files or {"doc.md": DOC, "other.md": "x"}).items()})
    result = check_evidence(checkpoint, evidence, CheckContext(snapshot, SPEC))
    return {(f.field, f.rule) for f in result.failures}


INT = {"type": "integer"}
LIST = {"type": "list", "items": "string"}


def test_count_in_file():
    rule = [{"id": "frs", "kind": "count_in_file", "field": "n", "file": "doc.md", "section": "Items", "pattern": r"FR-\d+"}]
    assert run(rule, {"n": INT}, {"n": 2}) == set()
    assert run(rule, {"n": INT}, {"n": 3}) == {("n", "frs")}


def test_equals_field():
    rule = [{"id": "same", "kind": "equals_field", "field": "a", "other": "b"}]
    assert run(rule, {"a": INT, "b": INT}, {"a": 2, "b": 2}) == set()
    assert run(rule, {"a": INT, "b": INT}, {"a": 2, "b": 3}) == {("a", "same")}


def test_values_in_file():
    rule = [{"id": "cmds", "kind": "values_in_file", "field": "c", "file": "doc.md", "pattern": r"Tests: `([^`]+)`"}]
    assert run(rule, {"c": LIST}, {"c": ["pytest tests/a.py", "pytest tests/b.py"]}) == set()
    assert run(rule, {"c": LIST}, {"c": ["pytest tests/b.py", "pytest tests/a.py"]}) == {("c", "cmds")}
    assert run(rule, {"c": LIST}, {"c": ["pytest"]}) == {("c", "cmds")}


def test_distinct():
    rule = [{"id": "once", "kind": "distinct", "field": "c"}]
    assert run(rule, {"c": LIST}, {"c": ["a", "b"]}) == set()
    assert run(rule, {"c": LIST}, {"c": ["a", " A ", "b"]}) == {("c", "once")}
    assert run(rule, {"c": LIST}, {"c": ["docs/x.md", "./docs/x.md"]}) == {("c", "once")}


def test_links_resolve():
    rule = [{"id": "links", "kind": "links_resolve", "file": "doc.md", "section": "Documents", "field": "n"}]
    assert run(rule, {"n": INT}, {"n": 2}) == set()
    assert run(rule, {"n": INT}, {"n": 4}) == {("n", "links")}
    broken = DOC.replace("(other.md)", "(missing.md)")
    assert run(rule, {"n": INT}, {"n": 1}, {"doc.md": broken}) == {("doc.md", "links")}
    twice = DOC.replace("(other.md)", "(./doc.md)")
    assert run(rule, {"n": INT}, {"n": 1}, {"doc.md": twice, "other.md": "x"}) == {("doc.md", "links")}
    outside = DOC.replace("(other.md)", "(../../../../etc/passwd)")
    assert run(rule, {"n": INT}, {"n": 1}, {"doc.md": outside}) == {("doc.md", "links")}


def test_ids_have_content():
    rule = [{"id": "content", "kind": "ids_have_content", "file": "doc.md", "pattern": r"^- \**FR-\d+\**:?\**"}]
    assert run(rule, {}, {}) == set()
    bare = DOC.replace("The system signs users out everywhere on request.", "")
    assert run(rule, {}, {}, {"doc.md": bare}) == {("doc.md", "content")}


def test_a_missing_file_or_section_is_a_failure_not_a_crash():
    rule = [{"id": "frs", "kind": "count_in_file", "field": "n", "file": "doc.md", "section": "Nope", "pattern": "x"}]
    assert run(rule, {"n": INT}, {"n": 0}) == {("doc.md", "frs")}
    assert run(rule, {"n": INT}, {"n": 0}, {"other.md": "x"}) == {("doc.md", "exists")}


@pytest.mark.parametrize(("rule", "fields", "message"), [
    ({"id": "r", "kind": "equals_field", "field": "a", "other": "ghost"}, {"a": INT}, "does not declare"),
    ({"id": "r", "kind": "distinct", "field": "a"}, {"a": INT}, "must be of type list"),
    ({"id": "r", "kind": "count_in_file", "field": "a", "pattern": "x"}, {"a": INT}, "needs file"),
    ({"id": "r", "kind": "values_in_file", "field": "a", "file": "f.md", "pattern": "x"}, {"a": LIST}, "group"),
    ({"id": "r", "kind": "count_in_file", "field": "a", "file": "../f.md", "pattern": "x"}, {"a": INT}, "relative"),
    ({"id": "r", "kind": "count_in_file", "field": "a", "file": "f.md", "pattern": "("}, {"a": INT}, "regular"),
    ({"id": "r", "kind": "equals_field", "field": "a", "other": "b"}, {"a": INT, "b": LIST}, "different types"),
])
def test_rules_naming_what_does_not_exist_are_refused(rule, fields, message):
    with pytest.raises(ValueError, match=message):
        Checkpoint.model_validate({"evidence": fields, "rules": [rule]})


def test_workflows_validate_checks_rule_files_against_the_phases_artifacts(tmp_path: Path):
    tmp_path = tmp_path / "w_v1"
    tmp_path.mkdir()
    wf = {"name": "w_v1", "version": 1, "description": "d", "phases": [
        {"id": "a", "title": "A", "instructions": "a.md", "checkpoint": {
            "evidence": {"n": INT},
            "artifacts": [{"path": "doc.md"}],
            "rules": [{"id": "later", "kind": "count_in_file", "field": "n", "file": "later.md", "pattern": "x"}]}},
        {"id": "b", "title": "B", "instructions": "b.md", "checkpoint": {"artifacts": [{"path": "later.md"}]}}]}
    (tmp_path / "workflow.yaml").write_text(yaml.safe_dump(wf), encoding="utf-8")
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text("# x\n", encoding="utf-8")
    with pytest.raises(WorkflowDefinitionError) as refused:
        load_workflow(tmp_path)
    assert "no phase up to this one declares" in str(refused.value)
    wf["phases"][0]["checkpoint"]["rules"][0]["file"] = "doc.md"
    (tmp_path / "workflow.yaml").write_text(yaml.safe_dump(wf), encoding="utf-8")
    assert load_workflow(tmp_path).phases[0].checkpoint.rules[0].id == "later"
