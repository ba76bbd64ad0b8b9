"""Done when: the agent's clone and the team server share nothing but GitHub.

Separate folders and databases; the server's project folder stays empty. The agent works
through the stdio door (`agent-os mcp --server URL`), or with no door on `/mcp`, and gets
its work onto GitHub with `git push` only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agent_os_cli.demo import demo_evidence, write_demo_project, write_spec_files

from .topology import commit_and_push, git, team

REPO = "acme/webapp"
OTHER = "acme/billing"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REQUIREMENTS = "Agent OS / 1 Requirements"


def execution_evidence(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "evidence" / "spec_execution_v1" / name).read_text())


class Agent:
    """An MCP client session, calling tools the way a model would (refusals come back as data)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, tool: str, **args: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, f"{tool} refused: {result.content[0].text}"
        return result.structured_content

    async def refused(self, tool: str, **args: Any) -> str:
        result = await self.client.call_tool(tool, args)
        assert result.is_error, f"{tool} was accepted"
        return result.content[0].text


def tick_all(tasks_md: Path) -> None:
    text = tasks_md.read_text()
    tasks_md.write_text(re.sub(r"^(\s*[-*+]\s+)\[ \]", r"\1[x]", text, flags=re.MULTILINE))


async def create_spec(t, app, agent: Agent, clone: Path, repo: str = REPO) -> tuple[str, str, int]:
    """spec_creation_v1 to the end: every phase through `agent`, every file pushed with git."""
    started = await agent.call("start_workflow", workflow_type="spec_creation_v1", target_file="user_authentication")
    sid, spec_dir = started["session"]["session_id"], started["session"]["spec_dir"]
    (clone / spec_dir).mkdir(parents=True, exist_ok=True)
    write_demo_project(clone)
    await agent.call("complete_phase", session_id=sid, phase=0, evidence=demo_evidence(0))
    write_spec_files(clone / spec_dir, 1)
    await agent.call("complete_phase", session_id=sid, phase=1, evidence=demo_evidence(1))
    head = commit_and_push(clone, "Requirements")
    pr = t.gh.open_pull_request(repo, author="dev", head_ref="work", body=f"Agent-OS-Session: {sid}")
    assert pr.head_sha == head
    t.settle(app)
    assert t.checks(repo, head)[REQUIREMENTS] == ("completed", "success")
    for n in (2, 3, 4):
        write_spec_files(clone / spec_dir, n)
        await agent.call("complete_phase", session_id=sid, phase=n, evidence=demo_evidence(n))
    head = commit_and_push(clone, "Design, tasks, implementation guidance")
    await agent.call("complete_phase", session_id=sid, phase=5,
                     evidence={**demo_evidence(5), "pull_request": f"{repo}#{pr.number}"})
    t.settle(app)
    assert t.checks(repo, head)["Agent OS"] == ("completed", "action_required")
    t.gh.submit_review(repo, pr.number, "rev", "approved")
    t.settle(app)
    assert (await agent.call("get_workflow_state", session_id=sid))["status"] == "complete"
    assert t.checks(repo, head)["Agent OS"] == ("completed", "success")
    return sid, spec_dir, pr.number


async def execute_spec(t, app, agent: Agent, clone: Path, spec_dir: str, repo: str = REPO) -> str:
    """spec_execution_v1 to the end on the approved spec, through `agent`, with git pushes."""
    git(clone, "checkout", "--quiet", "-b", "build")
    started = await agent.call("start_workflow", workflow_type="spec_execution_v1", target_file=spec_dir)
    sid = started["session"]["session_id"]
    await agent.call("complete_phase", session_id=sid, phase=0, evidence=execution_evidence("phase-0.json"))
    state = await agent.call("get_workflow_state", session_id=sid)
    implement = [p for p in state["phases"] if p["id"].startswith("phase-")]
    assert len(implement) == 3
    tick_all(clone / spec_dir / "tasks.md")
    head = commit_and_push(clone, "Implementation", branch="build")
    pr = t.gh.open_pull_request(repo, author="dev", head_ref="build", body=f"Agent-OS-Session: {sid}")
    t.settle(app)
    commands = execution_evidence("phase-0.json")["test_commands"]
    # The team server runs no tests: the first phase waits for CI's `test` on the head commit.
    first = implement[0]
    waiting = await agent.call("complete_phase", session_id=sid, phase=first["number"],
                               evidence={"test_command": commands[0], "test_summary": "12 passed in 0.5s"})
    assert waiting["phase_state"] == "active" and f"waiting for CI: test on {head[:7]}" in waiting["message"]
    t.settle(app)
    name = f"Agent OS / {first['number']} {first['title']}"
    assert t.checks(repo, head)[name] == ("in_progress", None)
    t.gh.ci_check_run(repo, head, "test", conclusion="success")
    t.settle(app)
    assert t.checks(repo, head)[name] == ("completed", "success")
    # CI has passed at this head: the later phases complete as soon as their checkpoints pass.
    for p, command in zip(implement[1:], commands[1:], strict=True):
        done = await agent.call("complete_phase", session_id=sid, phase=p["number"],
                                evidence={"test_command": command, "test_summary": "12 passed in 0.5s"})
        assert done["phase_state"] == "complete"
    await agent.call("complete_phase", session_id=sid, phase=implement[-1]["number"] + 1,
                     evidence=execution_evidence("quality.json"))
    ship = {**execution_evidence("ship.json"), "pull_request": f"{repo}#{pr.number}"}
    done = await agent.call("complete_phase", session_id=sid, phase=implement[-1]["number"] + 2, evidence=ship)
    assert done["phase_state"] == "awaiting_approval"
    t.gh.submit_review(repo, pr.number, "rev", "approved")
    t.settle(app)
    assert (await agent.call("get_workflow_state", session_id=sid))["status"] == "complete"
    assert t.checks(repo, head)["Agent OS"] == ("completed", "success")
    return sid


