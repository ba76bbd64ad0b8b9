"""A repository's own workflows and standards come from its default branch, through GitHub.

The team server never reads them from its own disk (its project folder stays empty), two
repositories on one server never see each other's, and `create_workflow` hands the files to
the agent's side to commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from botkit import wait_until
from mcp import Client

from agent_os.project import Project
from agent_os_cli.demo import demo_evidence, write_demo_project
from mcp_server.door import build_door

from .topology import git, team

REPO = "acme/webapp"
OTHER = "acme/billing"


def workflow_files(name: str, **changes: Any) -> dict[str, str]:
    """A small valid custom workflow as repository files (`changes` edit its YAML)."""
    data = {"name": name, "version": 1, "description": f"{name}: reproduce, then fix.", "target": "new_spec",
            "phases": [{"id": "reproduce", "title": "Reproduce", "instructions": "phases/0-reproduce.md",
                        "checkpoint": {"evidence": {"summary": {"type": "string", "min_length": 20}}}},
                       {"id": "fix", "title": "Fix", "instructions": "phases/1-fix.md",
                        "checkpoint": {"evidence": {"summary": {"type": "string", "min_length": 20}}}}]}
    data.update(changes)
    base = f".agent-os/workflows/{name}"
    return {f"{base}/workflow.yaml": yaml.safe_dump(data, sort_keys=False),
            f"{base}/phases/0-reproduce.md": "# Reproduce\n\nWrite a failing test that shows the bug.\n",
            f"{base}/phases/1-fix.md": "# Fix\n\nMake the test pass.\n"}


class Door:
    """The agent's door in one clone (in memory, talking HTTP to the team server)."""

    def __init__(self, t, clone: Path) -> None:  # noqa: ANN001
        self.t, self.clone = t, clone

    def calls(self, *steps: tuple[str, dict[str, Any]]) -> list[Any]:
        async def go() -> list[Any]:
            async with Client(build_door(Project.open(self.clone), self.t.url, self.t.token)) as c:
                return [await c.call_tool(tool, args) for tool, args in steps]
        return anyio.run(go)


def text(result: Any) -> str:
    return result.content[0].text


def test_each_repository_runs_its_own_workflows_from_its_default_branch(tmp_path, credentials):
    with team(tmp_path, credentials, [REPO, OTHER]) as (t, _app):
        t.gh.set_files(REPO, {**workflow_files("bugfix_v1"),
                              **workflow_files("broken_v1", phases=[{"id": "x", "title": "X",
                                                                     "instructions": "phases/missing.md"}])})
        web, bill = Door(t, t.clone(REPO, "web")), Door(t, t.clone(OTHER, "bill"))
        listed, started, broken, report = web.calls(
            ("list_workflows", {}),
            ("start_workflow", {"workflow_type": "bugfix_v1", "target_file": "login loop"}),
            ("start_workflow", {"workflow_type": "broken_v1", "target_file": "anything"}),
            ("validate_workflow", {"name": "broken_v1"}))
        mine = {w["name"]: w for w in listed.structured_content["workflows"]}
        assert mine["bugfix_v1"]["source"] == "repository"
        assert mine["bugfix_v1"]["directory"] == f"{REPO}@main:.agent-os/workflows/bugfix_v1"
        assert {"spec_creation_v1", "spec_execution_v1"} <= mine.keys() and "broken_v1" not in mine
        assert not started.is_error, text(started)
        sid = started.structured_content["session"]["session_id"]
        assert started.structured_content["phase"]["title"] == "Reproduce"
        assert "Write a failing test" in started.structured_content["phase"]["instructions"]
        assert t.engine.state(sid).repository == REPO
        # An invalid workflow is refused with its problems, not a server error.
        assert broken.is_error and "broken_v1" in text(broken) and "phases/missing.md" in text(broken)
        assert report.structured_content["valid"] is False
        assert any("does not exist" in p for p in report.structured_content["problems"])

        # The other repository on the same server sees none of them.
        other_list, other_start = bill.calls(
            ("list_workflows", {}), ("start_workflow", {"workflow_type": "bugfix_v1", "target_file": "x"}))
        assert "bugfix_v1" not in {w["name"] for w in other_list.structured_content["workflows"]}
        assert other_start.is_error and "No workflow named 'bugfix_v1'" in text(other_start)


