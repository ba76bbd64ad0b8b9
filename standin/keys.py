"""Key pairs for the GitHub Apps the stand-in hosts."""

from __future__ import annotations

from typing import NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


class AppCredentials(NamedTuple):
    app_id: int
    private_key_pem: str
    public_key_pem: str


def make_app_credentials(app_id: int = 4242) -> AppCredentials:
    """A fresh RSA key pair for a test GitHub App (PEM strings)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AppCredentials(app_id, private, public)
