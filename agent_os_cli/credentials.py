"""The door's token for a team server: `AGENT_OS_TOKEN`, else what `agent-os init --server`
saved in the person's own config folder (never in the project, whose MCP configs are often
committed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agent_os.errors import InputError


def credentials_file() -> Path:
    """`$AGENT_OS_CONFIG_HOME/credentials.json` (default `~/.config/agent-os/`)."""
    home = os.environ.get("AGENT_OS_CONFIG_HOME") or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "agent-os"
    return Path(home) / "credentials.json"


def _key(url: str) -> str:
    return url.strip().rstrip("/").removesuffix("/mcp")


def _saved() -> dict[str, str]:
    path = credentials_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def save_token(url: str, token: str) -> Path:
    """Remember `token` for the server at `url` (file readable by its owner only)."""
    if not token.strip():
        raise InputError("The token is empty.", hint="Pass the secret `agent-os token create NAME` printed.")
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**_saved(), _key(url): token.strip()}
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def token_for(url: str) -> str | None:
    """The token to send to the server at `url`: `AGENT_OS_TOKEN`, else the saved one."""
    return os.environ.get("AGENT_OS_TOKEN") or _saved().get(_key(url))