@pytest.mark.slow
def test_an_unchanged_default_branch_costs_one_lookup_and_a_push_is_seen_at_once(tmp_path, credentials):
    with team(tmp_path, credentials, [REPO]) as (t, _app):
        t.gh.set_files(REPO, workflow_files("bugfix_v1"))
        door = Door(t, t.clone(REPO, "web"))
        door.calls(("list_workflows", {}), ("start_workflow", {"workflow_type": "bugfix_v1", "target_file": "y"}))
        before = len(t.gh.requests("GET", "/repos/*"))
        listed, started = door.calls(("list_workflows", {}),
                                     ("start_workflow", {"workflow_type": "bugfix_v1", "target_file": "x"}))
        assert not started.is_error, text(started)
        asked = [r.path for r in t.gh.requests("GET", "/repos/*")[before:]]
        assert asked == [f"/repos/{REPO}/git/trees/main"] * 2  # the branch's root tree, nothing below it
        # A push to the default branch (with git) is seen by the next call.
        main = t.clone(REPO, "main-clone", branch="edit")
        for path, content in workflow_files("hotfix_v1").items():
            (main / path).parent.mkdir(parents=True, exist_ok=True)
            (main / path).write_text(content)
        git(main, "add", "-A")
        git(main, "commit", "--quiet", "-m", "Workflow hotfix_v1")
        git(main, "push", "--quiet", "origin", "HEAD:main")
        (listed,) = door.calls(("list_workflows", {}))
        assert {"bugfix_v1", "hotfix_v1"} <= {w["name"] for w in listed.structured_content["workflows"]}


def test_create_workflow_on_the_team_server_hands_the_files_to_the_clone(tmp_path, credentials):
    with team(tmp_path, credentials, [REPO]) as (t, _app):
        clone = t.clone(REPO, "web")
        door = Door(t, clone)
        created, valid, not_yet = door.calls(
            ("create_workflow", {"name": "triage_v1", "workflow_type": "new_spec", "phases": ["Collect", "Decide"]}),
            ("validate_workflow", {"name": "triage_v1"}),
            ("start_workflow", {"workflow_type": "triage_v1", "target_file": "flaky tests"}))
        assert not created.is_error, text(created)
        made = created.structured_content
        folder = clone / ".agent-os/workflows/triage_v1"
        assert (folder / "workflow.yaml").is_file() and made["directory"] == ".agent-os/workflows/triage_v1"
        assert sorted(made["files"]) == sorted(f".agent-os/workflows/triage_v1/{p.relative_to(folder).as_posix()}"
                                               for p in folder.rglob("*") if p.is_file())
        assert "git add .agent-os/workflows/triage_v1" in made["next_step"] and "default branch" in made["next_step"]
        assert valid.structured_content["valid"] is True
        # Written in the clone only: the server runs it once it is on the default branch.
        assert not_yet.is_error and "No workflow named 'triage_v1'" in text(not_yet)
        git(clone, "add", "-A")
        git(clone, "commit", "--quiet", "-m", "Workflow triage_v1")
        git(clone, "push", "--quiet", "origin", "HEAD:main")
        again, started = door.calls(
            ("create_workflow", {"name": "triage_v1", "workflow_type": "new_spec", "phases": ["Other"]}),
            ("start_workflow", {"workflow_type": "triage_v1", "target_file": "flaky tests"}))
        assert again.is_error and "already exists" in text(again)
        assert not started.is_error, text(started)


@pytest.mark.slow
def test_each_repository_searches_the_shipped_standards_and_its_own(tmp_path, credentials, monkeypatch):
    import mcp_server.backend

    monkeypatch.setattr(mcp_server.backend, "SEARCH_MAX_AGE", 0.0)  # every search asks where main is
    with team(tmp_path, credentials, [REPO, OTHER]) as (t, app):
        t.gh.set_files(REPO, {".agent-os/standards/payments/idempotency.md":
                              "# Idempotency keys\n\nEvery zorblax webhook handler stores an idempotency key "
                              "and ignores a retry it has already processed.\n"})
        t.gh.set_files(OTHER, {".agent-os/standards/billing/rounding.md":
                               "# Rounding invoices\n\nInvoices round half to even, per zorblax line.\n"})
        web, bill = Door(t, t.clone(REPO, "web")), Door(t, t.clone(OTHER, "bill"))
        query = {"query": "zorblax webhook idempotency key retry", "n_results": 5}
        (mine,) = web.calls(("search_standards", query))
        (theirs,) = bill.calls(("search_standards", query))
        mine_paths = [r["path"] for r in mine.structured_content["results"]]
        theirs_paths = [r["path"] for r in theirs.structured_content["results"]]
        assert "payments/idempotency.md" in mine_paths  # at once: keyword-first while it embeds
        assert "billing/rounding.md" not in mine_paths and "payments/idempotency.md" not in theirs_paths
        assert any(not p.startswith(("payments/", "billing/")) for p in mine_paths)  # the shipped library too
        # Evidence may cite the repository's own standards, and only its own.
        for door, accepted in ((web, True), (bill, False)):
            write_demo_project(door.clone)
            (started,) = door.calls(("start_workflow", {"workflow_type": "spec_creation_v1", "target_file": "pay"}))
            sid, spec_dir = (started.structured_content["session"][k] for k in ("session_id", "spec_dir"))
            (door.clone / spec_dir).mkdir(parents=True)
            evidence = demo_evidence(0)
            evidence["standards_consulted"].append("payments/idempotency.md")
            (done,) = door.calls(("complete_phase", {"session_id": sid, "phase": 0, "evidence": evidence}))
            assert done.is_error is not accepted, text(done)
            if not accepted:
                assert "payments/idempotency.md" in text(done)
        # A change pushed to the default branch is searched by the next search after the
        # repository's index finished embedding (a search during a build answers at once from
        # what is indexed, marked partial).
        index = app.state.mcp.backend.repository_indexes()[REPO]
        wait_until(lambda: not index.build_status().building, timeout=60, what="the repository's index")
        (mine,) = web.calls(("search_standards", query))
        assert mine.structured_content["results"][0]["path"] == "payments/idempotency.md"
        main = t.clone(REPO, "main-clone", branch="edit")
        (main / ".agent-os/standards/payments/refunds.md").write_text(
            "# Refunds\n\nA zorblax refund is issued once, keyed by the original charge.\n")
        git(main, "add", "-A")
        git(main, "commit", "--quiet", "-m", "Refund standard")
        git(main, "push", "--quiet", "origin", "HEAD:main")
        refund = ("search_standards", {"query": "zorblax refund original charge", "n_results": 5})
        (first,) = web.calls(refund)  # at once, from the keywords while the new passage embeds
        assert "payments/refunds.md" in [r["path"] for r in first.structured_content["results"]]
        wait_until(lambda: not index.build_status().building, timeout=60, what="the repository's index")
        (after,) = web.calls(refund)
        assert after.structured_content["results"][0]["path"] == "payments/refunds.md"
        assert not after.structured_content["partial"]
    assert not any((tmp_path / "server").iterdir())


