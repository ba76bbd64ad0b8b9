"""create_workflow writes a workflow that loads, runs, and demands evidence."""

from __future__ import annotations

import pytest

from agent_os.errors import EvidenceRejected, InputError


def test_created_workflow_is_valid_and_runnable(engine):
    created = engine.create_workflow(
        "api_review_v1", "new_spec",
        ["Research", {"title": "Design review", "tasks": ["Draw the API"], "gate": True}],
    )
    assert created.source == "project" and created.phases == ["Research", "Design review"]
    directory = engine.project.workflows_dir / "api_review_v1"
    assert (directory / "workflow.yaml").is_file() and (directory / "phases" / "0-research.md").is_file()
    assert engine.validate_workflow("api_review_v1").valid
    sid = engine.start("api_review_v1", "orders api").session.session_id
    with pytest.raises(EvidenceRejected):  # no empty-evidence pass
        engine.complete_phase(sid, 0, {})
    engine.complete_phase(sid, 0, {"summary": "Read the existing order endpoints and their clients."})
    result = engine.complete_phase(sid, 1, {"summary": "Reviewed the design of the new endpoints in full."})
    assert result.phase_state == "awaiting_approval"


@pytest.mark.parametrize(
    ("name", "kind", "phases"),
    [
        ("Bad Name", "new_spec", ["A"]),
        ("../evil", "new_spec", ["A"]),
        ("ok_name", "weird", ["A"]),
        ("ok_name", "new_spec", []),
        ("ok_name", "new_spec", [{"nope": 1}]),
        ("ok_name", "new_spec", [{"title": "A", "evidence": {"x": {"type": "colour"}}}]),
        ("ok_name", "new_spec", ["A"] * 31),
        ("notes_v1", "new_spec", ["A"]),
    ],
)
def test_bad_definitions_are_refused_and_nothing_is_written(engine, name, kind, phases):
    before = sorted(p.name for p in engine.project.workflows_dir.iterdir())
    with pytest.raises(InputError):
        engine.create_workflow(name, kind, phases)
    assert sorted(p.name for p in engine.project.workflows_dir.iterdir()) == before
