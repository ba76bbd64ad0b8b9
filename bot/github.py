"""GitHub access as a GitHub App, through githubkit only.

The App authenticates with a JWT made from its id and private key; each installation
gets a token that githubkit caches (per client configuration) until a minute before it
expires, so one token serves every call of the hour. githubkit's own retries are off:
retrying is the outbox's job, which survives restarts and honours rate limits.

Errors come back as `GitHubCallError` (bot/github_errors.py), which says whether trying
again later can help and when, or which permission the App lacks.
"""

from __future__ import annotations

import functools
import logging
import re
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import GitHubException, GraphQLFailed, RequestError, RequestFailed, RequestTimeout

from .github_errors import GitHubCallError, classify
from .settings import Settings

log = logging.getLogger(__name__)


def _error(exc: GitHubException, what: str) -> GitHubCallError:
    if isinstance(exc, RequestFailed):
        response = exc.response.raw_response
        try:
            message = str(response.json().get("message", ""))
        except Exception:  # a proxy's HTML error page
            message = response.text[:200]
        return classify(what, response.request.url.path, response.status_code, response.headers, message)
    if isinstance(exc, RequestTimeout):
        return GitHubCallError(f"{what}: timed out", transient=True, kind="network")
    if isinstance(exc, RequestError):
        return GitHubCallError(f"{what}: {exc.exc!r}", transient=True, kind="network")
    return GitHubCallError(f"{what}: {exc!r}", transient=False)


_NEXT_CURSOR = re.compile(r'<[^>]*[?&]cursor=([^&>]+)[^>]*>;\s*rel="next"')


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt in GitHub's log of webhook deliveries (a redelivery shares its `guid`)."""

    id: int
    guid: str
    status_code: int  # 0: GitHub could not reach the server
    event: str
    redelivery: bool

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), built once per process."""
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=8)
def _signing_key(pem: str) -> Any:
    """The App's private key, parsed once per process. pyjwt signs with a key object as
    it does with PEM text, but parses and checks PEM text again for every JWT (~37 ms of
    CPU each: each new client, each token refresh)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        from agent_os.errors import InputError

        raise InputError("The GitHub App private key is not an unencrypted PEM private key.",
                         hint="AGENT_OS_PRIVATE_KEY must be the path of the .pem file GitHub gave you.") from None


@dataclass
class GitHubApp:
    """The App's clients: one authenticated as the App, one per installation."""

    settings: Settings

    def __post_init__(self) -> None:
        if self.settings.app_id is None:
            from agent_os.errors import InputError

            raise InputError("No GitHub App id configured.", hint="Set AGENT_OS_APP_ID.")
        self._auth = AppAuthStrategy(self.settings.app_id, _signing_key(self.settings.private_key_pem()))
        # Our own cache, not githubkit's process-wide default: two Apps (or two test
        # servers) in one process must not share installation tokens.
        # githubkit opens an httpx client per call; one shared SSL context saves loading
        # the CA bundle each time (~65 ms of CPU a call).
        self._app = GitHub(self._auth, base_url=self.settings.github_url, auto_retry=False,
                           http_cache=False, cache_strategy=MemCacheStrategy(),
                           timeout=self.settings.http_timeout, user_agent="agent-os-bot",
                           ssl_verify=_ssl_context())
        self._installations: dict[int, GitHub] = {}
        self._lock = threading.Lock()

    def installation(self, installation_id: int) -> GitHub:
        """A client acting as the installation (token cached until shortly before expiry)."""
        with self._lock:
            client = self._installations.get(installation_id)
            if client is None:
                client = self._app.with_auth(self._auth.as_installation(installation_id))
                self._installations[installation_id] = client
            return client

    def forget_token(self, installation_id: int) -> None:
        """Drop the cached token (after a 401), so the next call asks for a fresh one."""
        storage = self._app.config.cache_strategy.get_cache_storage()
        cache = getattr(storage, "_cache", None)
        if isinstance(cache, dict):
            for key in [k for k in cache if f":installation:{installation_id}:" in k]:
                cache.pop(key, None)

    def call(self, installation_id: int, method: str, url: str, *, json: Any = None,
             params: dict[str, Any] | None = None) -> Any:
        """One REST call as the installation; the decoded JSON body (None if empty)."""
        what = f"{method} {url}"
        try:
            response = self.installation(installation_id).request(method, url, json=json, params=params)
        except GitHubException as exc:
            err = _error(exc, what)
            if err.status_code == 401:
                self.forget_token(installation_id)
            raise err from None
        if not response.raw_response.content:
            return None
        return response.json()

    def graphql(self, installation_id: int, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL query as the installation; its `data`. Errors GitHub reports in the
        answer (a PR that does not exist, a field it does not know) are not transient."""
        try:
            return self.installation(installation_id).graphql(query, variables)
        except GraphQLFailed as exc:
            errors = "; ".join(e.message for e in exc.response.errors or [])
            raise GitHubCallError(f"POST /graphql: {errors[:300]}", transient=False) from None
        except GitHubException as exc:
            err = _error(exc, "POST /graphql")
            if err.status_code == 401:
                self.forget_token(installation_id)
            raise err from None

    def app_call(self, method: str, url: str) -> Any:
        """One REST call as the App itself (JWT), e.g. finding the installation of a repository."""
        try:
            response = self._app.request(method, url)
        except GitHubException as exc:
            raise _error(exc, f"{method} {url}") from None
        return response.json() if response.raw_response.content else None

    def delivery_attempts(self, cursor: str | None = None) -> tuple[list[DeliveryAttempt], str | None]:
        """One page (newest first) of the App's webhook delivery attempts, and the next page's cursor.

        https://docs.github.com/en/rest/apps/webhooks#list-deliveries-for-an-app-webhook
        """
        try:
            response = self._app.rest.apps.list_webhook_deliveries(per_page=100, **({"cursor": cursor} if cursor else {}))
        except GitHubException as exc:
            raise _error(exc, "GET /app/hook/deliveries") from None
        items = [DeliveryAttempt(id=int(d["id"]), guid=str(d["guid"]), status_code=int(d.get("status_code") or 0),
                                 event=str(d.get("event") or ""), redelivery=bool(d.get("redelivery")))
                 for d in response.json()]
        match = _NEXT_CURSOR.search(response.headers.get("link", ""))
        return items, (unquote(match.group(1)) if match else None)

    def redeliver(self, attempt_id: int) -> None:
        """Ask GitHub to send a past delivery again (same guid)."""
        try:
            self._app.rest.apps.redeliver_webhook_delivery(attempt_id)
        except GitHubException as exc:
            raise _error(exc, f"POST /app/hook/deliveries/{attempt_id}/attempts") from None

    def get_or_none(self, installation_id: int, url: str, params: dict[str, Any] | None = None) -> Any:
        """A GET that answers None for 404 (a missing file, an unknown user)."""
        try:
            return self.call(installation_id, "GET", url, params=params)
        except GitHubCallError as exc:
            if exc.status_code == 404:
                return None
            raise

    def paginate(self, installation_id: int, url: str, *, key: str | None = None,
                 limit: int = 1000) -> list[Any]:
        """Every item of a paginated list (`per_page=100`), up to `limit` items."""
        items: list[Any] = []
        page = 1
        while len(items) < limit:
            data = self.call(installation_id, "GET", url, params={"per_page": 100, "page": page})
            batch = data.get(key, []) if key and isinstance(data, dict) else (data or [])
            items += batch
            if len(batch) < 100:
                break
            page += 1
        return items[:limit]


__all__ = ["DeliveryAttempt", "GitHubApp", "GitHubCallError"]
