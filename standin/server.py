"""The stand-in's HTTP side: one FastAPI app with the request log, fault injection, GitHub's
error shape and the App's own routes; the rest live in routes_* and git_http."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from standin import (
    git_http,
    graphql,
    routes_app,
    routes_checks,
    routes_git,
    routes_manifest,
    routes_repos,
    routes_user,
)
from standin.api import Auth, GitHubError
from standin.faults import Fault
from standin.state import RequestRecord, now

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn


_serving: ContextVar[GitHubStandIn] = ContextVar("standin_serving")


class _Serving:
    """Stands for the stand-in whose request is being answered.

    The routes are built once per process and shared: FastAPI analyses each route's
    signature as it is added (~16 ms for all of them, for each of the ~150 stand-ins a test
    run starts). Each stand-in's app marks itself as the one serving, then hands the request
    on. An attribute read while the routes are built (`state = gh.state`) stands in the
    same way, looked up again at each use.
    """

    def __init__(self, path: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "_path", path)

    def _target(self) -> Any:
        value: Any = _serving.get()
        for part in self._path:
            value = getattr(value, part)
        return value

    def __getattr__(self, name: str) -> Any:
        if _serving.get(None) is None:
            return _Serving((*self._path, name))
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:  # `gh.token_issuances += 1`
        setattr(self._target(), name, value)


def build_app(gh: GitHubStandIn) -> ASGIApp:
    """The ASGI app answering for `gh` (its state, faults, keys and renderer)."""
    routes = _routes()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        _serving.set(gh)  # this request's task (and the tasks and threads it starts) only
        await routes(scope, receive, send)

    return app


@functools.cache
def _routes() -> FastAPI:
    """The stand-in's routes, for whichever stand-in is serving (`_Serving`)."""
    gh = cast("GitHubStandIn", _Serving())
    app = FastAPI(title="GitHub stand-in", openapi_url=None, docs_url=None, redoc_url=None)
    state = gh.state

    @app.exception_handler(GitHubError)
    async def _github_error(request: Request, exc: GitHubError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return GitHubError(exc.status_code, message).response()

    @app.middleware("http")
    async def _faults_and_log(request: Request, call_next: Callable) -> Response:
        raw = await request.body()
        body: object = None
        if request.headers.get("content-type", "").startswith("application/x-git"):
            body = f"<git pack data, {len(raw)} bytes>"
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        fault = gh.faults.take(request.method, request.url.path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            response: Response = _fault_response(fault)
        else:
            response = await call_next(request)
        answered: object = None
        if gh.record_responses and "json" in response.headers.get("content-type", ""):
            response, answered = await _json_of(response)
        used = len(state.requests) + 1
        defaults = {
            "x-github-request-id": uuid.uuid4().hex[:20].upper(),
            "x-github-api-version-selected": "2022-11-28",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(max(0, 5000 - used)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
        }
        for key, value in defaults.items():
            if key not in response.headers:
                response.headers[key] = value
        with state.lock:
            state.requests.append(
                RequestRecord(
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    status=response.status_code,
                    body=body,
                    injected=fault is not None and fault.status is not None,
                    at=now(),
                    response=answered,
                )
            )
        return response

    auth = Auth(gh)
    modules = (routes_app, routes_checks, routes_repos, routes_git, routes_user, routes_manifest)
    for module in (*modules, graphql, git_http):
        module.register(app, gh, auth)
    return app


async def _json_of(response: Response) -> tuple[Response, object]:
    """Read a (streamed) JSON answer for the record and hand back an equivalent response."""
    iterator = getattr(response, "body_iterator", None)
    if iterator is None:  # an answer built here (an injected fault): its body is at hand
        raw = bytes(response.body)
        return response, (json.loads(raw) if raw else None)
    chunks = [chunk async for chunk in iterator]
    raw = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    rebuilt = Response(raw, status_code=response.status_code, headers=headers,
                       media_type=response.media_type)
    return rebuilt, parsed


def _fault_response(fault: Fault) -> JSONResponse:
    status = fault.status or 500
    message = fault.message
    if message is None:
        if status in (403, 429) and fault.headers.get("x-ratelimit-remaining") == "0":
            message = "API rate limit exceeded for installation."
        elif status in (403, 429):
            message = "You have exceeded a secondary rate limit. Please wait a few minutes."
        else:
            message = "Server Error" if status >= 500 else "Injected fault"
    return GitHubError(status, message, headers=dict(fault.headers)).response()


