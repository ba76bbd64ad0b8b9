"""Sending webhooks and GitHub's record of every delivery attempt.

GitHub keeps one record per attempt (`GET /app/hook/deliveries`): a numeric id, the event's guid
(`X-GitHub-Delivery`, shared by redeliveries), when, how long, and what came back; a server
that could not be reached shows `status_code` 0. Nothing is retried by itself: an App asks for
redelivery with `POST /app/hook/deliveries/{id}/attempts`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import httpx

from standin.state import StandInState, iso, now
from standin.webhooks import Delivery, make_delivery

_attempt_ids = itertools.count(7_000_000_001)


@dataclass
class Attempt:
    """One POST of a delivery to the webhook URL, as GitHub lists it."""

    id: int
    delivery: Delivery
    redelivery: bool
    delivered_at: object
    duration: float
    status: str
    status_code: int
    url: str
    response_headers: dict[str, str] | None
    response_body: str | None

    def item(self) -> dict:
        """The `hook-delivery-item` JSON (the list's entries)."""
        payload = self.delivery.payload
        return {
            "id": self.id,
            "guid": self.delivery.id,
            "delivered_at": iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": round(self.duration, 2),
            "status": self.status,
            "status_code": self.status_code,
            "event": self.delivery.event,
            "action": payload.get("action"),
            "installation_id": (payload.get("installation") or {}).get("id"),
            "repository_id": (payload.get("repository") or {}).get("id"),
            "throttled_at": None,
        }

    def detail(self) -> dict:
        """The `hook-delivery` JSON: the item plus the request and the response."""
        return {
            **self.item(),
            "url": self.url,
            "request": {"headers": dict(self.delivery.headers), "payload": self.delivery.payload},
            "response": {"headers": self.response_headers, "payload": self.response_body},
        }


def status_text(code: int) -> str:
    """GitHub's words for an answer: `OK` for 2xx, else `Invalid HTTP Response: N`."""
    return "OK" if 200 <= code < 300 else f"Invalid HTTP Response: {code}"


class Deliveries:
    """Mixed into `GitHubStandIn`: signing, sending and redelivering webhooks."""

    state: StandInState
    webhook_url: str | None
    webhook_secret: str
    webhook_client: httpx.Client | None
    hook_id: int
    deliveries: list[Delivery]
    attempts: list[Attempt]

    def set_webhook(
        self, url: str, secret: str | None = None, client: httpx.Client | None = None
    ) -> None:
        """Where deliveries go; `client` may be any httpx.Client (e.g. a Starlette TestClient)."""
        self.webhook_url = url
        if secret is not None:
            self.webhook_secret = secret
        if client is not None:
            self.webhook_client = client

    def build_delivery(self, event: str, payload: dict) -> Delivery:
        """Sign a payload as a new delivery (recorded, not sent)."""
        delivery = make_delivery(
            event, payload, secret=self.webhook_secret, hook_id=self.hook_id,
            app_id=self.app.id,  # type: ignore[attr-defined]
        )
        with self.state.lock:
            self.deliveries.append(delivery)
        return delivery

    def send(self, delivery: Delivery, *, redelivery: bool = False) -> httpx.Response | None:
        """POST a delivery to the webhook URL and record the attempt.

        Returns the response, or None when the server could not be reached (the attempt is
        then recorded with status_code 0, as GitHub shows it).
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook URL: call set_webhook(url, secret) first")
        client = self.webhook_client or httpx.Client(timeout=10.0)
        started, at = time.monotonic(), now()
        response: httpx.Response | None = None
        try:
            response = client.post(self.webhook_url, content=delivery.body, headers=delivery.headers)
            code, status = response.status_code, status_text(response.status_code)
        except httpx.TimeoutException:
            code, status = 0, "timed out"
        except httpx.TransportError:
            code, status = 0, "failed to connect to host"
        finally:
            if self.webhook_client is None:
                client.close()
        attempt = Attempt(
            id=next(_attempt_ids),
            delivery=delivery,
            redelivery=redelivery,
            delivered_at=at,
            duration=time.monotonic() - started,
            status=status,
            status_code=code,
            url=self.webhook_url,
            response_headers=dict(response.headers) if response is not None else None,
            response_body=response.text if response is not None else None,
        )
        with self.state.lock:
            self.attempts.append(attempt)
            delivery.response = response
            delivery.attempts.append(code)
        return response

    def redeliver(self, delivery_id: str | int) -> httpx.Response | None:
        """Send a past delivery again: same body, same X-GitHub-Delivery (GitHub's Redeliver).

        Takes the guid (`Delivery.id`) or the numeric id of one of its attempts.
        """
        delivery = self.find_delivery(delivery_id)
        if delivery is None:
            raise KeyError(f"no delivery {delivery_id}")
        return self.send(delivery, redelivery=True)

    def find_delivery(self, delivery_id: str | int) -> Delivery | None:
        """The delivery with this guid, or the one an attempt id belongs to."""
        with self.state.lock:
            for attempt in self.attempts:
                if str(attempt.id) == str(delivery_id):
                    return attempt.delivery
            return next((d for d in self.deliveries if d.id == delivery_id), None)

    def attempt(self, attempt_id: int) -> Attempt | None:
        """One recorded attempt by its numeric id."""
        with self.state.lock:
            return next((a for a in self.attempts if a.id == attempt_id), None)

    @property
    def last_delivery(self) -> Delivery:
        """The most recent delivery built."""
        return self.deliveries[-1]

