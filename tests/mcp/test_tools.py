"""The MCP tools as an agent meets them, over an in-memory client: the tool list, a whole
spec_creation_v1 session, and every way the engine refuses (which must reach the agent as a
tool error that says what to do, never as a crash or a silent change of state)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from mcp import Client

from agent_os.definitions import load_workflow
from agent_os.project import Project
from agent_os.standards import HashEmbedder
from mcp_server.server import build_server

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
CREATION = REPO / "workflows" / "spec_creation_v1"

TOOLS = {
    "search_standards", "list_workflows", "start_workflow", "get_current_phase", "get_task",
    "complete_phase", "get_workflow_state", "list_sessions", "create_workflow", "validate_workflow",
    "link_pull_request", "get_review_feedback",
}
READ_ONLY = {"search_standards", "list_workflows", "get_current_phase", "get_task", "get_workflow_state",
             "list_sessions", "validate_workflow", "get_review_feedback"}
UNKNOWN_SESSION = "ses_0123456789ab"


async def start(tools: Any, target: str = "user_authentication") -> dict[str, Any]:
    return await tools.ok("start_workflow", workflow_type="spec_creation_v1", target_file=target)


def without_submissions(state: dict[str, Any]) -> dict[str, Any]:
    """A session's state minus the submission log each phase shows."""
    return {**state, "phases": [{k: v for k, v in p.items() if k != "last_submission"} for p in state["phases"]]}


def specs_written(project: Project) -> list[Path]:
    specs = project.root / ".agent-os" / "specs"
    return sorted(specs.iterdir()) if specs.exists() else []


# -- discovery ---------------------------------------------------------------------------------


async def test_the_twelve_tools_are_listed_with_descriptions_and_schemas(client: Client) -> None:
    listed = (await client.list_tools()).tools
    assert sorted(t.name for t in listed) == sorted(TOOLS)
    for t in listed:
        assert t.description and len(t.description.split()) >= 10, f"{t.name} has no real description"
        assert t.input_schema["type"] == "object", t.name
        assert t.output_schema is not None, f"{t.name} declares no structured output"
        assert t.annotations is not None and t.annotations.read_only_hint is (t.name in READ_ONLY), t.name
    schemas = {t.name: t.input_schema for t in listed}
    assert set(schemas["complete_phase"]["required"]) == {"session_id", "phase", "evidence"}
    assert set(schemas["start_workflow"]["required"]) == {"workflow_type", "target_file"}
    assert schemas["search_standards"]["required"] == ["query"]
    assert "required" not in schemas["list_workflows"]


async def test_no_tool_can_approve_a_gate(client: Client) -> None:
    names = {t.name for t in (await client.list_tools()).tools}
    assert not {n for n in names if "approv" in n or "merge" in n}


async def test_the_instructions_tell_the_agent_to_search_first_and_report_true_evidence(client: Client) -> None:
    text = client.instructions
    assert text
    assert "search_standards" in text
    assert "evidence" in text
    assert "Never invent evidence" in text
    assert "no tool can" in text  # a gate waits for a person


# -- starting ----------------------------------------------------------------------------------


async def test_start_creates_a_dated_spec_dir_and_a_second_start_resumes_it(tools: Any, project: Project) -> None:
    first = await start(tools)
    session = first["session"]
    assert first["resumed"] is False
    assert re.fullmatch(r"\.agent-os/specs/\d{4}-\d{2}-\d{2}-user-authentication", session["spec_dir"])
    assert (project.root / session["spec_dir"]).is_dir()
    assert session["status"] == "active" and session["current_phase"] == 0
    assert first["phase"]["number"] == 0 and first["phase"]["id"] == "context"

    again = await start(tools)
    assert again["resumed"] is True
    assert again["session"]["session_id"] == session["session_id"]
    assert again["session"]["spec_dir"] == session["spec_dir"]
    listed = await tools.ok("list_sessions")
    assert [s["session_id"] for s in listed["sessions"]] == [session["session_id"]]


HOSTILE_TARGETS = ["../../etc", "/abs", "", "   ", "~/notes", "C:/Windows", "a/../../b", "x" * 500]


