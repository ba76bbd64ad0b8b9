"""The bot's settings: read once by `create_app` (or `agent-os serve`) and passed in.

Nothing here reads the environment at import time; `Settings()` does, when called.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent_os.errors import InputError


class Settings(BaseSettings):
    """The GitHub App's identity, where GitHub and the store are, and how hard to retry."""

    model_config = SettingsConfigDict(env_prefix="AGENT_OS_", extra="ignore")

    app_id: int | None = Field(default=None, description="The GitHub App's id (AGENT_OS_APP_ID).")
    private_key: Path | None = Field(
        default=None, description="Path to the App's PEM private key (AGENT_OS_PRIVATE_KEY)."
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="The webhook secret (AGENT_OS_WEBHOOK_SECRET)."
    )
    lease_seconds: float = Field(default=30.0, description="How long a replica's claim on a delivery or "
                                 "outbox item lasts without renewal (AGENT_OS_LEASE_SECONDS).")
    github_url: str = Field(default="https://api.github.com", description="REST API base URL.")
    public_url: str = Field(default="", description="Where people reach this server (details links).")
    project: Path = Field(default=Path("."), description="The project directory (AGENT_OS_PROJECT).")
    app_slug: str = Field(default="agent-os", description="The App's slug; its bot is '<slug>[bot]'.")
    # Sign in with GitHub (the App's OAuth user flow) for the session pages, and /metrics'
    # own token: needed once the server is reachable beyond loopback (bot/signin.py).
    client_id: str = Field(default="", description="The App's OAuth client id (AGENT_OS_CLIENT_ID).")
    client_secret: SecretStr = Field(default=SecretStr(""), description="The App's client secret.")
    metrics_token: SecretStr = Field(default=SecretStr(""), description="Bearer token for /metrics.")
    require_sign_in: bool | None = Field(default=None, description="Force (true) or waive (false) sign-in "
                                         "and the /metrics token; unset: required once reachable beyond loopback.")
    trusted_proxies: str = Field(default="127.0.0.1", description="Addresses whose X-Forwarded-For/Proto "
                                 "are believed, comma-separated (AGENT_OS_TRUSTED_PROXIES; * for any).")

    # Reliability knobs (tests shrink them; defaults suit GitHub).
    max_body_bytes: int = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
    backoff_base: float = 2.0
    backoff_max: float = 15 * 60.0
    max_attempts: int = 12
    delivery_attempts: int = 5
    http_timeout: float = 10.0
    # Missed deliveries: GitHub's delivery log is read this long after start, then every
    # `recover_interval` seconds (0: never; the tests' default).
    recover_delay: float = 2.0
    recover_interval: float = 300.0

    def private_key_pem(self) -> str:
        """The PEM text of the App's private key."""
        if self.private_key is None:
            raise InputError(
                "No GitHub App private key configured.",
                hint="Set AGENT_OS_PRIVATE_KEY to the path of the App's .pem file.",
            )
        try:
            return self.private_key.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"Cannot read the GitHub App private key {self.private_key}: {exc.strerror}.",
                hint="AGENT_OS_PRIVATE_KEY must be the path of the .pem file GitHub gave you.",
            ) from None

    @property
    def bot_login(self) -> str:
        """The login GitHub gives the App's own actions."""
        return f"{self.app_slug}[bot]"
