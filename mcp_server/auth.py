"""Bearer-token auth for the HTTP transport, backed by the hashed tokens of `agent_os.tokens`."""

from __future__ import annotations

import anyio.to_thread
from mcp.server.auth.provider import AccessToken

from agent_os.tokens import TokenStore


class StoreTokenVerifier:
    """The SDK's TokenVerifier over our token store: active tokens pass, others get a 401."""

    def __init__(self, tokens: TokenStore) -> None:
        self.tokens = tokens

    async def verify_token(self, token: str) -> AccessToken | None:
        """Access for an active token's holder, or None for unknown and revoked ones."""
        # The lookup touches SQLite: keep it off the event loop.
        info = await anyio.to_thread.run_sync(self.tokens.verify, token)
        if info is None:
            return None
        # A limited token carries its repositories as scopes ("repo:acme/webapp", "repo:acme/*").
        scopes = ["agent-os"] + [f"repo:{r}" for r in info.repositories or ()]
        return AccessToken(token=token, client_id=info.name, scopes=scopes, subject=info.id)
