"""Tool outputs the engine's views do not already provide: lists wrapped in an object, so
structured output stays a JSON object with a name for what it holds."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent_os.views import SessionSummary, WorkflowSummary


class WorkflowList(BaseModel):
    """The workflows this project can start."""

    workflows: list[WorkflowSummary]
    hint: str = Field(default="Start one with start_workflow(workflow_type, target_file).")


class SessionList(BaseModel):
    """Workflow sessions, most recently updated first."""

    sessions: list[SessionSummary]
    hint: str = Field(default="get_workflow_state(session_id) shows one in full.")
