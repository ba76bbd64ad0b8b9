"""The stand-in's HTTP side: the parts of GitHub's REST API the bot calls, as FastAPI routes.

Auth as GitHub does it: `/app/...` and `/repos/{o}/{r}/installation` take the App's RS256 JWT;
repository routes take an unexpired installation token (`token X` or `Bearer X`). Errors use
GitHub's shape: `{"message", "documentation_url", "status", "errors"?}`.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from standin.faults import Fault
from standin.render import APP_PERMISSIONS
from standin.state import CheckRun, IssueComment, Repo, RequestRecord, Token, iso, now

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn

DOCS = "https://docs.github.com/rest"
STATUSES = ("queued", "in_progress", "completed")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)
MAX_TEXT = 65535


class GitHubError(Exception):
    """An answer in GitHub's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict] | None = None,
        docs: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.docs = status, message, errors, docs
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body: dict = {
            "message": self.message,
            "documentation_url": self.docs,
            "status": str(self.status),
        }
        if self.errors:
            body["errors"] = self.errors
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def build_app(gh: GitHubStandIn) -> FastAPI:
    """The FastAPI app answering for `gh` (its state, faults, keys and renderer)."""
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
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        fault = gh.faults.take(request.method, request.url.path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            response: Response = _fault_response(fault)
        else:
            response = await call_next(request)
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
                )
            )
        return response

    # -- auth -----------------------------------------------------------------------------
    def require_jwt(request: Request) -> None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if not credential or scheme.lower() != "bearer":
            raise GitHubError(
                401, "A JSON web token could not be decoded", docs=f"{DOCS}/apps/apps"
            )
        try:
            claims = jwt.decode(
                credential,
                gh.public_key,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"], "verify_iss": False},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise GitHubError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the "
                "future time at which the assertion expires",
            ) from exc
        except jwt.PyJWTError as exc:
            raise GitHubError(401, "A JSON web token could not be decoded") from exc
        if str(claims["iss"]) != str(gh.app.id):
            raise GitHubError(401, "'Issuer' claim ('iss') must be an Integer")
        # GitHub refuses JWTs that live longer than ten minutes.
        if claims["exp"] - time.time() > 600 + 30:
            raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")

    def require_installation(request: Request) -> Token:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if not credential:
            raise GitHubError(401, "Requires authentication")
        if scheme.lower() not in ("token", "bearer"):
            raise GitHubError(401, "Bad credentials")
        with state.lock:
            token = state.tokens.get(credential)
            if token is None or token.expires_at <= now():
                raise GitHubError(401, "Bad credentials")
            return token

    def require_token(request: Request, owner: str, repo_name: str) -> Repo:
        token = require_installation(request)
        with state.lock:
            repo = state.repos.get(f"{owner}/{repo_name}")
            # An installation cannot see repositories outside it: GitHub answers 404.
            if repo is None or repo.installation_id != token.installation_id:
                raise GitHubError(404, "Not Found")
            return repo

    async def json_body(request: Request) -> dict:
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise GitHubError(400, "Problems parsing JSON") from exc
        if not isinstance(body, dict):
            raise GitHubError(400, "Problems parsing JSON")
        return body

    # -- app ------------------------------------------------------------------------------
    @app.get("/app")
    async def get_app(request: Request) -> JSONResponse:
        require_jwt(request)
        return JSONResponse(gh.renderer.app_json())

    @app.post("/app/installations/{installation_id}/access_tokens")
    async def create_token(request: Request, installation_id: int) -> JSONResponse:
        require_jwt(request)
        requested = (await json_body(request)).get("permissions") or {}
        if installation_id not in gh.installations:
            raise GitHubError(404, "Not Found")
        token = Token(
            token="ghs_" + secrets.token_urlsafe(27)[:36],
            installation_id=installation_id,
            expires_at=now() + gh.token_lifetime,
        )
        with state.lock:
            state.tokens[token.token] = token
            state.token_issuances += 1
        permissions = {k: v for k, v in APP_PERMISSIONS.items() if not requested or k in requested}
        return JSONResponse(
            {
                "token": token.token,
                "expires_at": iso(token.expires_at),
                "permissions": permissions,
                "repository_selection": "all",
            },
            status_code=201,
        )

    @app.get("/repos/{owner}/{repo}/installation")
    async def get_repo_installation(request: Request, owner: str, repo: str) -> JSONResponse:
        require_jwt(request)
        found = state.repos.get(f"{owner}/{repo}")
        if found is None:
            raise GitHubError(404, "Not Found")
        return JSONResponse(gh.renderer.installation(found.installation_id, found.owner))

    # -- check runs -----------------------------------------------------------------------
    @app.post("/repos/{owner}/{repo}/check-runs")
    async def create_check_run(request: Request, owner: str, repo: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        body = await json_body(request)
        _validate_check_run(body, creating=True)
        head_sha = str(body["head_sha"])
        with state.lock:
            if head_sha not in found.commits:
                raise GitHubError(
                    422, f"No commit found for SHA: {head_sha}", docs=f"{DOCS}/checks/runs"
                )
            run = CheckRun(
                id=state.next_id(),
                repo=found.full_name,
                head_sha=head_sha,
                name=body["name"],
                status="queued",
                conclusion=None,
                check_suite_id=state.check_suite_id(found.full_name, head_sha),
                started_at=now(),
            )
            _apply_check_run(run, body)
            state.check_runs[run.id] = run
            return JSONResponse(gh.renderer.check_run(run), status_code=201)

    @app.patch("/repos/{owner}/{repo}/check-runs/{check_run_id}")
    async def update_check_run(
        request: Request, owner: str, repo: str, check_run_id: int
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        body = await json_body(request)
        _validate_check_run(body, creating=False)
        with state.lock:
            run = state.check_runs.get(check_run_id)
            if run is None or run.repo != found.full_name:
                raise GitHubError(404, "Not Found")
            _apply_check_run(run, body)
            return JSONResponse(gh.renderer.check_run(run))

    @app.get("/repos/{owner}/{repo}/check-runs/{check_run_id}")
    async def get_check_run(
        request: Request, owner: str, repo: str, check_run_id: int
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            run = state.check_runs.get(check_run_id)
            if run is None or run.repo != found.full_name:
                raise GitHubError(404, "Not Found")
            return JSONResponse(gh.renderer.check_run(run))

    @app.get("/repos/{owner}/{repo}/commits/{ref:path}/check-runs")
    async def list_check_runs(request: Request, owner: str, repo: str, ref: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        params = request.query_params
        with state.lock:
            sha = found.branches.get(ref, ref)
            if sha not in found.commits:
                raise GitHubError(422, f"No commit found for SHA: {ref}")
            runs = [r for r in state.check_runs.values() if r.repo == found.full_name]
            runs = [r for r in runs if r.head_sha == sha]
            if params.get("check_name"):
                runs = [r for r in runs if r.name == params["check_name"]]
            if params.get("status"):
                runs = [r for r in runs if r.status == params["status"]]
            if params.get("filter", "latest") == "latest":
                latest: dict[str, CheckRun] = {}
                for run in runs:
                    if run.name not in latest or run.id > latest[run.name].id:
                        latest[run.name] = run
                runs = list(latest.values())
            runs.sort(key=lambda r: r.id, reverse=True)
            page, headers = _page(request, runs)
            return JSONResponse(
                {"total_count": len(runs), "check_runs": [gh.renderer.check_run(r) for r in page]},
                headers=headers,
            )

    # -- issue comments -------------------------------------------------------------------
    @app.post("/repos/{owner}/{repo}/issues/{number}/comments")
    async def create_comment(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        text = _comment_body(await json_body(request))
        with state.lock:
            if (found.full_name, number) not in state.pulls:
                raise GitHubError(404, "Not Found")
            comment = IssueComment(
                id=state.next_id(),
                repo=found.full_name,
                number=number,
                user=gh.app.bot_login,
                body=text,
            )
            state.comments[comment.id] = comment
            return JSONResponse(gh.renderer.issue_comment(comment), status_code=201)

    @app.patch("/repos/{owner}/{repo}/issues/comments/{comment_id}")
    async def update_comment(
        request: Request, owner: str, repo: str, comment_id: int
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        text = _comment_body(await json_body(request))
        with state.lock:
            comment = state.comments.get(comment_id)
            if comment is None or comment.repo != found.full_name:
                raise GitHubError(404, "Not Found")
            comment.body = text
            comment.updated_at = now()
            return JSONResponse(gh.renderer.issue_comment(comment))

    @app.get("/repos/{owner}/{repo}/issues/{number}/comments")
    async def list_comments(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            if (found.full_name, number) not in state.pulls:
                raise GitHubError(404, "Not Found")
            items = [
                c
                for c in sorted(state.comments.values(), key=lambda c: c.id)
                if (c.repo, c.number) == (found.full_name, number)
            ]
            page, headers = _page(request, items)
            return JSONResponse([gh.renderer.issue_comment(c) for c in page], headers=headers)

    # -- teams ------------------------------------------------------------------------------
    # https://docs.github.com/en/rest/teams/members#list-team-members
    @app.get("/orgs/{org}/teams/{team_slug}/members")
    async def list_team_members(request: Request, org: str, team_slug: str) -> JSONResponse:
        require_installation(request)
        with state.lock:
            members = state.teams.get(f"{org}/{team_slug}".lower())
            if members is None:
                raise GitHubError(404, "Not Found", docs=f"{DOCS}/teams/members#list-team-members")
            items = [gh.renderer.user(login) for login in members]
        page, headers = _page(request, items)
        return JSONResponse(page, headers=headers)

    # -- collaborators, contents ----------------------------------------------------------
    @app.get("/repos/{owner}/{repo}/collaborators/{username}/permission")
    async def collaborator_permission(
        request: Request, owner: str, repo: str, username: str
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            return JSONResponse(gh.renderer.collaborator_permission(found, username))

    @app.get("/repos/{owner}/{repo}/contents/{path:path}")
    @app.get("/repos/{owner}/{repo}/contents")
    async def get_contents(request: Request, owner: str, repo: str, path: str = "") -> JSONResponse:
        found = require_token(request, owner, repo)
        ref = request.query_params.get("ref") or None
        with state.lock:
            if ref is not None and found.snapshot(ref) is None:
                raise GitHubError(404, f"No commit found for the ref {ref}")
            content = gh.renderer.content(found, path, ref)
        if content is None:
            raise GitHubError(
                404, "Not Found", docs=f"{DOCS}/repos/contents#get-repository-content"
            )
        return JSONResponse(content)

    # -- pull requests --------------------------------------------------------------------
    def find_pull(found: Repo, number: int):
        pr = state.pulls.get((found.full_name, number))
        if pr is None:
            raise GitHubError(404, "Not Found")
        return pr

    @app.get("/repos/{owner}/{repo}/pulls/{number}")
    async def get_pull(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            return JSONResponse(gh.renderer.pull(find_pull(found, number)))

    @app.get("/repos/{owner}/{repo}/pulls/{number}/files")
    async def list_pull_files(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            files = gh.renderer.pull_files(find_pull(found, number))
        page, headers = _page(request, files)
        return JSONResponse(page, headers=headers)

    @app.get("/repos/{owner}/{repo}/pulls/{number}/reviews")
    async def list_reviews(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            find_pull(found, number)
            items = [
                r
                for r in sorted(state.reviews.values(), key=lambda r: r.id)
                if (r.repo, r.number) == (found.full_name, number)
            ]
            page, headers = _page(request, items)
            return JSONResponse([gh.renderer.review(r) for r in page], headers=headers)

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


def _comment_body(body: dict) -> str:
    text = body.get("body")
    if not isinstance(text, str) or not text:
        raise GitHubError(
            422,
            "Validation Failed",
            [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
            docs=f"{DOCS}/issues/comments",
        )
    if len(text) > MAX_TEXT:
        raise GitHubError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "IssueComment",
                    "code": "custom",
                    "field": "data",
                    "message": "Body is too long (maximum is 65536 characters)",
                }
            ],
        )
    return text


def _validate_check_run(body: dict, *, creating: bool) -> None:
    """GitHub's checks on a create/update body; every problem reported at once (422)."""
    errors: list[dict] = []

    def bad(field: str, code: str = "invalid", message: str | None = None) -> None:
        item = {"resource": "CheckRun", "field": field, "code": code}
        if message:
            item["message"] = message
        errors.append(item)

    name_ok = isinstance(body.get("name"), str) and bool(body.get("name"))
    if (creating or "name" in body) and not name_ok:
        bad("name", "missing_field")
    if creating and (not isinstance(body.get("head_sha"), str) or not body.get("head_sha")):
        bad("head_sha", "missing_field")
    status = body.get("status")
    if status is not None and status not in STATUSES:
        bad("status", message=f"status must be one of {', '.join(STATUSES)}")
    conclusion = body.get("conclusion")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        bad("conclusion", message=f"conclusion must be one of {', '.join(CONCLUSIONS)}")
    if status == "completed" and conclusion is None:
        bad("conclusion", "missing_field", "conclusion is required when status is completed")
    if conclusion is not None and status not in (None, "completed"):
        bad("status", message="a conclusion requires status completed")
    for stamp in ("started_at", "completed_at"):
        if body.get(stamp) is not None:
            try:
                datetime.fromisoformat(str(body[stamp]))
            except ValueError:
                bad(stamp, message=f"{stamp} must be an ISO 8601 timestamp")
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict):
            bad("output")
        else:
            for key in ("title", "summary"):
                if not isinstance(output.get(key), str) or not output.get(key):
                    bad(f"output.{key}", "missing_field")
            for key in ("summary", "text"):
                if isinstance(output.get(key), str) and len(output[key]) > MAX_TEXT:
                    bad(f"output.{key}", message=f"output.{key} is longer than {MAX_TEXT}")
            if len(output.get("annotations") or []) > 50:
                bad("output.annotations", message="at most 50 annotations per request")
    actions = body.get("actions")
    if actions is not None:
        if not isinstance(actions, list) or len(actions) > 3:
            bad("actions", message="at most 3 actions")
        else:
            limits = {"label": 20, "description": 40, "identifier": 20}
            for i, action in enumerate(actions):
                for key, limit in limits.items():
                    value = action.get(key) if isinstance(action, dict) else None
                    if not isinstance(value, str) or not value:
                        bad(f"actions[{i}].{key}", "missing_field")
                    elif len(value) > limit:
                        bad(f"actions[{i}].{key}", message=f"{key} is longer than {limit}")
    if errors:
        raise GitHubError(
            422, "Validation Failed", errors, docs=f"{DOCS}/checks/runs#create-a-check-run"
        )


def _apply_check_run(run: CheckRun, body: dict) -> None:
    """Write a validated body onto a run (a conclusion implies completed, as on GitHub)."""
    for key in ("name", "external_id", "details_url"):
        if key in body:
            setattr(run, key, body[key])
    if "output" in body:
        run.output = dict(body["output"])
    if "actions" in body:
        run.actions = list(body["actions"])
    if body.get("started_at"):
        run.started_at = _parse_time(body["started_at"])
    status = body.get("status")
    conclusion = body.get("conclusion")
    if conclusion is not None:
        status = "completed"
    if status is not None:
        run.status = status
        if status == "completed":
            run.conclusion = conclusion
            run.completed_at = (
                _parse_time(body["completed_at"]) if body.get("completed_at") else now()
            )
        else:
            run.conclusion = None
            run.completed_at = None


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(str(value)).replace(microsecond=0)


def _page(request: Request, items: list) -> tuple[list, dict[str, str]]:
    """GitHub pagination: `per_page` (max 100, default 30), `page`, and a Link header."""
    try:
        per_page = min(100, max(1, int(request.query_params.get("per_page", 30))))
        page = max(1, int(request.query_params.get("page", 1)))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []

    def url(n: int) -> str:
        query = dict(request.query_params)
        query.update(per_page=str(per_page), page=str(n))
        return f"{str(request.url).split('?')[0]}?{urlencode(query)}"

    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
    return chunk, ({"link": ", ".join(links)} if links else {})
