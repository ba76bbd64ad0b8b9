"""The session pages: plain server-rendered HTML, readable without JavaScript.

`/sessions` lists sessions; `/sessions/<id>` shows one (phases, tasks, every evidence
submission, approvals, linked PRs, the event timeline) and is the check runs' details
link; `/sessions/<id>.json` is the same state as data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from agent_os.engine import Engine
from agent_os.errors import AgentOSError
from agent_os.report import state_word
from agent_os.views import SessionState
from .signin import Access
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
                    repository: str | None = None, visible: Callable[[str | None], bool] | None = None,
                    user: str | None = None) -> str:
    """The sessions list for triage: waiting ones first (and for whom), their PR, author and age.

    `state` and `repository` filter it; the repositories offered are those of every session
    `visible(repository)` lets the reader see.
    """
    rows = [triage_row(engine.state(s.session_id)) for s in engine.list_sessions()]
    if visible is not None:
        rows = [r for r in rows if visible(r.repository)]
    repositories = sorted({r.repository for r in rows if r.repository})
    shown = [r for r in rows if (state is None or r.state == state)
             and (repository is None or r.repository == repository)]
    shown.sort(key=lambda r: (_ORDER[r.state], -r.updated_at.timestamp()))
    counts = {k: sum(1 for r in rows if r.state == k) for k in _ORDER}
    return _templates.get_template("sessions.html").render(
        rows=shown, total=len(rows), counts=counts, state=state, repository=repository,
        repositories=repositories, base=base, user=user)


def render_session(engine: Engine, session_id: str, base: str = "") -> str:
    """One session's page as HTML."""
    state = engine.state(session_id)
    by_phase: dict[int, list] = {}
    for sub in engine.submissions(session_id):
        by_phase.setdefault(sub.phase, []).append(sub)
    return _templates.get_template("session.html").render(
        s=state, submissions=by_phase, events=engine.events(session_id), base=base
    )


def pages_router(engine: Engine, base: str = "", access: Access | None = None) -> APIRouter:
    """Routes for the session pages, reading `engine` (sync handlers run in a thread pool).

    With `access` requiring it, a person must be signed in with GitHub and sees only the
    sessions of repositories they can read; others are "not found", as if absent.
    """
    router = APIRouter()
    access = access or Access(required=False)

    def visible(request: Request, session_id: str) -> SessionState:
        try:
            state = engine.state(session_id)
        except AgentOSError as exc:
            raise HTTPException(404, detail=str(exc)) from None
        repository = state.pull_requests[0].repository if state.pull_requests else getattr(state, "repository", None)
        if not access.can_see(access.user(request), repository):
            raise HTTPException(404, detail=f"No session {session_id!r}.")
        return state

    @router.get("/sessions", response_class=HTMLResponse)
    def sessions(request: Request, state: TriageState | None = None, repository: str | None = None) -> Response:
        refused = access.refusal(request)
        if refused is not None:
            return refused
        user = access.user(request)
        return HTMLResponse(render_sessions(engine, base, state=state, repository=repository or None,
                                            visible=lambda repo: access.can_see(user, repo),
                                            user=user.login if user else None))

    @router.get("/sessions/{session_id}.json")
    def session_json(request: Request, session_id: str) -> Response:
        refused = access.refusal(request, json_out=True)
        if refused is not None:
            return refused
        return JSONResponse(visible(request, session_id).model_dump(mode="json"))

    @router.get("/sessions/{session_id}", response_class=HTMLResponse)
    def session(request: Request, session_id: str) -> Response:
        refused = access.refusal(request)
        if refused is not None:
            return refused
        visible(request, session_id)
        return HTMLResponse(render_session(engine, session_id, base))

    return router
