"""Shared pieces of the stand-in's HTTP side: GitHub's error shape, auth, bodies, pagination.

Auth as GitHub does it: `/app/...` and `/repos/{o}/{r}/installation` take the App's RS256 JWT;
repository routes take an unexpired installation token (`token X` or `Bearer X`). Errors use
GitHub's shape: `{"message", "documentation_url", "status", "errors"?}`.
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import jwt
from fastapi import Request
from fastapi.responses import JSONResponse

from standin.state import Repo, Token, now

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn

DOCS = "https://docs.github.com/rest"
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



class Auth:
    """The credentials checks of GitHub's REST API, for one stand-in."""

    def __init__(self, gh: GitHubStandIn) -> None:
        self.gh = gh

    def require_jwt(self, request: Request) -> None:
        """The App's JWT (RS256, iss = App id, at most ten minutes) or 401."""
        gh = self.gh
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

    def require_installation(self, request: Request) -> Token:
        """An unexpired token (an installation's, or a user's from the OAuth flow) or 401."""
        state = self.gh.state
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

    def require_token(self, request: Request, owner: str, repo_name: str) -> Repo:
        """The repository, if the installation token may see it (404 as GitHub otherwise)."""
        state = self.gh.state
        token = self.require_installation(request)
        with state.lock:
            repo = state.repos.get(f"{owner}/{repo_name}")
            # An installation cannot see repositories outside it, nor a user repositories they
            # cannot read: GitHub answers 404 to both.
            if repo is None:
                raise GitHubError(404, "Not Found")
            if token.login is not None:
                if state.role(repo, token.login) == "none":
                    raise GitHubError(404, "Not Found")
            elif repo.installation_id != token.installation_id:
                raise GitHubError(404, "Not Found")
            return repo

    def require_user(self, request: Request) -> Token:
        """A user's token from the OAuth flow; 401 without one, 403 for an installation's."""
        token = self.require_installation(request)
        if token.login is None:
            raise GitHubError(403, "Resource not accessible by integration",
                              docs=f"{DOCS}/users/users#get-the-authenticated-user")
        return token

    @staticmethod
    async def json_body(request: Request) -> dict:
        """The request's JSON object or 400 as GitHub answers it."""
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise GitHubError(400, "Problems parsing JSON") from exc
        if not isinstance(body, dict):
            raise GitHubError(400, "Problems parsing JSON")
        return body

def page(request: Request, items: list) -> tuple[list, dict[str, str]]:
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

