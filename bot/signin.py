"""Who may read what the team server shows besides webhooks.

A team server must be reachable from GitHub, so whoever reaches it could read session pages
(evidence, learnings, file names, PR numbers) and metrics. So, once the server is reachable
beyond this machine (it listens on a non-loopback address, or its public URL names another
host):

- the session pages and their JSON need a person signed in with GitHub (the App's OAuth
  user flow), who sees only sessions of repositories they can read through the App;
- `/metrics` needs its own bearer token (AGENT_OS_METRICS_TOKEN);
- `/healthz` stays open.

A solo `agent-os serve` on loopback stays open. The signed-in user is kept in a cookie
signed with a key derived from the App's client secret: nothing server-side, so replicas
and restarts keep people signed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
COOKIE = "agent_os_user"
STATE_COOKIE = "agent_os_oauth_state"
SIGNED_IN_FOR_S = 8 * 3600


@dataclass(frozen=True)
class User:
    """A signed-in person and the repositories (owner/name) they can read through the App."""

    login: str
    repositories: frozenset[str]


@dataclass
class Access:
    """The access rule of one team server; `required` False means everything is open."""

    required: bool
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    metrics_token: str = field(default="", repr=False)
    github_url: str = "https://api.github.com"
    public_url: str = ""

    @classmethod
    def for_server(cls, settings: Any, host: str) -> Access:
        """The rule for a server listening on `host` with these settings."""
        public_host = urlsplit(settings.public_url).hostname if settings.public_url else None
        reachable = host not in LOOPBACK or (public_host is not None and public_host not in LOOPBACK)
        forced = getattr(settings, "require_sign_in", None)
        return cls(required=reachable if forced is None else forced, client_id=settings.client_id,
                   client_secret=settings.client_secret.get_secret_value(),
                   metrics_token=settings.metrics_token.get_secret_value(),
                   github_url=settings.github_url, public_url=settings.public_url.rstrip("/"))

    # --- the signed cookie ---------------------------------------------------------------

    def _key(self) -> bytes:
        return hashlib.sha256(b"agent-os session cookie\x00" + self.client_secret.encode()).digest()

    def seal(self, user: User, now: float | None = None) -> str:
        """The cookie value for `user`: compressed JSON and its HMAC."""
        body = json.dumps({"login": user.login, "repos": sorted(user.repositories),
                           "exp": int((now or time.time()) + SIGNED_IN_FOR_S)}).encode()
        data = base64.urlsafe_b64encode(zlib.compress(body)).decode()
        return data + "." + hmac.new(self._key(), data.encode(), hashlib.sha256).hexdigest()

    def user(self, request: Request) -> User | None:
        """The signed-in user of `request`, or None (no cookie, a forged one, or expired)."""
        value = request.cookies.get(COOKIE, "")
        data, _, sig = value.rpartition(".")
        if not data or not self.client_secret:
            return None
        if not hmac.compare_digest(sig, hmac.new(self._key(), data.encode(), hashlib.sha256).hexdigest()):
            return None
        try:
            payload = json.loads(zlib.decompress(base64.urlsafe_b64decode(data)))
        except (ValueError, zlib.error):
            return None
        if payload.get("exp", 0) < time.time():
            return None
        return User(str(payload["login"]), frozenset(payload.get("repos", [])))

    # --- what each door asks -------------------------------------------------------------

    def can_see(self, user: User | None, repository: str | None) -> bool:
        """Whether `user` may see a session of `repository` (a session with none: nobody remote)."""
        if not self.required:
            return True
        return user is not None and repository is not None and repository.lower() in {
            r.lower() for r in user.repositories}

    def refusal(self, request: Request, *, json_out: bool = False) -> Response | None:
        """None when `request` may read session pages; else the answer that says how to."""
        if not self.required or self.user(request) is not None:
            return None
        if not (self.client_id and self.client_secret):
            text = ("Session pages are private on a server others can reach, and sign-in is not set up: set "
                    "AGENT_OS_CLIENT_ID and AGENT_OS_CLIENT_SECRET to the GitHub App's client id and secret.")
            return _answer(403, text, json_out)
        login = f"/login?{urlencode({'next': request.url.path})}"
        if json_out:
            return _answer(401, f"Sign in with GitHub first: {self.public_url}{login}", True)
        return RedirectResponse(login, status_code=302)

    def metrics_refusal(self, request: Request) -> Response | None:
        """None when `request` may read /metrics; else 401 or 403 saying what is needed."""
        if not self.required:
            return None
        if not self.metrics_token:
            return _answer(403, "/metrics is private on a server others can reach: set AGENT_OS_METRICS_TOKEN and "
                                "scrape with Authorization: Bearer <that token>.", False)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.metrics_token}".encode()):
            return Response("A bearer token is needed: Authorization: Bearer <AGENT_OS_METRICS_TOKEN>.\n",
                            status_code=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                            media_type="text/plain")
        return None

    def web_url(self) -> str:
        """GitHub's web address (OAuth pages) for its API address."""
        return web_url(self.github_url)