@pytest.mark.slow
def test_both_workflows_through_the_stdio_door(tmp_path, credentials):
    with team(tmp_path, credentials, [REPO]) as (t, app):
        clone = t.clone(REPO, "clone")
        command, args, env = t.door_command(clone)

        async def go():
            async with Client(StdioServerParameters(command=command, args=args, env=env, cwd=str(clone))) as c:
                agent = Agent(c)
                created, spec_dir, _ = await create_spec(t, app, agent, clone)
                executed = await execute_spec(t, app, agent, clone, spec_dir)
                return created, executed

        created, executed = anyio.run(go)
        for sid in (created, executed):
            state = t.engine.state(sid)
            assert state.status == "complete" and state.repository == REPO
        # The server kept the blob SHAs of what it checked, from the door's snapshots.
        accepted = [e for e in t.engine.store.events(created) if e.kind == "evidence_accepted"]
        assert accepted[1].data["files"].keys() == {f"{t.engine.state(created).spec_dir}/srd.md"}


@pytest.mark.slow
def test_an_agent_on_mcp_without_a_door_is_checked_at_its_pull_requests_head(tmp_path, credentials):
    with team(tmp_path, credentials, [REPO]) as (t, app):
        clone = t.clone(REPO, "checkout")

        async def go():
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {t.token}"})
            async with http, Client(streamable_http_client(t.url + "/mcp", http_client=http)) as c:
                agent = Agent(c)
                started = await agent.call("start_workflow", workflow_type="spec_creation_v1",
                                           target_file="user_authentication")
                sid, spec_dir = started["session"]["session_id"], started["session"]["spec_dir"]
                (clone / spec_dir).mkdir(parents=True)
                write_demo_project(clone)
                (clone / spec_dir / ".keep").write_text("")
                refusal = await agent.refused("complete_phase", session_id=sid, phase=0, evidence=demo_evidence(0))
                assert "push" in refusal and "link_pull_request" in refusal
                commit_and_push(clone, "Context")
                pr = t.gh.open_pull_request(REPO, author="dev", head_ref="work")
                await agent.call("link_pull_request", session_id=sid, repository=REPO, number=pr.number)
                await agent.call("complete_phase", session_id=sid, phase=0, evidence=demo_evidence(0))
                # Written but not pushed: the PR's head lacks srd.md, and the refusal says to push.
                write_spec_files(clone / spec_dir, 1)
                refusal = await agent.refused("complete_phase", session_id=sid, phase=1, evidence=demo_evidence(1))
                assert "srd.md" in refusal and "push your latest commits" in refusal
                commit_and_push(clone, "Requirements")
                await agent.call("complete_phase", session_id=sid, phase=1, evidence=demo_evidence(1))
                for n in (2, 3, 4):
                    write_spec_files(clone / spec_dir, n)
                commit_and_push(clone, "The rest of the spec")
                for n in (2, 3, 4):
                    await agent.call("complete_phase", session_id=sid, phase=n, evidence=demo_evidence(n))
                await agent.call("complete_phase", session_id=sid, phase=5,
                                 evidence={**demo_evidence(5), "pull_request": f"{REPO}#{pr.number}"})
                t.gh.submit_review(REPO, pr.number, "rev", "approved")
                t.settle(app)
                return sid

        sid = anyio.run(go)
        assert t.engine.state(sid).status == "complete"


