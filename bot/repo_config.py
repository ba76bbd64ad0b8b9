"""A repository's own Agent OS settings, read from a branch through the API.

`.agent-os/config.yaml` on the base branch holds the team's gate policy and which paths
need a session; the bot reads it there (never from the PR's head) so a pull request cannot
weaken its own rules. A broken file counts as absent: the workflow's own (stricter)
defaults then apply.
"""

from __future__ import annotations

import base64
import logging

from agent_os.errors import InputError
from agent_os.project import AGENT_OS_DIR, CONFIG_FILE, ProjectConfig, parse_config

from .github import GitHubApp

log = logging.getLogger(__name__)

CONFIG_PATH = f"{AGENT_OS_DIR}/{CONFIG_FILE}"


def read_config(github: GitHubApp, installation: int, repo: str, ref: str) -> ProjectConfig | None:
    """The repository's `.agent-os/config.yaml` at `ref` (None when absent or unreadable)."""
    data = github.get_or_none(installation, f"/repos/{repo}/contents/{CONFIG_PATH}",
                              params={"ref": ref} if ref else None)
    if not isinstance(data, dict) or "content" not in data:
        return None
    try:
        return parse_config(base64.b64decode(data["content"]).decode("utf-8"), source=f"{repo}@{ref}:{CONFIG_PATH}")
    except (InputError, ValueError, UnicodeDecodeError) as exc:
        log.warning("ignoring %s on %s@%s: %s", CONFIG_PATH, repo, ref, exc)
        return None
