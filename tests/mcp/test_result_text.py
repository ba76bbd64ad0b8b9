"""What an agent reads from a tool result: a short summary saying what happened and what to
do next, with the data in the structured content (not the same JSON twice)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, **args: Any) -> tuple[str, dict[str, Any]]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    return "\n".join(c.text for c in result.content), result.structured_content


async def test_start_says_what_started_and_what_to_do_without_repeating_the_data(client: Client) -> None:
    text, data = await call(client, "start_workflow", workflow_type="spec_creation_v1", target_file="auth")
    sid = data["session"]["session_id"]
    assert text.startswith(f"Started session {sid} (spec_creation_v1 on 'auth')")
    assert "Phase 0 of 6: Context gathering" in text
    assert "project_files_reviewed (list of paths, required, at least 1 item(s))" in text
    assert f"complete_phase('{sid}', 0, evidence)" in text
    assert len(text) < len(json.dumps(data)) / 4
    assert data["phase"]["instructions"].startswith("#"), "the data stays whole in the structured content"


async def test_the_current_phase_reads_as_instructions_with_rules_and_a_good_example(client: Client) -> None:
    _, data = await call(client, "start_workflow", workflow_type="spec_creation_v1", target_file="auth")
    text, phase = await call(client, "get_current_phase", session_id=data["session"]["session_id"])
    assert phase["instructions"].strip() in text
    assert "- learnings (string, required, at least 40 characters): What you learnt" in text
    example = json.loads(text.split("Good example:\n", 1)[1].split("\n\n", 1)[0])
    assert example["project_files_reviewed"] == ["README.md", "app/users/models.py"]


async def test_completion_names_the_next_phase_and_state_lists_the_phases(client: Client,
                                                                         demo: Any) -> None:
    _, data = await call(client, "start_workflow", workflow_type="spec_creation_v1", target_file="auth")
    sid = data["session"]["session_id"]
    text, _ = await call(client, "complete_phase", session_id=sid, phase=0, evidence=demo.evidence(0))
    assert "Phase 0 (Context gathering) is complete" in text
    assert "Phase 1 of 6: Requirements" in text and "user_stories (integer, required, at least 1)" in text
    text, state = await call(client, "get_workflow_state", session_id=sid)
    assert "- 0. Context gathering: complete" in text and "- 1. Requirements: in progress" in text
    assert text.endswith(f"Next: {state['next_step']}")


async def test_search_text_holds_the_passages_and_their_paths(client: Client) -> None:
    text, data = await call(client, "search_standards", query="rate limiting login attempts", n_results=2)
    for hit in data["results"]:
        assert f"{hit['path']} (lines {hit['start_line']}-{hit['end_line']})" in text
        assert hit["text"][:200] in text
