"""Prompts for the intents people bring most often; each names the tools to call."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer


def register_prompts(server: MCPServer) -> None:
    """Add the create-spec, implement-spec and where-are-we prompts to `server`."""

    @server.prompt(name="create_spec", title="Create a spec",
                   description="Turn a feature request into a reviewed spec with spec_creation_v1.")
    def create_spec(feature: str) -> str:
        return (
            f"Create a spec for: {feature}\n\n"
            "1. Call search_standards for the areas this feature touches.\n"
            f"2. Call start_workflow(\"spec_creation_v1\", \"{feature}\") and keep the session_id.\n"
            "3. For each phase: follow its instructions, write the files it names, then call "
            "complete_phase with evidence that is true of those files. If it is refused, fix "
            "every listed failure and submit again.\n"
            "4. When the review phase waits for approval, open a pull request with the line "
            "`Agent-OS-Session: <session_id>` in its body and tell me; read "
            "get_review_feedback for reviewers' comments."
        )

    @server.prompt(name="implement_spec", title="Implement a spec",
                   description="Implement an approved spec phase by phase with spec_execution_v1.")
    def implement_spec(spec_dir: str) -> str:
        return (
            f"Implement the approved spec in {spec_dir}.\n\n"
            f"1. Call start_workflow(\"spec_execution_v1\", \"{spec_dir}\").\n"
            "2. Each phase is a phase of the spec's tasks.md: do its tasks, tick them off in "
            "tasks.md, run the tests it names, and call complete_phase with the test command's "
            "summary as evidence.\n"
            "3. Search the standards before each design decision."
        )

    @server.prompt(name="where_are_we", title="Where are we?",
                   description="Summarise the state of the workflow sessions in this project.")
    def where_are_we() -> str:
        return (
            "Call list_sessions, then get_workflow_state for each active session. Tell me, "
            "for each: the workflow, the phase it is on, what is left, whether a gate waits "
            "for a person, and the linked pull request."
        )
