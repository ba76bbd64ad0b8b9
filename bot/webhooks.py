"""`POST /webhooks/github`: verify, record durably, answer 202. Processing happens later.

The signature is checked on the raw body before anything is parsed; the body is read with
a cap so an oversized request costs no more than the cap. GitHub waits 10 s for an answer,
and recording a delivery is one insert in a transaction shared with the deliveries that
arrive at the same moment (bot/ingress.py), so the answer never waits on GitHub's API or
on the worker. A plain Starlette route: FastAPI's request machinery (dependencies,
validation) would only add cost to the hottest path, which reads its own body.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .ingress import Ingress
from .metrics import Metrics
from .payloads import Incoming, PayloadError, check_content_type, parse_payload, pr_key_of
from .settings import Settings
from .signatures import SignatureError, verify_signature

_DELIVERY_ID_MAX = 100


def _refuse(metrics: Metrics, status: int, reason: str, message: str) -> JSONResponse:
    metrics.webhooks_rejected.labels(reason).inc()
    return JSONResponse({"error": message}, status_code=status)


def webhook_router(settings: Settings, ingress: Ingress, metrics: Metrics) -> APIRouter:
    """The webhook endpoint, recording through `ingress` (which wakes the worker)."""
    router = APIRouter()
    cap = settings.max_body_bytes
    secret = settings.webhook_secret.get_secret_value()

    async def receive(request: Request) -> JSONResponse:
        with ingress.arriving():
            return await _receive(request)

    async def _receive(request: Request) -> JSONResponse:
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
        outcome = await ingress.record(Incoming(delivery_id, event, action, pr_key_of(payload), body.decode()))
        metrics.webhooks_received.labels(event).inc()
        return JSONResponse({"delivery": delivery_id, "status": outcome}, status_code=202)

    router.add_route("/webhooks/github", receive, methods=["POST"])
    return router
