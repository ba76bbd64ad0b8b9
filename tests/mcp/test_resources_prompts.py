"""Resources and prompts as an agent meets them: the standards and workflows it can read by
URI (and the paths it cannot), and the prompts for the intents people bring most often."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError

from agent_os.project import Project
from mcp_server.resources import read_standard

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
SHIPPED_STANDARDS = REPO / "standards"
SECRET = "TOP-SECRET-CONTENT-1234"


def shipped_docs() -> set[str]:
    """Every shipped standards document, as its path relative to the library (READMEs are not standards)."""
    return {p.relative_to(SHIPPED_STANDARDS).as_posix() for p in SHIPPED_STANDARDS.rglob("*.md")
            if p.name.lower() != "readme.md"}


async def read(client: Client, uri: str) -> tuple[str, str | None]:
    result = await client.read_resource(uri)
    (content,) = result.contents
    return content.text, content.mime_type


# -- listing -----------------------------------------------------------------------------------


async def test_resources_list_every_standard_and_workflow_and_both_indexes(client: Client) -> None:
    listed = {str(r.uri): r for r in (await client.list_resources()).resources}
    docs = shipped_docs()
    assert len(docs) > 30
    expected = ({f"standards://{d}" for d in docs} | {"workflow://spec_creation_v1", "workflow://spec_execution_v1"}
                | {"standards://index", "workflow://index"})
    assert set(listed) == expected
    assert all(r.mime_type == "text/markdown" for r in listed.values())
    assert listed["standards://security/rate-limiting.md"].name == "security/rate-limiting.md"


async def test_every_listed_resource_says_what_it_holds(client: Client) -> None:
    listed = {str(r.uri): r for r in (await client.list_resources()).resources}
    for uri, resource in listed.items():
        assert resource.description, f"{uri} has no description"
        assert "partial" not in resource.description, f"{uri}: {resource.description}"
    assert listed["standards://security/rate-limiting.md"].description.startswith("Standard: Rate limiting. Apply when")
    assert "spec_creation_v1 v1 (6 phases): Write a complete" in listed["workflow://spec_creation_v1"].description


async def test_the_templates_reach_documents_by_path_and_workflows_by_name(client: Client) -> None:
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {"standards://{+path}", "workflow://{name}"}


# -- standards ---------------------------------------------------------------------------------


async def test_a_standards_document_reads_as_its_file(client: Client) -> None:
    text, mime = await read(client, "standards://security/rate-limiting.md")
    assert text == (SHIPPED_STANDARDS / "security" / "rate-limiting.md").read_text(encoding="utf-8")
    assert mime == "text/markdown"
    assert "Retry-After" in text


async def test_the_standards_index_links_every_document(client: Client) -> None:
    text, _ = await read(client, "standards://index")
    assert text.startswith("# Standards")
    for doc in shipped_docs():
        assert f"[{doc}](standards://{doc})" in text


async def test_the_projects_own_standards_override_and_appear_without_a_restart(
    client: Client, project: Project
) -> None:
    own = project.agent_os_dir / "standards"
    (own / "security").mkdir(parents=True)
    (own / "security" / "rate-limiting.md").write_text("# Rate limiting\n\nOur own rule: 10 a minute.\n",
                                                       encoding="utf-8")
    (own / "team").mkdir()
    (own / "team" / "naming.md").write_text("# Naming\n\nSnake case everywhere.\n", encoding="utf-8")

    overridden, _ = await read(client, "standards://security/rate-limiting.md")
    assert overridden.startswith("# Rate limiting\n\nOur own rule")
    assert "Snake case" in (await read(client, "standards://team/naming.md"))[0]


@pytest.mark.parametrize(
    "uri",
    [
        "standards://../secret.md",
        "standards://../../secret.md",
        "standards://security/../../secret.md",
        "standards://security/../../../secret.md",
        "standards://%2e%2e/secret.md",
        "standards:///etc/passwd",
        "standards://../../../../../../etc/passwd",
        "standards://security/rate-limiting.md/../../../secret.md",
        "standards://secret.txt",
    ],
)
async def test_a_path_leaving_the_standards_is_an_error_not_a_file_read(
    client: Client, project: Project, uri: str
) -> None:
    (project.root / "secret.md").write_text(f"# Secret\n\n{SECRET}\n", encoding="utf-8")
    (project.agent_os_dir / "secret.md").parent.mkdir(parents=True, exist_ok=True)
    (project.agent_os_dir / "secret.md").write_text(f"# Secret\n\n{SECRET}\n", encoding="utf-8")
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    assert SECRET not in str(raised.value)
    assert "root:" not in str(raised.value)  # nothing of /etc/passwd either


async def test_an_unknown_standard_is_not_found_and_points_to_the_index(client: Client) -> None:
    with pytest.raises(MCPError, match="standards://index"):
        await client.read_resource("standards://security/no-such-rule.md")


@pytest.mark.parametrize("rel", ["../secret.md", "../../secret.md", "/etc/passwd", "security\\..\\..\\secret.md",
                                 "security/../../secret.md", "secret.md\x00.md", "", "security"])
def test_read_standard_is_confined_to_the_standards_roots(project: Project, rel: str) -> None:
    (project.root / "secret.md").write_text(SECRET, encoding="utf-8")
    (project.agent_os_dir / "standards").mkdir(parents=True)
    assert read_standard(project, rel) is None


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlink_out_of_the_standards_is_not_followed(project: Project) -> None:
    (project.root / "secret.md").write_text(SECRET, encoding="utf-8")
    own = project.agent_os_dir / "standards"
    own.mkdir(parents=True)
    (own / "leak.md").symlink_to(project.root / "secret.md")
    assert read_standard(project, "leak.md") is None
    assert read_standard(project, "security/rate-limiting.md")  # the shipped library still reads


# -- workflows ---------------------------------------------------------------------------------


async def test_a_workflow_resource_holds_its_yaml_and_every_instruction(client: Client) -> None:
    text, mime = await read(client, "workflow://spec_creation_v1")
    wf_dir = REPO / "workflows" / "spec_creation_v1"
    assert mime == "text/markdown"
    assert text.startswith("# Workflow spec_creation_v1 (shipped)")
    assert (wf_dir / "workflow.yaml").read_text(encoding="utf-8").rstrip() in text
    for md in sorted((wf_dir / "phases").glob("*.md")) + sorted((wf_dir / "tasks").glob("*.md")):
        assert f"## {md.parent.name}/{md.name}" in text
        assert md.read_text(encoding="utf-8").rstrip() in text


async def test_the_workflow_index_lists_the_startable_workflows(client: Client, tools: Any) -> None:
    text, _ = await read(client, "workflow://index")
    assert "[spec_creation_v1](workflow://spec_creation_v1) v1 (shipped)" in text
    assert "[spec_execution_v1](workflow://spec_execution_v1) v1 (shipped)" in text

    await tools.ok("create_workflow", name="bugfix_v1", workflow_type="new_spec", phases=["Reproduce", "Fix"])
    assert "[bugfix_v1](workflow://bugfix_v1) v1 (project)" in (await read(client, "workflow://index"))[0]
    created, _ = await read(client, "workflow://bugfix_v1")
    assert created.startswith("# Workflow bugfix_v1 (project)")
    assert "name: bugfix_v1" in created


@pytest.mark.parametrize("uri", ["workflow://nope_v1", "workflow://..", "workflow://../secret", "workflow://%2e%2e"])
async def test_an_unknown_or_hostile_workflow_is_an_error(client: Client, uri: str) -> None:
    with pytest.raises(MCPError) as raised:
        await client.read_resource(uri)
    if uri == "workflow://nope_v1":
        assert "spec_creation_v1" in str(raised.value)  # the error names the known ones


# -- prompts -----------------------------------------------------------------------------------


async def test_the_three_prompts_are_listed_with_their_arguments(client: Client) -> None:
    prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {"create_spec", "implement_spec", "where_are_we"}
    assert [(a.name, a.required) for a in prompts["create_spec"].arguments] == [("feature", True)]
    assert [(a.name, a.required) for a in prompts["implement_spec"].arguments] == [("spec_dir", True)]
    assert not prompts["where_are_we"].arguments
    assert all(p.description for p in prompts.values())


async def test_create_spec_names_the_tools_to_call(client: Client) -> None:
    result = await client.get_prompt("create_spec", {"feature": "password reset"})
    (message,) = result.messages
    assert message.role == "user"
    text = message.content.text
    assert text.startswith("Create a spec for: password reset")
    assert 'start_workflow("spec_creation_v1", "password reset")' in text
    assert "search_standards" in text
    assert "complete_phase" in text
    assert "get_review_feedback" in text


async def test_implement_spec_and_where_are_we_name_their_tools(client: Client) -> None:
    spec_dir = ".agent-os/specs/2026-01-15-user-authentication"
    text = (await client.get_prompt("implement_spec", {"spec_dir": spec_dir})).messages[0].content.text
    assert f'start_workflow("spec_execution_v1", "{spec_dir}")' in text
    assert "complete_phase" in text
    text = (await client.get_prompt("where_are_we")).messages[0].content.text
    assert "list_sessions" in text and "get_workflow_state" in text


async def test_a_prompt_without_its_argument_or_an_unknown_prompt_is_an_error(client: Client) -> None:
    with pytest.raises(MCPError):
        await client.get_prompt("create_spec", {})
    with pytest.raises(MCPError):
        await client.get_prompt("approve_everything", {})
