"""Small helpers shared by the stand-in tests."""

from __future__ import annotations

import functools
import time

import httpx
import jwt

from standin import GitHubStandIn

REPO = "octo/app"
CONFIG = "gates:\n  approvals: 1\n"


def app_jwt(gh: GitHubStandIn, private_key_pem: str, *, iss: object = None, age: int = 0) -> str:
    """An App JWT as GitHub wants it; `age` seconds in the past (expired when > 600)."""
    issued = int(time.time()) - 60 - age
    claims = {"iat": issued, "exp": issued + 600, "iss": str(iss if iss is not None else gh.app.id)}
    return jwt.encode(claims, signing_key(private_key_pem), algorithm="RS256")


@functools.lru_cache(maxsize=8)
def signing_key(private_key_pem: str):
    """The key parsed once: pyjwt (and githubkit, through it) parses and checks PEM text on
    every JWT (~29 ms of CPU); the bot too signs with a parsed key."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(private_key_pem.encode(), password=None)


def installation_token(gh: GitHubStandIn, private_key_pem: str) -> str:
    """A fresh installation token from the stand-in."""
    response = httpx.post(
        f"{gh.url}/app/installations/{gh.installation_id}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(gh, private_key_pem)}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]