def test_a_repository_the_app_cannot_read_is_refused_with_what_to_do(tmp_path, credentials):
    with team(tmp_path, credentials, [REPO]) as (t, _app):
        clone = t.clone(REPO, "web")

        async def go() -> list[Any]:
            door = build_door(Project.open(clone), t.url, t.token, repository="acme/nowhere")
            async with Client(door) as c:
                return [await c.call_tool("list_workflows", {}),
                        await c.call_tool("search_standards", {"query": "rate limiting"})]

        listed, searched = anyio.run(go)
        assert listed.is_error and "acme/nowhere" in text(listed) and "GitHub App" in text(listed)
        assert not searched.is_error and searched.structured_content["results"]
        assert any("shipped standards only" in n for n in searched.structured_content["notices"])


def test_an_agent_on_mcp_reads_its_repositorys_workflows_and_standards_as_resources(tmp_path, credentials):
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    from agent_os.tokens import TokenStore

    with team(tmp_path, credentials, [REPO, OTHER]) as (t, _app):
        t.gh.set_files(REPO, {**workflow_files("bugfix_v1"),
                              ".agent-os/standards/payments/idempotency.md": "# Idempotency keys\n\nStore them.\n"})
        _, limited = TokenStore(t.engine.db).create("web agent", [REPO])
        _, other = TokenStore(t.engine.db).create("billing agent", [OTHER])

        async def read(token: str) -> list[str]:
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
            out = []
            async with http, Client(streamable_http_client(t.url + "/mcp", http_client=http)) as c:
                for uri in ("workflow://bugfix_v1", "standards://payments/idempotency.md"):
                    try:
                        out.append((await c.read_resource(uri)).contents[0].text)
                    except Exception as exc:  # noqa: BLE001 - the SDK raises an MCP error for "not found"
                        out.append(f"error: {exc}")
            return out

        workflow, standard = anyio.run(read, limited)
        assert "# Workflow bugfix_v1 (repository)" in workflow and "Write a failing test" in workflow
        assert standard.startswith("# Idempotency keys")
        assert all(r.startswith("error:") for r in anyio.run(read, other))


def test_the_stdio_door_writes_a_created_workflow_into_the_clone(tmp_path, credentials):
    from mcp import StdioServerParameters

    with team(tmp_path, credentials, [REPO]) as (t, _app):
        clone = t.clone(REPO, "web")
        command, args, env = t.door_command(clone)

        async def go() -> Any:
            async with Client(StdioServerParameters(command=command, args=args, env=env, cwd=str(clone))) as c:
                return await c.call_tool("create_workflow", {"name": "triage_v1", "workflow_type": "new_spec",
                                                             "phases": ["Collect", {"title": "Decide", "gate": True}]})

        created = anyio.run(go)
        assert not created.is_error, text(created)
        assert yaml.safe_load((clone / ".agent-os/workflows/triage_v1/workflow.yaml").read_text())["name"] == "triage_v1"
        assert "git add .agent-os/workflows/triage_v1" in text(created)  # the text the model reads says it too
        assert git(clone, "status", "--porcelain") == "?? .agent-os/workflows/"
