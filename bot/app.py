"""The GitHub App as a FastAPI application: the webhook endpoint and its worker.

`Bot` wires the parts over one engine; `create_app` serves it. The team server
(`agent_os_cli.team`) mounts the same `Bot` beside the MCP server and the session pages.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from agent_os.engine import Engine

from .github import GitHubApp
from .handlers import Handlers
from .ingress import Ingress
from .metrics import Metrics
from .outbox import Outbox
from .port import LiveGitHub
from .recovery import Recovery
from .settings import Settings
from .store import BotStore
from .webhooks import WebhookEndpoint
from .worker import Worker

log = logging.getLogger(__name__)


@dataclass
class Bot:
    """Store, GitHub client, outbox, handlers and worker over one engine."""

    settings: Settings
    engine: Engine
    store: BotStore
    github: GitHubApp
    outbox: Outbox
    handlers: Handlers
    worker: Worker
    metrics: Metrics
    ingress: Ingress

    @classmethod
    def build(cls, settings: Settings, engine: Engine, metrics: Metrics | None = None) -> Bot:
        """Wire the bot; nothing runs until `start()`."""
        metrics = metrics or Metrics()
        store = BotStore(engine.db, lease=settings.lease_seconds)
        github = GitHubApp(settings)
        outbox = Outbox(store, engine, github, settings,
                        on_sent=lambda kind, ok: metrics.outbox_sent.labels(kind, "ok" if ok else "failed").inc())
        handlers = Handlers(engine, LiveGitHub(github, outbox, store), settings)
        worker = Worker(store, handlers, outbox, settings, metrics, Recovery(github, store, handlers))
        ingress = Ingress(store, worker.wake)
        worker.ingress = ingress
        bot = cls(settings, engine, store, github, outbox, handlers, worker, metrics, ingress)
        # Whatever changes a session (an MCP tool, the CLI, a review) re-posts its PRs' checks:
        # queued in the change's own transaction (a crash after its commit loses nothing),
        # the worker woken once it has committed.
        engine.subscribe(bot._queue_syncs, in_transaction=True)
        engine.subscribe(bot._wake)
        return bot

    def _queue_syncs(self, session_id: str, kind: str) -> None:
        self.outbox.sync_session(session_id)

    def _wake(self, session_id: str, kind: str) -> None:
        self.worker.wake()

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()

    def serve_webhooks(self, app: FastAPI) -> None:
        """Answer `POST /webhooks/github` on `app` (ahead of its routes)."""
        app.add_middleware(WebhookEndpoint, settings=self.settings, ingress=self.ingress, metrics=self.metrics)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The GitHub App alone: `POST /webhooks/github` and `GET /healthz`.

    With no arguments it reads its settings from the environment (`AGENT_OS_APP_ID`,
    `AGENT_OS_PRIVATE_KEY`, `AGENT_OS_WEBHOOK_SECRET`, `AGENT_OS_DB`, `AGENT_OS_GITHUB_URL`)
    and opens the project's session database, so `uvicorn --factory bot.app:create_app`
    serves it. `agent-os serve` serves this beside the MCP server and the session pages.
    """
    settings = settings or Settings()
    owns_engine = engine is None
    if engine is None:
        from agent_os.project import Project

        engine = Engine.open(Project.open(settings.project))  # AGENT_OS_DB is read there
    bot = Bot.build(settings, engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        bot.start()
        try:
            yield
        finally:
            bot.stop()
            if owns_engine:
                engine.close()

    app = FastAPI(title="Agent OS GitHub App", lifespan=lifespan, docs_url=None, redoc_url=None)
    bot.serve_webhooks(app)

    @app.get("/healthz")
    def healthz() -> Response:
        database = database_health(engine.db)
        if not database["ok"]:
            return JSONResponse({"ok": False, "database": database}, status_code=503)
        return JSONResponse({"ok": True, "outbox_pending": bot.store.pending_count(), "database": database})

    app.state.bot = bot
    return app


def database_health(db: Any) -> dict[str, object]:
    """Whether the session database answers, which kind it is and how fast (for /healthz)."""
    try:
        seconds = db.ping()
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is the health check
        return {"ok": False, "dialect": db.dialect, "error": str(exc).splitlines()[0][:200]}
    return {"ok": True, "dialect": db.dialect, "ping_ms": round(seconds * 1000, 2)}