async def test_a_hostile_target_is_refused_and_creates_nothing(tools: Any, project: Project) -> None:
    for target in HOSTILE_TARGETS:
        text = await tools.refused("start_workflow", workflow_type="spec_creation_v1", target_file=target)
        assert "Invalid input." in text, target
        assert "Next:" in text or "at most" in text, target
        assert (await tools.ok("list_sessions"))["sessions"] == [], target
    assert specs_written(project) == []
    assert not (project.root / "etc").exists()  # where .agent-os/specs/../../etc would land


async def test_an_unknown_workflow_is_not_found_and_names_the_known_ones(tools: Any) -> None:
    text = await tools.refused("start_workflow", workflow_type="spec_creaton_v1", target_file="x")
    assert "Not found." in text
    assert "spec_creation_v1" in text


# -- refusals ----------------------------------------------------------------------------------


async def test_skipping_a_phase_is_refused_and_changes_nothing(tools: Any, demo: Any, project: Project) -> None:
    sid = (await start(tools))["session"]["session_id"]
    before = await tools.ok("get_workflow_state", session_id=sid)
    demo.write(project.root, before["spec_dir"], 1)  # the files are there: only the order is wrong
    demo.write(project.root, before["spec_dir"], 2)

    text = await tools.refused("complete_phase", session_id=sid, phase=2, evidence=demo.evidence(2))
    assert "Refused: wrong phase." in text
    assert "phase 0 (Context gathering)" in text
    assert "cannot be skipped" in text
    assert f"get_current_phase('{sid}')" in text
    assert await tools.ok("get_workflow_state", session_id=sid) == before
    assert (await tools.ok("get_current_phase", session_id=sid))["number"] == 0


async def test_bad_evidence_lists_every_failure_and_changes_nothing_but_the_log(
    tools: Any, demo: Any, project: Project
) -> None:
    sid = (await start(tools))["session"]["session_id"]
    before = await tools.ok("get_workflow_state", session_id=sid)
    thin = {"spec_dir": ".", "project_files_reviewed": [], "standards_consulted": ["I read the security standards"],
            "learnings": "Looked around.", "open_questions": []}

    text = await tools.refused("complete_phase", session_id=sid, phase=0, evidence=thin)
    assert "Refused: the checkpoint rejected the evidence." in text
    for failing in ("project_files_reviewed", "standards_consulted[0]", "learnings"):
        assert f"**{failing}**" in text, f"{failing} not listed in:\n{text}"
    assert "5 problem(s)" in text  # a standard both malformed and unknown; learnings short and thin
    assert "Fix:" in text and "Next:" in text

    after = await tools.ok("get_workflow_state", session_id=sid)
    assert without_submissions(after) == without_submissions(before)
    refusal = after["phases"][0]["last_submission"]
    assert refusal["accepted"] is False
    assert {f["field"] for f in refusal["failures"]} == {
        "project_files_reviewed", "standards_consulted[0]", "learnings"}

    # The refusal blocks nothing: the true evidence is accepted next.
    done = await tools.ok("complete_phase", session_id=sid, phase=0, evidence=demo.evidence(0))
    assert done["phase_state"] == "complete"


async def test_a_wrong_count_is_refused_with_the_count_the_file_holds(tools: Any, demo: Any, project: Project) -> None:
    started = await start(tools)
    sid, spec_dir = started["session"]["session_id"], started["session"]["spec_dir"]
    await tools.ok("complete_phase", session_id=sid, phase=0, evidence=demo.evidence(0))
    demo.write(project.root, spec_dir, 1)
    text = await tools.refused("complete_phase", session_id=sid, phase=1,
                               evidence={**demo.evidence(1), "functional_requirements": 12})
    assert "**functional_requirements**" in text
    assert "expected 12 functional requirements" in text and "found 8" in text
    assert (await tools.ok("get_current_phase", session_id=sid))["number"] == 1


SESSION_TOOLS = [
    ("get_current_phase", {}),
    ("get_workflow_state", {}),
    ("get_review_feedback", {}),
    ("get_task", {"phase": 0, "task_id": "gather-context"}),
    ("complete_phase", {"phase": 0, "evidence": {}}),
    ("link_pull_request", {"repository": "acme/webapp", "number": 7}),
]


