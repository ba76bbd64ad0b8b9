"""The App's own routes: the App, installation tokens, webhook deliveries and redelivery."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from standin.api import DOCS, Auth, GitHubError
from standin.state import Token, iso, now

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add these routes to the stand-in's app."""
    state = gh.state
    require_jwt, json_body = auth.require_jwt, auth.json_body

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
        permissions = {k: v for k, v in gh.app.permissions if not requested or k in requested}
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


    # -- webhook deliveries ---------------------------------------------------------------
    # https://docs.github.com/en/rest/apps/webhooks#list-deliveries-for-an-app-webhook
    @app.get("/app/hook/deliveries")
    async def list_deliveries(request: Request) -> JSONResponse:
        require_jwt(request)
        params = request.query_params
        try:
            per_page = int(params.get("per_page", 30))
        except ValueError:
            per_page = 0
        if not 1 <= per_page <= 100:
            raise GitHubError(422, "per_page must be between 1 and 100", docs=DELIVERIES_DOCS)
        cursor = params.get("cursor")
        before = None
        if cursor:
            if not cursor.startswith("v1_") or not cursor[3:].isdigit():
                raise GitHubError(400, "Invalid cursor", docs=DELIVERIES_DOCS)
            before = int(cursor[3:])
        wanted = params.get("status")
        if wanted not in (None, "success", "failure"):
            raise GitHubError(422, "status must be success or failure", docs=DELIVERIES_DOCS)
        with state.lock:
            items = sorted(gh.attempts, key=lambda a: a.id, reverse=True)  # newest first
        items = [a for a in items if before is None or a.id < before]
        if wanted is not None:
            items = [a for a in items if (a.status == "OK") == (wanted == "success")]
        chunk = items[:per_page]
        headers = {}
        if len(items) > per_page:
            query = {k: v for k, v in params.items() if k != "cursor"}
            query.update(per_page=str(per_page), cursor=f"v1_{chunk[-1].id}")
            base = str(request.url).split("?")[0]
            headers["link"] = f'<{base}?{urlencode(query)}>; rel="next"'
        return JSONResponse([a.item() for a in chunk], headers=headers)

    @app.get("/app/hook/deliveries/{delivery_id}")
    async def get_delivery(request: Request, delivery_id: int) -> JSONResponse:
        require_jwt(request)
        attempt = gh.attempt(delivery_id)
        if attempt is None:
            raise GitHubError(404, "Not Found", docs=DELIVERIES_DOCS)
        return JSONResponse(attempt.detail())

    @app.post("/app/hook/deliveries/{delivery_id}/attempts")
    async def redeliver(request: Request, delivery_id: int) -> JSONResponse:
        require_jwt(request)
        if gh.attempt(delivery_id) is None:
            raise GitHubError(404, "Not Found", docs=DELIVERIES_DOCS)
        # GitHub queues the redelivery; doing it before answering keeps tests deterministic.
        await asyncio.to_thread(gh.redeliver, delivery_id)
        return JSONResponse({}, status_code=202)


DELIVERIES_DOCS = f"{DOCS}/apps/webhooks"
