"""`agent-os init`: give a project its `.agent-os/` folder and tell its MCP clients about us.

Client configuration files belong to the person: we add our one server entry and leave
every other entry, key and server exactly as it was. A file we cannot parse is refused,
untouched, rather than guessed at. Running init twice changes nothing the second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import InputError
from .project import AGENT_OS_DIR, CONFIG_FILE

SERVER_NAME = "agent-os"
CLIENTS: dict[str, tuple[str, str]] = {
    # client: (config file relative to the project root, top-level key of the servers map)
    "claude": (".mcp.json", "mcpServers"),
    "cursor": (".cursor/mcp.json", "mcpServers"),
    "vscode": (".vscode/mcp.json", "servers"),
}

CONFIG_TEMPLATE = """\
# Agent OS project settings. Every setting is optional; the values shown are the defaults.
# Relative paths are relative to the project root.

# The session database (sessions, evidence, approvals). Never delete it: it is the record.
# database: .agent-os/agent_os.db

# The standards search index: rebuilt from the standards at any time.
# index: .agent-os/index.db

# Folders of markdown standards. Unset: the shipped library plus .agent-os/standards,
# where a file of the same path overrides the shipped one.
# standards:
#   - .agent-os/standards

# The team's gate policy; it overrides each workflow's own gate field by field.
# gates:
#   approvals: 1
#   exclude_author: true
#   exclude_bots: true
#   required_reviewers: []        # logins that must be among the approvers
#   required_teams: []            # "org/team-slug": each must give one of the approvals
#   dismiss_stale_on_push: false
#   require_resolved_threads: false
"""

GITIGNORE = """\
# Local state of Agent OS: the session database and the search index.
agent_os.db
agent_os.db-*
index.db
index.db-*
"""

Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class FileChange:
    """What init did to one file or folder."""

    path: str
    action: Action
    detail: str = ""


# How each client names the project's folder in its own config: a teammate's clone and an
# editor opened anywhere resolve it, where an absolute path would name only this machine's.
# Claude Code starts project servers in the project's folder, where `agent-os` finds it.
PROJECT_DIR: dict[str, str | None] = {"claude": None, "cursor": "${workspaceFolder}", "vscode": "${workspaceFolder}"}
# The team token comes from each person's environment, never from the (committed) file.
TOKEN_FROM_ENV: dict[str, str] = {"claude": "${AGENT_OS_TOKEN:-}", "cursor": "${env:AGENT_OS_TOKEN}",
                                  "vscode": "${env:AGENT_OS_TOKEN}"}


def server_entry(client: str, command: str = "agent-os", server: str | None = None) -> dict[str, Any]:
    """Our server's entry in `client`'s configuration: run `agent-os mcp` on this project
    (with `--server URL`: as the door to a team server, its token read from AGENT_OS_TOKEN).

    Nothing in it is particular to this machine, so the file can be committed.
    """
    args = ["mcp"]
    if PROJECT_DIR[client]:
        args += ["--project", PROJECT_DIR[client]]
    entry: dict[str, Any] = {"command": command, "args": args}
    if server:
        args += ["--server", server]
        entry["env"] = {"AGENT_OS_TOKEN": TOKEN_FROM_ENV[client]}
    if client == "vscode":
        return {"type": "stdio", **entry}
    return entry


def _write_if_changed(path: Path, text: str, root: Path) -> FileChange:
    rel = path.relative_to(root).as_posix()
    if path.is_file():
        if path.read_text(encoding="utf-8") == text:
            return FileChange(rel, "unchanged")
        path.write_text(text, encoding="utf-8")
        return FileChange(rel, "updated")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return FileChange(rel, "created")


def _read_json_object(path: Path, rel: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{rel} is not valid JSON ({exc}); it was left untouched.",
            hint=f"Fix {rel} (or move it aside) and run `agent-os init` again.",
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{rel} does not hold a JSON object; it was left untouched.",
                         hint=f"Fix {rel} and run `agent-os init` again.")
    return data


def _read_client_config(root: Path, client: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """`client`'s parsed config file (None when absent) and its servers map; raises if unusable."""
    rel, key = CLIENTS[client]
    data = _read_json_object(root / rel, rel)
    servers = (data or {}).get(key)
    if servers is None:
        return data, {}
    if not isinstance(servers, dict):
        raise InputError(f"{rel}: '{key}' is not a JSON object; the file was left untouched.",
                         hint=f"Fix {rel} and run `agent-os init` again.")
    return data, servers


def _dump(data: dict[str, Any]) -> str:
    # ensure_ascii=False: a person's non-ASCII text stays as they wrote it, not \u escapes.
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_client_config(root: Path, client: str, command: str = "agent-os", server: str | None = None) -> FileChange:
    """Add (or refresh) our entry in `client`'s MCP configuration, keeping everything else."""
    if client not in CLIENTS:
        raise InputError(f"Unknown client {client!r}.", hint=f"Use one of: {', '.join(CLIENTS)}.")
    rel, key = CLIENTS[client]
    path = root / rel
    data, servers = _read_client_config(root, client)
    entry = server_entry(client, command, server)
    if data is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump({key: {SERVER_NAME: entry}}), encoding="utf-8")
        return FileChange(rel, "created")
    if servers.get(SERVER_NAME) == entry:
        return FileChange(rel, "unchanged")
    detail = "replaced the agent-os entry" if SERVER_NAME in servers else "added the agent-os entry"
    data[key] = {**servers, SERVER_NAME: entry}
    path.write_text(_dump(data), encoding="utf-8")
    return FileChange(rel, "updated", detail)


def init_project(root: Path, clients: list[str] | None = None, *, command: str = "agent-os",
                 server: str | None = None) -> list[FileChange]:
    """Create `.agent-os/` (config, specs, standards) and the chosen clients' MCP configs.

    Every client config is checked before anything is written, so a malformed file stops
    init with nothing changed.
    """
    root = root.resolve()
    if not root.is_dir():
        raise InputError(f"Project directory {root} does not exist.", hint="Pass --project DIR.")
    chosen = list(dict.fromkeys(clients if clients is not None else CLIENTS))
    for client in chosen:
        if client not in CLIENTS:
            raise InputError(f"Unknown client {client!r}.", hint=f"Use one of: {', '.join(CLIENTS)}.")
        _read_client_config(root, client)

    changes: list[FileChange] = []
    base = root / AGENT_OS_DIR
    for folder in (base, base / "specs", base / "standards"):
        rel = folder.relative_to(root).as_posix() + "/"
        if folder.is_dir():
            changes.append(FileChange(rel, "unchanged"))
        else:
            folder.mkdir(parents=True)
            changes.append(FileChange(rel, "created"))
    config = base / CONFIG_FILE
    if config.exists():
        # The person's settings: never rewritten.
        changes.append(FileChange(config.relative_to(root).as_posix(), "unchanged"))
    else:
        changes.append(_write_if_changed(config, CONFIG_TEMPLATE, root))
    gitignore = base / ".gitignore"
    if gitignore.exists():
        changes.append(FileChange(gitignore.relative_to(root).as_posix(), "unchanged"))
    else:
        changes.append(_write_if_changed(gitignore, GITIGNORE, root))
    for client in chosen:
        changes.append(write_client_config(root, client, command, server))
    return changes
