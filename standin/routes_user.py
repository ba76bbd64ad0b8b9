"""Sign in with GitHub: the App's OAuth user flow and what a user's token can read.

`GET /login/oauth/authorize` approves at once as the stand-in's signed-in test user
(`GitHubStandIn.sign_in_as(login)`, or the `login=` hint) and redirects back with a code and
the state; `POST /login/oauth/access_token` swaps the code (or a refresh token) for a user token
(`ghu_...`). With it: `GET /user`, `GET /user/installations`,
`GET /user/installations/{id}/repositories` and the repository routes, limited to what the user
can read (the owner, collaborators with a role, anyone for a public repository).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from standin.api import DOCS, Auth, GitHubError, page
from standin.state import Token, now

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn

OAUTH_DOCS = "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app"
USER_TOKEN_LIFETIME = timedelta(hours=8)
CODE_LIFETIME = 600  # seconds, as GitHub's
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


@dataclass
class Grant:
    """An authorization code waiting to be exchanged (once) for a user token."""

    login: str
    client_id: str
    redirect_uri: str | None
    expires: float


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add these routes to the stand-in's app."""
    state = gh.state
    codes: dict[str, Grant] = {}
    refresh_tokens: dict[str, str] = {}  # refresh token -> login

    @app.get("/login/oauth/authorize")
    async def authorize(request: Request) -> Response:
        params = request.query_params
        if params.get("client_id") != gh.client_id:
            return _page(404, "The client_id is not one of this GitHub's Apps.")
        redirect = params.get("redirect_uri") or gh.oauth_callback_url
        if not redirect or urlsplit(redirect).scheme not in ("http", "https"):
            return _page(400, "redirect_uri is missing or not an http(s) URL.")
        hint = params.get("login")
        # The stand-in approves as the hinted user (any valid login), else as the signed-in one.
        login = hint if hint and _LOGIN.match(hint) else gh.oauth_user
        code = secrets.token_hex(10)
        codes[code] = Grant(login, gh.client_id, params.get("redirect_uri"),
                            time.monotonic() + CODE_LIFETIME)
        state.user(login)
        query = {"code": code}
        if "state" in params:
            query["state"] = params["state"]
        sep = "&" if urlsplit(redirect).query else "?"
        return RedirectResponse(f"{redirect}{sep}{urlencode(query)}", status_code=302)

    @app.post("/login/oauth/access_token")
    async def access_token(request: Request) -> Response:
        raw = (await request.body()).decode(errors="replace")
        fields = dict(parse_qsl(request.url.query))
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                fields.update(await auth.json_body(request))
            except GitHubError:
                return _oauth_error(request, "bad_request", "The body is not JSON.")
        else:
            fields.update(parse_qsl(raw))
        if fields.get("client_id") != gh.client_id or fields.get("client_secret") != gh.client_secret:
            return _oauth_error(request, "incorrect_client_credentials",
                                "The client_id and/or client_secret passed are incorrect.")
        if fields.get("grant_type") == "refresh_token":
            login = refresh_tokens.pop(str(fields.get("refresh_token")), None)
            if login is None:
                return _oauth_error(request, "bad_refresh_token",
                                    "The refresh token passed is incorrect or expired.")
        else:
            grant = codes.pop(str(fields.get("code")), None)
            if grant is None or grant.expires < time.monotonic():
                return _oauth_error(request, "bad_verification_code",
                                    "The code passed is incorrect or expired.")
            if grant.redirect_uri and fields.get("redirect_uri") not in (None, grant.redirect_uri):
                return _oauth_error(request, "redirect_uri_mismatch",
                                    "The redirect_uri MUST match the registered callback URL.")
            login = grant.login
        token = Token(token="ghu_" + secrets.token_urlsafe(27)[:36], installation_id=0,
                      expires_at=now() + USER_TOKEN_LIFETIME, login=login)
        refresh = "ghr_" + secrets.token_urlsafe(56)[:76]
        with state.lock:
            state.tokens[token.token] = token
        refresh_tokens[refresh] = login
        answer = {
            "access_token": token.token,
            "expires_in": int(USER_TOKEN_LIFETIME.total_seconds()),
            "refresh_token": refresh,
            "refresh_token_expires_in": 15897600,
            "scope": "",
            "token_type": "bearer",
        }
        return _oauth_answer(request, answer)

    @app.get("/user")
    async def get_user(request: Request) -> JSONResponse:
        token = auth.require_user(request)
        with state.lock:
            return JSONResponse(gh.renderer.public_user(token.login or ""))

    @app.get("/user/installations")
    async def user_installations(request: Request) -> JSONResponse:
        token = auth.require_user(request)
        with state.lock:
            ids = sorted({r.installation_id for r in readable(token.login or "")})
            items = [gh.renderer.installation(i, gh.installations.get(i, gh.app.owner)) for i in ids]
        chunk, headers = page(request, items)
        return JSONResponse({"total_count": len(items), "installations": chunk}, headers=headers)

    @app.get("/user/installations/{installation_id}/repositories")
    async def user_installation_repos(request: Request, installation_id: int) -> JSONResponse:
        token = auth.require_user(request)
        login = token.login or ""
        with state.lock:
            repos = [r for r in readable(login) if r.installation_id == installation_id]
            if not repos:
                raise GitHubError(404, "Not Found", docs=f"{DOCS}/apps/installations")
            items = [gh.renderer.full_repo(r, state.permissions(r, login)) for r in repos]
        chunk, headers = page(request, items)
        return JSONResponse(
            {"total_count": len(items), "repository_selection": "all", "repositories": chunk},
            headers=headers,
        )

    def readable(login: str) -> list:
        return sorted(
            (r for r in state.repos.values() if state.role(r, login) != "none"),
            key=lambda r: r.full_name,
        )


def _page(status: int, message: str) -> HTMLResponse:
    body = f"<!doctype html><title>GitHub stand-in</title><h1>{status}</h1><p>{message}</p>"
    return HTMLResponse(body, status_code=status)


def _oauth_answer(request: Request, data: dict) -> Response:
    # GitHub answers form-encoded unless the client asks for JSON.
    if "json" in request.headers.get("accept", ""):
        return JSONResponse(data)
    return Response(urlencode(data), media_type="application/x-www-form-urlencoded")


def _oauth_error(request: Request, error: str, description: str) -> Response:
    # GitHub reports a failed exchange with 200 and an `error` field.
    return _oauth_answer(
        request, {"error": error, "error_description": description, "error_uri": OAUTH_DOCS}
    )

