"""Webhook signatures: pure functions, no I/O.

GitHub signs the raw body with HMAC-SHA256 under the webhook secret and sends
`X-Hub-Signature-256: sha256=<hex>`; see
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
The SHA-1 header (`X-Hub-Signature`) is legacy and never accepted on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import re

_HEADER = re.compile(r"^sha256=([0-9a-f]{64})$")


class SignatureError(Exception):
    """The delivery's signature is missing, malformed or wrong; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise SignatureError unless `header` is the sha256 HMAC of `body` under `secret`."""
    if not secret:
        # An unset secret would make every forged delivery "valid".
        raise SignatureError("the server has no webhook secret configured")
    if not header:
        raise SignatureError("missing X-Hub-Signature-256 header")
    match = _HEADER.match(header.strip().lower())
    if match is None:
        raise SignatureError("malformed X-Hub-Signature-256 header (expected sha256=<64 hex digits>)")
    expected = sign(secret, body)
    # Constant time: the comparison must not reveal how many leading characters match.
    if not hmac.compare_digest(expected, "sha256=" + match.group(1)):
        raise SignatureError("signature does not match the body")