@pytest.mark.parametrize("session_id", [UNKNOWN_SESSION, "not-a-session", "../../etc/passwd"])
async def test_an_unknown_session_is_not_found_by_every_tool_that_takes_one(tools: Any, session_id: str) -> None:
    await start(tools)  # a session exists; this id is still nobody's
    for tool, args in SESSION_TOOLS:
        text = await tools.refused(tool, session_id=session_id, **args)
        assert "Not found." in text, tool
        assert "list_sessions" in text, tool


IN_SESSION_MISTAKES = [
    ("complete_phase", {"phase": "banana", "evidence": {}}, "banana"),
    ("complete_phase", {"phase": 0, "evidence": "all done, trust me"}, "evidence"),
    ("complete_phase", {"phase": 0, "evidence": ["spec_dir", "."]}, "evidence"),
    ("complete_phase", {"phase": 99, "evidence": {}}, "no phase 99"),
    ("complete_phase", {"phase": None, "evidence": {}}, "phase"),
    ("complete_phase", {"phase": 0}, "evidence"),
    ("get_task", {"phase": 0, "task_id": "no-such-task"}, "gather-context"),
    ("get_task", {"phase": {"n": 0}, "task_id": "x"}, "phase"),
    ("link_pull_request", {"repository": "acme/webapp", "number": "seven"}, "number"),
    ("link_pull_request", {"repository": "acme/webapp", "number": 0}, "number"),
]

MISTAKES = [
    ("search_standards", {"query": "retries", "n_results": 0}, "between 1 and 20"),
    ("search_standards", {"query": "retries", "n_results": 500}, "between 1 and 20"),
    ("search_standards", {"query": ""}, "query is empty"),
    ("search_standards", {"query": 42}, "query"),
    ("search_standards", {}, "query"),
    ("get_workflow_state", {"session_id": 5}, "session_id"),
    ("list_sessions", {"status": "weird"}, "status"),
    ("start_workflow", {"workflow_type": "spec_creation_v1"}, "target_file"),
    ("validate_workflow", {"name": "../../etc"}, "../../etc"),
    ("no_such_tool", {}, "no_such_tool"),
]


async def test_wrong_types_and_values_in_a_session_are_tool_errors_that_change_nothing(tools: Any) -> None:
    sid = (await start(tools))["session"]["session_id"]
    before = await tools.ok("get_workflow_state", session_id=sid)
    for tool, args, says in IN_SESSION_MISTAKES:
        text = await tools.refused(tool, session_id=sid, **args)
        assert says in text, (tool, args, text)
    after = await tools.ok("get_workflow_state", session_id=sid)
    assert without_submissions(after) == without_submissions(before)
    assert after["current_phase"] == 0 and after["pull_requests"] == []


async def test_wrong_arguments_are_tool_errors_and_the_server_carries_on(tools: Any) -> None:
    for tool, args, says in MISTAKES:
        text = await tools.refused(tool, **args)
        assert says in text, (tool, args, text)
    assert "spec_creation_v1" in {w["name"] for w in (await tools.ok("list_workflows"))["workflows"]}
    assert (await start(tools))["resumed"] is False


# -- a whole session ---------------------------------------------------------------------------


