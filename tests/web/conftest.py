"""A session that has been through some phases, served over real HTTP by uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from agent_os.engine import Engine
from agent_os.project import Project

from support import GOOD_WRITE, NOTES_V1, write_notes, write_workflow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """uvicorn serving `app` on a free loopback port until stopped."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(5)


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
    with ServerThread(app) as server:
        yield server, engine, sid
