"""Installations (which installation covers which repository) and the ping."""

from __future__ import annotations

from ..events import Event
from ..routing import Router
from .context import Context

router: Router[Context] = Router()


@router.on("installation")
def on_installation(event: Event, ctx: Context) -> str:
    """Remember the repositories of a new installation."""
    return _remember_repos(event, ctx, "repositories")


@router.on("installation_repositories")
def on_installation_repositories(event: Event, ctx: Context) -> str:
    """Remember repositories added to an installation."""
    return _remember_repos(event, ctx, "repositories_added")


def _remember_repos(event: Event, ctx: Context, key: str) -> str:
    inst = event.envelope.installation_id
    repos = event.payload.get(key) or []
    if inst is None or event.action in ("deleted", "suspend"):
        return f"noted installation.{event.action}"
    for r in repos:
        if isinstance(r, dict) and isinstance(r.get("full_name"), str):
            ctx.github.remember_installation(r["full_name"], inst)
    return f"installation {inst} on {len(repos)} repositories"


@router.on("ping")
def on_ping(event: Event, ctx: Context) -> str:
    """GitHub checking the webhook."""
    return "pong"