async def test_a_whole_spec_creation_session_through_the_tools(
    tools: Any, demo: Any, project: Project, server: Any
) -> None:
    started = await start(tools)
    sid, spec_dir = started["session"]["session_id"], started["session"]["spec_dir"]
    assert started["phase"]["phases_total"] == 6

    for number in range(5):
        current = await tools.ok("get_current_phase", session_id=sid)
        assert current["number"] == number
        assert current["state"] == "active"
        assert set(current["evidence"]) >= set(demo.evidence(number))
        demo.write(project.root, spec_dir, number)
        done = await tools.ok("complete_phase", session_id=sid, phase=number, evidence=demo.evidence(number))
        assert done["phase"] == number
        assert done["phase_state"] == "complete"
        assert done["session_complete"] is False
        assert done["next_phase"]["number"] == number + 1
        assert f"Next: phase {number + 1}" in done["message"]

    # Phase 5 passes its checkpoint and then waits for a person.
    review = await tools.ok("get_current_phase", session_id=sid)
    assert review["number"] == 5 and review["gate"]
    waiting = await tools.ok("complete_phase", session_id=sid, phase=5, evidence=demo.evidence(5))
    assert waiting["phase_state"] == "awaiting_approval"
    assert waiting["next_phase"] is None
    assert waiting["gate"]["satisfied"] is False
    assert waiting["gate"]["required_approvals"] == 1
    assert "you cannot" in waiting["message"]

    text = await tools.refused("complete_phase", session_id=sid, phase=5, evidence=demo.evidence(5))
    assert "Refused: this phase waits for a person's approval; no tool can approve it." in text
    assert "do not resubmit" in text

    state = await tools.ok("get_workflow_state", session_id=sid)
    assert state["status"] == "active" and state["current_phase"] == 5
    assert [p["state"] for p in state["phases"]] == ["complete"] * 5 + ["awaiting_approval"]
    gate = state["phases"][5]["gate"]
    assert gate["satisfied"] is False and gate["approvals"] == []
    assert gate["reasons"], "a closed gate must say what it waits for"
    assert "approves" in state["next_step"] and "agent-os approve" in state["next_step"]
    listed = await tools.ok("list_sessions", status="active")
    assert [(s["session_id"], s["current_phase_state"]) for s in listed["sessions"]] == [(sid, "awaiting_approval")]

    # A person approves, outside MCP.
    server.backend.engine.approve(sid, by="reviewer")

    state = await tools.ok("get_workflow_state", session_id=sid)
    assert state["status"] == "complete"
    assert state["current_phase"] is None
    assert [p["state"] for p in state["phases"]] == ["complete"] * 6
    assert [a["reviewer"] for a in state["phases"][5]["gate"]["approvals"]] == ["reviewer"]
    assert [s["session_id"] for s in (await tools.ok("list_sessions", status="complete"))["sessions"]] == [sid]
    assert (await tools.ok("list_sessions", status="active"))["sessions"] == []
    assert "Refused: the session is complete." in await tools.refused("get_current_phase", session_id=sid)
    assert "Refused: the session is complete." in await tools.refused(
        "complete_phase", session_id=sid, phase=5, evidence=demo.evidence(5))
    # A finished session is not resumed: the same target starts afresh.
    assert (await start(tools))["resumed"] is False


async def test_the_session_author_cannot_approve_their_own_gate(
    tools: Any, demo: Any, project: Project, server: Any
) -> None:
    from agent_os.errors import Refused

    started = await start(tools)
    sid, spec_dir = started["session"]["session_id"], started["session"]["spec_dir"]
    for number in range(6):
        demo.write(project.root, spec_dir, number)
        await tools.ok("complete_phase", session_id=sid, phase=number, evidence=demo.evidence(number))
    server.backend.engine.link_pull_request(sid, "acme/webapp", 7, author="alice", source="github")
    with pytest.raises(Refused, match="author"):
        server.backend.engine.approve(sid, by="Alice")
    state = await tools.ok("get_workflow_state", session_id=sid)
    assert state["status"] == "active" and state["phases"][5]["state"] == "awaiting_approval"


async def test_get_task_and_get_current_phase_give_the_workflows_own_instructions(tools: Any) -> None:
    wf = load_workflow(CREATION)
    context = wf.phases[0]
    started = await start(tools)
    sid = started["session"]["session_id"]

    current = await tools.ok("get_current_phase", session_id=sid)
    assert current == started["phase"]
    assert current["instructions"] == (CREATION / context.instructions).read_text(encoding="utf-8")
    assert [t["id"] for t in current["tasks"]] == [t.id for t in context.tasks]
    assert set(current["evidence"]) == set(context.checkpoint.evidence)
    assert current["evidence"]["project_files_reviewed"]["required"] is True
    assert current["evidence"]["sources_reviewed"]["required"] is False
    assert current["spec_dir"] == started["session"]["spec_dir"]

    for task in context.tasks:
        by_number = await tools.ok("get_task", session_id=sid, phase=0, task_id=task.id)
        assert by_number["title"] == task.title
        assert by_number["instructions"] == (CREATION / task.instructions).read_text(encoding="utf-8")
        assert await tools.ok("get_task", session_id=sid, phase="context", task_id=task.id) == by_number

    # A later phase's tasks can be read ahead; only completing is ordered.
    later = await tools.ok("get_task", session_id=sid, phase=2, task_id="traceability")
    assert later["phase"] == 2 and "FR" in later["instructions"]