def web_url(github_url: str) -> str:
    """GitHub's web address for its API address (github.com, Enterprise Server, the stand-in)."""
    parts = urlsplit(github_url)
    return "https://github.com" if parts.hostname == "api.github.com" else f"{parts.scheme}://{parts.netloc}"


def _answer(status: int, text: str, json_out: bool) -> Response:
    if json_out:
        return Response(json.dumps({"detail": text}), status_code=status, media_type="application/json")
    return HTMLResponse(f"<!doctype html><title>Agent OS</title><p>{_html(text)}</p>", status_code=status)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_next(path: str | None) -> str:
    """Only a path on this server: never an absolute URL elsewhere (an open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/sessions"
    return path


async def read_user(access: Access, code: str, redirect_uri: str) -> User:
    """Swap the OAuth code for a user token and read who it is and what they can read."""
    from githubkit import GitHub, OAuthWebAuthStrategy

    web = OAuthWebAuthStrategy(access.client_id, access.client_secret, code, redirect_uri)
    # Exchanged through a client without auth: one whose auth is `web` would spend the code first.
    token = await web.async_exchange_token(GitHub(base_url=access.github_url, auto_retry=False, http_cache=False))
    gh = GitHub(token, base_url=access.github_url, auto_retry=False, http_cache=False)
    login = (await gh.rest.users.async_get_authenticated()).parsed_data.login
    repositories: set[str] = set()
    installations = (await gh.rest.apps.async_list_installations_for_authenticated_user(per_page=100))
    for installation in installations.parsed_data.installations:
        page = 1
        while True:
            repos = (await gh.rest.apps.async_list_installation_repos_for_authenticated_user(
                installation.id, per_page=100, page=page)).parsed_data
            repositories |= {r.full_name for r in repos.repositories}
            if len(repos.repositories) < 100:
                break
            page += 1
    return User(login, frozenset(repositories))


def signin_router(access: Access) -> APIRouter:
    """/login, /auth/callback and /logout: Sign in with GitHub through the App's OAuth flow."""
    router = APIRouter()

    @router.get("/login", include_in_schema=False)
    def login(next: str | None = None) -> Response:  # noqa: A002 - the query parameter's name
        if not (access.client_id and access.client_secret):
            return _answer(403, "Sign-in is not set up: set AGENT_OS_CLIENT_ID and AGENT_OS_CLIENT_SECRET.", False)
        state = secrets.token_urlsafe(24)
        query = urlencode({"client_id": access.client_id, "state": state,
                           "redirect_uri": f"{access.public_url}/auth/callback"})
        response = RedirectResponse(f"{access.web_url()}/login/oauth/authorize?{query}", status_code=302)
        # The state ties the callback to this browser (CSRF); `next` comes back with it.
        response.set_cookie(STATE_COOKIE, f"{state}|{_safe_next(next)}", max_age=600, httponly=True,
                            samesite="lax", secure=access.public_url.startswith("https://"))
        return response

    @router.get("/auth/callback", include_in_schema=False)
    async def callback(request: Request, code: str = "", state: str = "") -> Response:
        expected, _, back = request.cookies.get(STATE_COOKIE, "").partition("|")
        if not code or not state or not expected or not hmac.compare_digest(state, expected):
            return _answer(400, "This sign-in link is stale or was not started here. Start again at /login.", False)
        try:
            user = await read_user(access, code, f"{access.public_url}/auth/callback")
        except Exception as exc:  # noqa: BLE001 - GitHub said no, or could not be reached
            log.warning("sign-in with GitHub failed", exc_info=True)
            return _answer(502, f"GitHub did not complete the sign-in ({type(exc).__name__}). Try /login again.",
                           False)
        response = RedirectResponse(_safe_next(back), status_code=302)
        response.set_cookie(COOKIE, access.seal(user), max_age=SIGNED_IN_FOR_S, httponly=True, samesite="lax",
                            secure=access.public_url.startswith("https://"))
        response.delete_cookie(STATE_COOKIE)
        return response

    @router.get("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/sessions", status_code=302)
        response.delete_cookie(COOKIE)
        return response

    return router
