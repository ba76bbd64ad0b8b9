"""The team server: one process, one store, every door.

- `POST /webhooks/github` — the GitHub App (when an App id is configured);
- `/mcp` — the MCP server over streamable HTTP, bearer tokens from `agent-os token`;
- `/sessions`, `/sessions/<id>` — the session pages (the check runs' details link);
- `/healthz` and `/metrics` (Prometheus).

Approvals on the PR and tool calls from the agents meet in one engine, so an MCP client
sees a gate open the moment the reviewer's webhook is processed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from mcp.server.transport_security import TransportSecuritySettings

from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.tokens import TokenStore
from bot.app import Bot, database_health
from bot.metrics import Metrics
from bot.pages import pages_router
from bot.settings import Settings
from bot.signin import Access, signin_router

if TYPE_CHECKING:
    from agent_os.standards import Embedder
    from bot.default_branches import GitHubDefaultBranches

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def create_team_app(settings: Settings, *, project: Project, engine: Engine | None = None,
                    embedder: Embedder | None = None, host: str = "127.0.0.1") -> FastAPI:
    """The team server's ASGI app over `project`.

    `engine` is borrowed when given; otherwise it is opened here and closed at shutdown.
    With the GitHub App on and no engine given, the server reads no repository from its
    own disk: evidence comes as a door's snapshot or is read at the linked PR's head commit.
    Without `settings.app_id` the GitHub App is off (MCP and pages still work), which
    suits solo use and trying it out. `host` is where uvicorn listens: on a loopback
    address the MCP endpoint also checks Host/Origin headers against DNS rebinding.
    """
    from agent_os.files import WorkingTree
    from agent_os.store import open_store
    from agent_os_cli.pr_sources import NO_FILES, PullRequestSources
    from mcp_server.auth import StoreTokenVerifier
    from mcp_server.server import build_server

    owns_engine = engine is None
    if engine is None:
        engine = Engine(project, open_store(project.db_path),
                        files=NO_FILES if settings.app_id is not None else None)
    metrics = Metrics()
    bot = Bot.build(settings, engine, metrics) if settings.app_id is not None else None
    tokens = TokenStore(engine.db)
    # A borrowed engine reading a working tree (tests of the shared-disk set-up) keeps reading it.
    sources = None if bot is None or isinstance(engine.files, WorkingTree) else \
        PullRequestSources(engine, bot.handlers.github, refresh=bot.handlers.reconcile)
    if sources is not None:
        # Each repository's own workflows and standards, from its default branch through GitHub.
        engine.use_default_branches(default_branches(bot))
    mcp = build_server(project, engine=engine, embedder=embedder, token_verifier=StoreTokenVerifier(tokens),
                       sources=sources,
                       public_url=settings.public_url or f"http://{host}", warm_index=True,
                       on_tool_call=lambda tool, ok: metrics.tool_calls.labels(tool, "ok" if ok else "error").inc())
    security = mcp_transport_security(host, settings.public_url)
    access = Access.for_server(settings, host)
    # On PostgreSQL several replicas may answer /mcp: stateless streamable HTTP keeps no MCP
    # session in one process's memory, so any replica answers any request.
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", host=host, transport_security=security,
                                      stateless_http=engine.db.is_postgres)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if owns_engine:
                stack.callback(engine.close)
            await stack.enter_async_context(mcp.session_manager.run())
            if bot is not None:
                bot.start()
                # Stopping lets the worker finish the item in hand; the rest stays queued.
                stack.callback(bot.stop)
            log.info("team server ready (GitHub App %s)", "on" if bot else "off")
            yield

    app = FastAPI(title="Agent OS", lifespan=lifespan, docs_url=None, redoc_url=None)
    if bot is not None:
        bot.serve_webhooks(app)
    app.include_router(signin_router(access))
    app.include_router(pages_router(engine, settings.public_url.rstrip("/") if settings.public_url else "", access))

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/sessions")

    @app.get("/healthz")
    def healthz() -> Response:
        database = database_health(engine.db)
        if not database["ok"]:
            return JSONResponse({"ok": False, "database": database}, status_code=503)
        pending = bot.store.pending_count() if bot else 0
        return JSONResponse({"ok": True, "github_app": bot is not None, "outbox_pending": pending,
                             "sessions": len(engine.list_sessions()), "database": database})

    @app.get("/metrics")
    def prometheus(request: Request) -> Response:
        refused = access.metrics_refusal(request)
        if refused is not None:
            return refused
        if bot is not None:
            metrics.outbox_depth.set(bot.store.pending_count())
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    # Last, so the routes above win: the MCP app answers /mcp (and 404s anything else).
    app.mount("/", mcp_app)
    app.state.bot = bot
    app.state.engine = engine
    app.state.mcp = mcp
    app.state.metrics = metrics
    return app


def default_branches(bot: Bot) -> GitHubDefaultBranches:
    """Repositories' default branches read as the App's installation on each (git trees and
    blobs shared with the PR re-verification's cache)."""
    from bot.default_branches import GitHubDefaultBranches

    github, outbox = bot.github, bot.outbox
    return GitHubDefaultBranches(
        lambda repo: lambda url: github.get_or_none(outbox.installation_for(repo), url),
        bot.handlers.github.objects)  # type: ignore[attr-defined]  # LiveGitHub's


def mcp_transport_security(host: str, public_url: str) -> TransportSecuritySettings | None:
    """The /mcp Host and Origin check: against DNS rebinding on loopback, where the public
    name (AGENT_OS_PUBLIC_URL, a reverse proxy's) is accepted as well; none elsewhere."""
    if host not in LOOPBACK:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if not public_url:
        return None  # the SDK's own loopback defaults
    public = urlsplit(public_url)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", public.netloc, f"{public.hostname}:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*",
                         f"{public.scheme}://{public.netloc}"])


def issue_token(engine: Engine, name: str) -> str:
    """A new MCP bearer token's secret (the demo's agent uses one)."""
    _, secret = TokenStore(engine.db).create(name)
    return secret
