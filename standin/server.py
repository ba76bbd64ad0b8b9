"""The stand-in's HTTP side: one FastAPI app with the request log, fault injection, GitHub's
error shape and the App's own routes; the rest live in routes_* and git_http."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    """The ASGI app answering for `gh` (its state, faults, keys and renderer): injected
    faults, GitHub's rate-limit and request-id headers, and a record of every request."""
    routes = _routes()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        _serving.set(gh)  # this request's task (and the tasks and threads it starts) only
        if scope["type"] != "http":
            await routes(scope, receive, send)
            return
        await _faults_and_log(gh, routes, scope, receive, send)

    return app


async def _faults_and_log(gh: GitHubStandIn, routes: ASGIApp, scope: Scope, receive: Receive,
                          send: Send) -> None:
    # Plain ASGI, not an `@app.middleware`: Starlette's request/response middleware costs
    # ~0.5 ms a request (a task group and memory streams), a third of a stand-in answer.
    raw, disconnected = await _read_body(receive)
    if disconnected:
        return
    headers = Headers(scope=scope)
    body: object = None
    if headers.get("content-type", "").startswith("application/x-git"):
        body = f"<git pack data, {len(raw)} bytes>"
    elif raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
    method, path = scope["method"], scope["path"]
    fault = gh.faults.take(method, path)
    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
    injected = fault is not None and fault.status is not None
    answer: dict[str, Any] = {"status": 0, "json": False, "chunks": []}
    unread = [{"type": "http.request", "body": raw, "more_body": False}]

    async def replay() -> Message:  # the body read above, then whatever comes next
        return unread.pop() if unread else await receive()

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            out = MutableHeaders(scope=message)
            answer["status"] = message["status"]
            answer["json"] = gh.record_responses and "json" in out.get("content-type", "")
            for key, value in _github_headers(len(gh.state.requests) + 1).items():
                if key not in out:
                    out.append(key, value)
        elif message["type"] == "http.response.body":
            if answer["json"]:
                answer["chunks"].append(message.get("body", b""))
            if not message.get("more_body", False):  # recorded before the client can see it
                record(answer["status"], _parsed(answer["chunks"]) if answer["json"] else None)
        await send(message)

    def record(status: int, answered: object) -> None:
        with gh.state.lock:
            gh.state.requests.append(
                RequestRecord(
                    method=method,
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=status,
                    body=body,
                    injected=injected,
                    at=now(),
                    response=answered,
                )
            )

    if injected:
        await _fault_response(fault)(scope, replay, send_with_headers)
    else:
        await routes(scope, replay, send_with_headers)


def _parsed(chunks: list[bytes]) -> object:
    try:
        return json.loads(b"".join(chunks) or b"null")
    except ValueError:
        return None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request's whole body, and whether the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _github_headers(used: int) -> dict[str, str]:
    """What GitHub adds to every answer: a request id and the rate limit's state."""
    return {
        "x-github-request-id": uuid.uuid4().hex[:20].upper(),
        "x-github-api-version-selected": "2022-11-28",
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(max(0, 5000 - used)),
        "x-ratelimit-used": str(used),
        "x-ratelimit-reset": str(int(time.time()) + 3600),
        "x-ratelimit-resource": "core",
    }


@functools.cache
def _routes() -> FastAPI:
    """The stand-in's routes, for whichever stand-in is serving (`_Serving`)."""
    gh = cast("GitHubStandIn", _Serving())
    app = FastAPI(title="GitHub stand-in", openapi_url=None, docs_url=None, redoc_url=None)

    @app.exception_handler(GitHubError)
    async def _github_error(request: Request, exc: GitHubError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return GitHubError(exc.status_code, message).response()

    auth = Auth(gh)
    modules = (routes_app, routes_checks, routes_repos, routes_git, routes_user, routes_manifest)
    for module in (*modules, graphql, git_http):
        module.register(app, gh, auth)
    return app


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


