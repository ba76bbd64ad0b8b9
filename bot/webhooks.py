"""`POST /webhooks/github`: verify, record durably, answer 202. Processing happens later.

The signature is checked on the raw body before anything is parsed; the body is read with
a cap so an oversized request costs no more than the cap. GitHub waits 10 s for an answer,
and recording a delivery is one insert in a transaction shared with the deliveries that
arrive at the same moment (bot/ingress.py), so the answer never waits on GitHub's API or
on the worker. The endpoint is a pure ASGI middleware in front of the app's routing: a
backlog arrives as a hundred concurrent requests, and matching each against every route and
going through FastAPI's request wrapper cost twice what answering it does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .ingress import Ingress
from .metrics import Metrics
from .payloads import Incoming, PayloadError, check_content_type, parse_payload, pr_key_of
from .settings import Settings
from .signatures import SignatureError, verify_signature

_DELIVERY_ID_MAX = 100
PATH = "/webhooks/github"


def _refuse(metrics: Metrics, status: int, reason: str, message: str) -> JSONResponse:
    metrics.webhooks_rejected.labels(reason).inc()
    return JSONResponse({"error": message}, status_code=status)


class WebhookEndpoint:
    """ASGI middleware answering `POST /webhooks/github` itself; everything else goes on to
    `app`. Added with `app.add_middleware(WebhookEndpoint, settings=..., ingress=..., metrics=...)`,
    so Starlette's error middleware still turns anything unexpected into a 500."""

    def __init__(self, app: ASGIApp, *, settings: Settings, ingress: Ingress, metrics: Metrics) -> None:
        self.app, self.ingress = app, ingress
        self.answer = webhook_handler(settings, ingress, metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await JSONResponse({"error": "Webhooks are POSTed."}, status_code=405,
                               headers={"Allow": "POST"})(scope, receive, send)
            return
        # Until the answer is written, not just decided: the worker, woken by the commit,
        # would otherwise take the interpreter lock while the 202 waits to be sent.
        with self.ingress.arriving():
            response = await self.answer(Request(scope, receive))
            await response(scope, receive, send)


def webhook_handler(settings: Settings, ingress: Ingress, metrics: Metrics) -> Callable[[Request], Awaitable[Response]]:
    """The webhook endpoint, recording through `ingress` (which wakes the worker)."""
    cap = settings.max_body_bytes
    secret = settings.webhook_secret.get_secret_value()

    async def receive(request: Request) -> JSONResponse:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            return _refuse(metrics, 413, "too_large", f"Body over {cap} bytes; GitHub never sends more.")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                return _refuse(metrics, 413, "too_large", f"Body over {cap} bytes; GitHub never sends more.")
            chunks.append(chunk)
        body = b"".join(chunks)
        try:
            verify_signature(secret, body, request.headers.get("x-hub-signature-256"))
        except SignatureError as exc:
            return _refuse(metrics, 401, "signature", f"Bad signature: {exc.reason}.")
        event = request.headers.get("x-github-event", "")
        delivery_id = request.headers.get("x-github-delivery", "")
        if not event or not delivery_id or len(delivery_id) > _DELIVERY_ID_MAX or len(event) > 100:
            return _refuse(metrics, 400, "headers", "X-GitHub-Event and X-GitHub-Delivery headers are required.")
        try:
            check_content_type(request.headers.get("content-type"))
            payload = parse_payload(body)
        except PayloadError as exc:
            return _refuse(metrics, exc.status, exc.reason, exc.message)
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        # Stored as received (valid UTF-8 JSON, checked above): the worker parses it again.
        incoming = Incoming(delivery_id, event, action, pr_key_of(payload), body.decode())
        # Not kept while the commit is awaited: held by a hundred requests in flight, a burst's
        # parsed payloads survive into the collector's older generations and bring a full
        # collection (~12 ms, every acknowledgement waiting) into the burst.
        del payload, chunks, body
        outcome = await ingress.record(incoming)
        metrics.webhooks_received.labels(event).inc()
        return JSONResponse({"delivery": delivery_id, "status": outcome}, status_code=202)

    return receive
