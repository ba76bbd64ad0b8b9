"""A session that has been through some phases, served over real HTTP by uvicorn."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from agent_os.engine import Engine
from agent_os.project import Project

from standin.serving import BackgroundServer
from support import GOOD_WRITE, NOTES_V1, write_notes, write_workflow


@pytest.fixture
def demo_session(tmp_path: Path):
    """An engine with one session: phase 0 accepted, one refusal on phase 1, a linked PR."""
    write_workflow(tmp_path, NOTES_V1)
    engine = Engine.open(Project.open(tmp_path))
    sid = engine.start("notes_v1", "user_authentication", author="alice").session.session_id
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    try:
        engine.complete_phase(sid, 1, {"summary": "short"})
    except Exception:
        pass
    engine.link_pull_request(sid, "acme/webapp", 12, author="alice")
    yield engine, sid
    engine.close()


@pytest.fixture
def pages_server(demo_session):
    from bot.pages import pages_router

    engine, sid = demo_session
    app = FastAPI()
    app.include_router(pages_router(engine))
    with BackgroundServer(app) as server:
        yield server, engine, sid