# -- workflows ---------------------------------------------------------------------------------


async def test_list_workflows_shows_both_shipped_workflows_with_their_phases(tools: Any) -> None:
    listed = {w["name"]: w for w in (await tools.ok("list_workflows"))["workflows"]}
    assert set(listed) == {"spec_creation_v1", "spec_execution_v1"}
    assert listed["spec_creation_v1"]["source"] == "shipped"
    assert listed["spec_creation_v1"]["target"] == "new_spec"
    assert listed["spec_execution_v1"]["target"] == "existing_spec"
    assert listed["spec_creation_v1"]["phases"] == [p.title for p in load_workflow(CREATION).phases]


async def test_create_validate_list_and_start_a_custom_workflow(tools: Any, project: Project) -> None:
    created = await tools.ok("create_workflow", name="bugfix_v1", workflow_type="new_spec", phases=["Reproduce", "Fix"])
    assert created["name"] == "bugfix_v1"
    assert created["source"] == "project"
    assert created["phases"] == ["Reproduce", "Fix"]
    assert (project.workflows_dir / "bugfix_v1" / "workflow.yaml").is_file()

    report = await tools.ok("validate_workflow", name="bugfix_v1")
    assert report["valid"] is True and report["problems"] == []
    names = {w["name"] for w in (await tools.ok("list_workflows"))["workflows"]}
    assert names == {"spec_creation_v1", "spec_execution_v1", "bugfix_v1"}

    started = await tools.ok("start_workflow", workflow_type="bugfix_v1", target_file="login crash")
    assert started["phase"]["title"] == "Reproduce"
    assert started["session"]["spec_dir"].endswith("-login-crash")

    again = await tools.refused("create_workflow", name="bugfix_v1", workflow_type="new_spec", phases=["Other"])
    assert "already exists" in again
    shipped = await tools.refused("create_workflow", name="spec_creation_v1", workflow_type="new_spec", phases=["A"])
    assert "already exists" in shipped


BAD_WORKFLOWS = [
    ("../evil", "new_spec", ["A"]),
    ("BugFix_v1", "new_spec", ["A"]),
    ("bug fix", "new_spec", ["A"]),
    ("", "new_spec", ["A"]),
    ("bugfix_v1", "sideways", ["A"]),
    ("bugfix_v1", "new_spec", []),
    ("bugfix_v1", "new_spec", [""]),
    ("bugfix_v1", "new_spec", [{"title": "A", "sneaky": True}]),
]


async def test_a_bad_workflow_is_refused_and_nothing_is_written(tools: Any, project: Project) -> None:
    for name, workflow_type, phases in BAD_WORKFLOWS:
        text = await tools.refused("create_workflow", name=name, workflow_type=workflow_type, phases=phases)
        assert "Invalid input." in text, (name, workflow_type, phases, text)
        written = list(project.workflows_dir.rglob("*")) if project.workflows_dir.exists() else []
        assert written == [], (name, workflow_type, phases)
    assert not (project.root.parent / "evil").exists()
    listed = {w["name"] for w in (await tools.ok("list_workflows"))["workflows"]}
    assert listed == {"spec_creation_v1", "spec_execution_v1"}


async def test_validate_reports_an_unknown_workflow(tools: Any) -> None:
    text = await tools.refused("validate_workflow", name="nope_v1")
    assert "Not found." in text and "nope_v1" in text


# -- pull requests and review feedback ---------------------------------------------------------


async def test_review_feedback_is_empty_and_says_why_until_a_pull_request_is_linked(tools: Any) -> None:
    sid = (await start(tools))["session"]["session_id"]
    feedback = await tools.ok("get_review_feedback", session_id=sid)
    assert feedback["pull_requests"] == [] and feedback["open_threads"] == []
    assert feedback["changes_requested_by"] == []
    assert "No pull request is linked" in feedback["message"]
    assert "link_pull_request" in feedback["message"]