def test_two_repositories_on_one_server_never_mix(tmp_path, credentials):
    from agent_os.project import Project
    from mcp_server.door import build_door

    with team(tmp_path, credentials, [REPO, OTHER]) as (t, app):
        t.gh.set_files(OTHER, {".agent-os/config.yaml": "gates:\n  approvals: 2\n  exclude_author: true\n"})
        clones = {repo: t.clone(repo, repo.replace("/", "-")) for repo in (REPO, OTHER)}

        async def start(repo: str) -> tuple[str, str]:
            async with Client(build_door(Project.open(clones[repo]), t.url, t.token)) as c:
                started = await Agent(c).call("start_workflow", workflow_type="spec_creation_v1",
                                              target_file="user_authentication")
                return started["session"]["session_id"], started["session"]["spec_dir"]

        (web, web_dir), (bill, bill_dir) = anyio.run(start, REPO), anyio.run(start, OTHER)
        assert web != bill and web_dir == bill_dir  # the same target, in two repositories
        assert (t.engine.state(web).repository, t.engine.state(bill).repository) == (REPO, OTHER)

        # A PR of one repository that names the other's session, or carries a spec folder of
        # the same name, links only its own.
        for repo, sid in ((REPO, web), (OTHER, bill)):
            (clones[repo] / web_dir).mkdir(parents=True)
            (clones[repo] / web_dir / "srd.md").write_text("# draft\n")
            commit_and_push(clones[repo], "draft")
        web_pr = t.gh.open_pull_request(REPO, author="dev", head_ref="work", body=f"Agent-OS-Session: {bill}")
        bill_pr = t.gh.open_pull_request(OTHER, author="dev", head_ref="work", body="")
        t.settle(app)
        assert t.engine.sessions_for_pull_request(REPO, web_pr.number) == [web]
        assert t.engine.sessions_for_pull_request(OTHER, bill_pr.number) == [bill]
        web_runs = t.gh.check_runs(REPO, web_pr.head_sha)
        assert {r.external_id.split(":")[0] for r in web_runs.values() if r.name != "Agent OS"} == {web}
        # Each repository's own base-branch policy.
        assert t.engine.gate(web).required_approvals == 1 and t.engine.gate(bill).required_approvals == 2


def test_a_token_limited_to_one_repository_acts_only_there(tmp_path, credentials):
    from agent_os.tokens import TokenStore

    with team(tmp_path, credentials, [REPO, OTHER]) as (t, app):
        _, limited = TokenStore(t.engine.db).create("billing bot", ["acme/billing"])
        other = t.engine.start("spec_creation_v1", "elsewhere", repository=REPO).session.session_id

        async def go():
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {limited}"})
            async with http, Client(streamable_http_client(t.url + "/mcp", http_client=http)) as c:
                agent = Agent(c)
                mine = await agent.call("start_workflow", workflow_type="spec_creation_v1", target_file="invoices")
                refusal = await agent.refused("get_workflow_state", session_id=other)
                listed = await agent.call("list_sessions")
                wrong_pr = await agent.refused("link_pull_request", session_id=mine["session"]["session_id"],
                                               repository=REPO, number=1)
                return mine, refusal, listed, wrong_pr

        mine, refusal, listed, wrong_pr = anyio.run(go)
        assert mine["session"]["repository"] == OTHER  # the token's one repository
        assert "limited to acme/billing" in refusal and REPO in refusal
        assert [s["session_id"] for s in listed["sessions"]] == [mine["session"]["session_id"]]
        assert "limited to acme/billing" in wrong_pr


@pytest.mark.slow
def test_a_link_made_with_the_tool_re_verifies_at_the_pull_requests_head_at_once(tmp_path, credentials):
    from agent_os.project import Project
    from mcp_server.door import build_door

    with team(tmp_path, credentials, [REPO]) as (t, app):
        clone = t.clone(REPO, "clone")

        async def go():
            async with Client(build_door(Project.open(clone), t.url, t.token)) as c:
                agent = Agent(c)
                started = await agent.call("start_workflow", workflow_type="spec_creation_v1",
                                           target_file="user_authentication")
                sid, spec_dir = started["session"]["session_id"], started["session"]["spec_dir"]
                (clone / spec_dir).mkdir(parents=True)
                write_demo_project(clone)
                await agent.call("complete_phase", session_id=sid, phase=0, evidence=demo_evidence(0))
                write_spec_files(clone / spec_dir, 1)
                await agent.call("complete_phase", session_id=sid, phase=1, evidence=demo_evidence(1))
                # Pushed without the spec: the PR names no session and carries no spec folder.
                git(clone, "add", "README.md", "app")
                git(clone, "commit", "--quiet", "-m", "The app, not the spec")
                git(clone, "push", "--quiet", "origin", "work")
                pr = t.gh.open_pull_request(REPO, author="dev", head_ref="work")
                t.settle(app)
                assert t.engine.sessions_for_pull_request(REPO, pr.number) == []
                linked = await agent.call("link_pull_request", session_id=sid, repository=REPO, number=pr.number)
                # Verified at the head before the tool answered: no webhook came in between.
                verdict = t.engine.state(sid).phases[1].verification
                return pr, linked, verdict, spec_dir

        pr, linked, verdict, spec_dir = anyio.run(go)
        assert linked["head_sha"] == pr.head_sha
        assert verdict is not None and verdict.commit == pr.head_sha and not verdict.passed
        assert f"{spec_dir}/srd.md" in verdict.missing
        t.settle(app)
        assert t.checks(REPO, pr.head_sha)[REQUIREMENTS] == ("completed", "failure")
