"""The session pages: plain server-rendered HTML, readable without JavaScript.

`/sessions` lists sessions; `/sessions/<id>` shows one (phases, tasks, every evidence
submission, approvals, linked PRs, the event timeline) and is the check runs' details
link; `/sessions/<id>.json` is the same state as data.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from agent_os.engine import Engine
from agent_os.errors import AgentOSError
from agent_os.report import state_word

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
_templates.globals["state_word"] = state_word


def render_sessions(engine: Engine, base: str = "") -> str:
    """The sessions list as HTML."""
    return _templates.get_template("sessions.html").render(sessions=engine.list_sessions(), base=base)


def render_session(engine: Engine, session_id: str, base: str = "") -> str:
    """One session's page as HTML."""
    state = engine.state(session_id)
    by_phase: dict[int, list] = {}
    for sub in engine.submissions(session_id):
        by_phase.setdefault(sub.phase, []).append(sub)
    return _templates.get_template("session.html").render(
        s=state, submissions=by_phase, events=engine.events(session_id), base=base
    )


def pages_router(engine: Engine, base: str = "") -> APIRouter:
    """Routes for the session pages, reading `engine` (sync handlers run in a thread pool)."""
    router = APIRouter()

    @router.get("/sessions", response_class=HTMLResponse)
    def sessions() -> str:
        return render_sessions(engine, base)

    @router.get("/sessions/{session_id}.json")
    def session_json(session_id: str) -> JSONResponse:
        try:
            return JSONResponse(engine.state(session_id).model_dump(mode="json"))
        except AgentOSError as exc:
            raise HTTPException(404, detail=str(exc)) from None

    @router.get("/sessions/{session_id}", response_class=HTMLResponse)
    def session(session_id: str) -> str:
        try:
            return render_session(engine, session_id, base)
        except AgentOSError as exc:
            raise HTTPException(404, detail=str(exc)) from None

    return router