async def test_linking_a_pull_request_shows_in_the_state_and_the_feedback(tools: Any) -> None:
    sid = (await start(tools))["session"]["session_id"]
    pr = await tools.ok("link_pull_request", session_id=sid, repository="acme/webapp", number=7)
    assert pr["repository"] == "acme/webapp" and pr["number"] == 7
    assert pr["url"] == "https://github.com/acme/webapp/pull/7"
    assert pr["source"] == "mcp"

    state = await tools.ok("get_workflow_state", session_id=sid)
    assert [(p["repository"], p["number"]) for p in state["pull_requests"]] == [("acme/webapp", 7)]
    feedback = await tools.ok("get_review_feedback", session_id=sid)
    assert [p["number"] for p in feedback["pull_requests"]] == [7]
    assert feedback["message"] == "No open review feedback on the spec."

    # Linking the same pull request again changes nothing.
    await tools.ok("link_pull_request", session_id=sid, repository="acme/webapp", number=7)
    assert len((await tools.ok("get_workflow_state", session_id=sid))["pull_requests"]) == 1


async def test_review_comments_reach_the_agent_as_open_threads(tools: Any, server: Any) -> None:
    from agent_os.views import ReviewCommentInput, ReviewInput

    started = (await start(tools))["session"]
    sid, srd = started["session_id"], f"{started['spec_dir']}/srd.md"
    await tools.ok("link_pull_request", session_id=sid, repository="acme/webapp", number=7)
    engine = server.backend.engine
    engine.record_review_comment(sid, ReviewCommentInput(comment_id=1, path=srd, line=12, author="bob",
                                                         body="FR-7 needs Retry-After."))
    engine.record_review(sid, ReviewInput(reviewer="bob", state="changes_requested", review_id=1))

    feedback = await tools.ok("get_review_feedback", session_id=sid)
    assert feedback["changes_requested_by"] == ["bob"]
    (thread,) = feedback["open_threads"]
    assert thread["path"] == srd and thread["comments"][0]["body"] == "FR-7 needs Retry-After."
    assert "1 open review thread(s)" in feedback["message"]


async def test_a_bad_repository_is_refused_and_nothing_is_linked(tools: Any) -> None:
    sid = (await start(tools))["session"]["session_id"]
    for repository in ["not a repo", "acme", "acme/webapp/extra", "../etc/passwd", "acme/..", ""]:
        text = await tools.refused("link_pull_request", session_id=sid, repository=repository, number=7)
        assert "Invalid input." in text, repository
        assert "owner/name" in text, repository
    assert (await tools.ok("get_workflow_state", session_id=sid))["pull_requests"] == []


# -- standards ---------------------------------------------------------------------------------


async def test_search_standards_returns_cited_passages(tools: Any) -> None:
    found = await tools.ok("search_standards", query="rate limiting login attempts with 429 and Retry-After",
                           n_results=3)
    results = found["results"]
    assert 1 <= len(results) <= 3
    shipped = REPO / "standards"
    for r in results:
        assert (shipped / r["path"]).is_file(), r["path"]
        assert isinstance(r["heading"], str) and r["heading"]
        assert 1 <= r["start_line"] <= r["end_line"]
        assert isinstance(r["score"], float)
        assert r["text"].strip()
    assert "security/rate-limiting.md" in {r["path"] for r in results}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)

    one = await tools.ok("search_standards", query="rate limiting", n_results=1)
    assert len(one["results"]) == 1


async def test_a_search_during_the_index_build_answers_partial_with_progress(project: Project) -> None:
    gate = threading.Event()

    class Slow(HashEmbedder):
        """Embeds a query at once; a build's batches wait until the test opens the gate."""

        def embed(self, texts: list[str]) -> np.ndarray:
            if len(texts) > 1:
                gate.wait(30)
            return super().embed(texts)

    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    try:
        async with Client(build_server(project, embedder=Slow())) as client:
            result = await client.call_tool("search_standards", {"query": "rate limiting 429 Retry-After"},
                                            progress_callback=on_progress)
            found = result.structured_content
            assert found is not None and found["partial"] is True
            assert "security/rate-limiting.md" in {r["path"] for r in found["results"]}
            assert any("still being built" in n for n in found["notices"])
            assert progress and progress[0][1] and progress[0][0] < progress[0][1]
            assert "Embedding the standards" in (progress[0][2] or "")
            gate.set()
            for _ in range(100):  # the build finishes in the background
                result = await client.call_tool("search_standards", {"query": "rate limiting"})
                if not result.structured_content["partial"]:
                    break
                await anyio.sleep(0.1)
            assert result.structured_content["partial"] is False
    finally:
        gate.set()
