"""The other side of the forgery suite: an honest agent, through either door, completes
both shipped workflows, its tests really run by Agent OS along the way."""

from __future__ import annotations

import pytest

from agent_os_cli.demo import demo_evidence, write_spec_files

from .conftest import TEST_FILES, Workspace, exec_evidence

pytestmark = pytest.mark.anyio


async def test_an_honest_spec_creation_is_accepted_to_its_review_gate(workspace: Workspace, door):
    attempt = await door.start("spec_creation_v1", "user_authentication")
    assert attempt.accepted, attempt.text
    (sid,) = [s.session_id for s in workspace.engine.list_sessions()]
    for phase in range(6):
        write_spec_files(workspace.spec(sid), phase)
        done = await door.complete(sid, phase, demo_evidence(phase))
        assert done.accepted, f"phase {phase}: {done.text}"
    assert workspace.engine.state(sid).phases[5].state == "awaiting_approval"


async def test_an_honest_implementation_is_accepted_with_its_tests_run(workspace: Workspace, door):
    ws = workspace
    sid = ws.execution_at(0)
    assert (await door.complete(sid, 0, exec_evidence("phase-0"))).accepted
    tasks = ws.spec(sid) / "tasks.md"
    for number, (command, count) in enumerate(
            zip(exec_evidence("phase-0")["test_commands"], TEST_FILES.values(), strict=True), start=1):
        text = tasks.read_text(encoding="utf-8")
        head, section = text.split(f"## Phase {number}:", 1)
        section, *rest = section.split("\n## ", 1)
        tasks.write_text(head + f"## Phase {number}:" + section.replace("- [ ]", "- [x]")
                         + ("\n## " + rest[0] if rest else ""), encoding="utf-8")
        done = await door.complete(sid, number, {"test_command": command, "test_summary": f"{count} passed in 0.02s"})
        assert done.accepted, f"phase {number}: {done.text}"
    runs = [e.data for e in ws.engine.events(sid) if e.kind == "command_run"]
    assert [r["command"] for r in runs] == exec_evidence("phase-0")["test_commands"]
    assert all(r["exit_code"] == 0 for r in runs)
    assert (await door.complete(sid, 4, exec_evidence("quality"))).accepted
    assert (await door.complete(sid, 5, exec_evidence("ship"))).accepted
    assert ws.engine.state(sid).phases[5].state == "awaiting_approval"
