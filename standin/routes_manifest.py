"""GitHub's App manifest flow: register an App from a manifest, then convert the code.

A browser POSTs a form with a `manifest` field (JSON) to `/settings/apps/new?state=S` (an App
owned by the signed-in user) or `/organizations/{org}/settings/apps/new?state=S`. GitHub asks
the person to confirm; the stand-in confirms at once and redirects to the manifest's
`redirect_url` with `code` and `state`. `POST /app-manifests/{code}/conversions` (no auth, once,
within an hour) answers the new App with `id`, `slug`, `pem`, `webhook_secret`, `client_id`
and `client_secret`. The stand-in then hosts that App: its JWTs, its webhook URL and secret.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from standin.api import DOCS, Auth, GitHubError

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn

MANIFEST_DOCS = "https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest"
CODE_LIFETIME = 3600  # seconds: GitHub's manifest codes last an hour
MAX_MANIFEST = 64 * 1024
_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


@dataclass
class Pending:
    """A manifest a person confirmed, waiting for its conversion."""

    manifest: dict
    owner: str
    expires: float


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add these routes to the stand-in's app."""
    pending: dict[str, Pending] = {}

    async def new_app(request: Request, owner: str) -> Response:
        raw = await request.body()
        if len(raw) > MAX_MANIFEST:
            return _html(413, "The manifest is too large.")
        form = dict(parse_qsl(raw.decode(errors="replace")))
        try:
            manifest = json.loads(form.get("manifest", ""))
        except ValueError:
            return _html(400, "Send the manifest as JSON in the form field `manifest`.")
        problems = _problems(manifest)
        if problems:
            return _html(422, "Invalid GitHub App manifest: " + "; ".join(problems))
        code = secrets.token_hex(10)
        pending[code] = Pending(manifest, owner, time.monotonic() + CODE_LIFETIME)
        query = {"code": code}
        if request.query_params.get("state"):
            query["state"] = request.query_params["state"]
        redirect = manifest.get("redirect_url")
        if not redirect:
            return _html(200, f"App created. Code: {code}")
        sep = "&" if urlsplit(redirect).query else "?"
        return RedirectResponse(f"{redirect}{sep}{urlencode(query)}", status_code=302)

    @app.post("/settings/apps/new")
    async def new_user_app(request: Request) -> Response:
        return await new_app(request, gh.oauth_user)

    @app.post("/organizations/{org}/settings/apps/new")
    async def new_org_app(request: Request, org: str) -> Response:
        if not _ORG.match(org):
            return _html(404, "No such organization.")
        return await new_app(request, org)

    @app.post("/app-manifests/{code}/conversions")
    async def convert(code: str) -> JSONResponse:
        found = pending.pop(code, None)
        if found is None or found.expires < time.monotonic():
            raise GitHubError(404, "Not Found", docs=f"{DOCS}/apps/apps#create-a-github-app-from-a-manifest")
        manifest = found.manifest
        hook = manifest.get("hook_attributes") or {}
        secret = secrets.token_hex(20) if hook.get("url") else None
        creds = gh.adopt_app_from_manifest(manifest, owner=found.owner, webhook_secret=secret)
        body = gh.renderer.app_json()
        body.update(
            client_id=gh.client_id,
            client_secret=gh.client_secret,
            webhook_secret=secret,
            pem=creds.private_key_pem,
        )
        return JSONResponse(body, status_code=201)


def _problems(manifest: object) -> list[str]:
    """What GitHub would refuse in a manifest (every problem at once)."""
    if not isinstance(manifest, dict):
        return ["the manifest must be a JSON object"]
    problems = []
    if not isinstance(manifest.get("url"), str) or not manifest.get("url"):
        problems.append("url is required")
    name = manifest.get("name")
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= 34):
        problems.append("name must be 1 to 34 characters")
    hook = manifest.get("hook_attributes")
    if hook is not None and (not isinstance(hook, dict) or not isinstance(hook.get("url"), str)):
        problems.append("hook_attributes.url is required when hook_attributes is given")
    for key in ("redirect_url", "setup_url"):
        value = manifest.get(key)
        if value is not None and (not isinstance(value, str)
                                  or urlsplit(value).scheme not in ("http", "https")):
            problems.append(f"{key} must be an http(s) URL")
    permissions = manifest.get("default_permissions", {})
    if not isinstance(permissions, dict) or not all(
        isinstance(v, str) and v in ("read", "write", "admin") for v in permissions.values()
    ):
        problems.append("default_permissions values must be read, write or admin")
    events = manifest.get("default_events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        problems.append("default_events must be a list of event names")
    return problems


def _html(status: int, message: str) -> HTMLResponse:
    body = (f"<!doctype html><title>GitHub stand-in</title><h1>{status}</h1>"
            f"<p>{escape(message)}</p><p><a href='{MANIFEST_DOCS}'>About App manifests</a></p>")
    return HTMLResponse(body, status_code=status)
