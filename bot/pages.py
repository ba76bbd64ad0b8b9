"""The session pages: plain server-rendered HTML, readable without JavaScript.

`/sessions` lists sessions; `/sessions/<id>` shows one (phases, tasks, every evidence
submission, approvals, linked PRs, the event timeline) and is the check runs' details
link; `/sessions/<id>.json` is the same state as data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from agent_os.engine import Engine
from agent_os.errors import AgentOSError
from agent_os.report import state_word
from .timeline import event_sentence, triage_row

TriageState = Literal["waiting", "active", "complete"]
_CODE_SPAN = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """Escape `text` and show its `backtick` spans as code, not as literal backticks."""
    return Markup(_CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
_templates.globals["state_word"] = state_word
_templates.globals["event_sentence"] = event_sentence
_templates.filters["code_spans"] = code_spans

_ORDER = {"waiting": 0, "active": 1, "complete": 2}


def render_sessions(engine: Engine, base: str = "", *, state: TriageState | None = None,
                    repository: str | None = None) -> str:
    """The sessions list for triage: waiting ones first (and for whom), their PR, author and age.

    `state` and `repository` filter it; the repositories offered are those of every session.
    """
    rows = [triage_row(engine.state(s.session_id)) for s in engine.list_sessions()]
    repositories = sorted({r.repository for r in rows if r.repository})
    shown = [r for r in rows if (state is None or r.state == state)
             and (repository is None or r.repository == repository)]
    shown.sort(key=lambda r: (_ORDER[r.state], -r.updated_at.timestamp()))
    counts = {k: sum(1 for r in rows if r.state == k) for k in _ORDER}
    return _templates.get_template("sessions.html").render(
        rows=shown, total=len(rows), counts=counts, state=state, repository=repository,
        repositories=repositories, base=base)


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
    def sessions(state: TriageState | None = None, repository: str | None = None) -> str:
        return render_sessions(engine, base, state=state, repository=repository or None)

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
