"""`agent-os mcp`, `agent-os token` and `agent-os init`: the agent's door and its set-up."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agent_os.errors import InputError
from agent_os.initproject import CLIENTS, init_project
from agent_os.tokens import TokenStore
from . import app
from .common import (JsonOpt, ProjectOpt, console, emit_json, err_console, guarded, open_project,
                     quiet_library_logs, running_on)

token_app = typer.Typer(help="Bearer tokens for the MCP server's HTTP transport (stored hashed).",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command("mcp")
@guarded
def mcp_command(
    project: ProjectOpt = None,
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio; "
                                       "every request needs a bearer token (`agent-os token create`).")] = False,
    host: Annotated[str, typer.Option(help="Address to listen on with --http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on with --http.")] = 8765,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="With --http on a loopback address: "
                                          "accept requests without a token (local experiments only).")] = False,
    server: Annotated[str | None, typer.Option(
        "--server", help="Team mode: serve the same tools over stdio, answered by the team server at this URL "
        "(token from AGENT_OS_TOKEN, or what `agent-os init --server URL --token T` saved). The door reads "
        "this clone's files for each checkpoint and sends them along.")] = None,
) -> None:
    """Run the MCP server for a project: stdio for one agent (the default), or HTTP for a team.

    Clients spawn `agent-os mcp --project DIR` themselves; `agent-os init` writes that
    into their configuration. The embedding model loads in the background, so the
    handshake is immediate and the first search waits for the model if it must.
    """
    if not server:
        _start_loading_the_model()
    from mcp_server.server import build_server

    quiet_library_logs()
    proj = open_project(project)
    if server:
        from agent_os_cli.credentials import token_for
        from mcp_server.door import build_door

        if http:
            raise InputError("--server and --http do not go together.",
                             hint="The team server itself serves HTTP: `agent-os serve`.")
        door = build_door(proj, server, token_for(server))
        running_on()
        door.run("stdio")
        return
    if not http:
        server = build_server(proj, warm_index=True)
        running_on()
        server.run("stdio")
        return
    if no_auth and host not in ("127.0.0.1", "localhost", "::1"):
        raise InputError("--no-auth is only allowed on a loopback address.",
                         hint="Drop --no-auth and give clients a token from `agent-os token create NAME`.")
    import uvicorn

    from mcp_server.auth import StoreTokenVerifier

    verifier = None if no_auth else StoreTokenVerifier(TokenStore.open(proj.db_path))
    public_url = f"http://{host}:{port}"
    server = build_server(proj, token_verifier=verifier, public_url=public_url, warm_index=True)
    asgi = server.streamable_http_app(streamable_http_path="/mcp", host=host)
    err_console.print(f"MCP server on {public_url}/mcp (project {escape(str(proj.root))})"
                      + ("" if verifier else " [yellow]without auth[/]"), highlight=False)
    running_on()
    uvicorn.run(asgi, host=host, port=port, log_level="warning")


def _start_loading_the_model() -> None:
    """Start loading the embedding model now, while the MCP SDK imports, if that is cheap.

    The first search needs the model; importing the SDK and building the server take the
    first second or two of a spawn, and ONNX Runtime builds its session in C++ meanwhile.
    torch is left for later: importing it holds the GIL for seconds (the server starts it
    once the client has listed the tools).
    """
    from agent_os.standards import default_embedder

    try:
        embedder = default_embedder()
    except InputError:
        return  # a bad AGENT_OS_EMBEDDER: the first search says so, with the choices
    if getattr(embedder, "quick_to_load", False):
        embedder.start_loading()  # type: ignore[attr-defined]


@contextmanager
def _tokens(project: Path | None) -> Iterator[TokenStore]:
    """The token store of the project's session database, closed afterwards."""
    store = TokenStore.open(open_project(project).db_path)
    try:
        yield store
    finally:
        store.db.close()


@token_app.command("create")
@guarded
def token_create(
    name: Annotated[str, typer.Argument(help="Who or what the token is for, e.g. 'alice laptop' or 'ci'.")],
    project: ProjectOpt = None,
    repo: Annotated[list[str] | None, typer.Option(
        "--repo", help="Limit the token to this repository ('owner/name') or organisation ('owner/*'); "
        "repeatable. Default: every repository.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a token and print its secret, once: it is stored only as a hash."""
    with _tokens(project) as store:
        info, secret = store.create(name, repo or None)
    if json_out:
        emit_json({**info.as_dict(), "token": secret})
        return
    console.print(f"Created token [bold]{escape(info.id)}[/] for {escape(info.name)}. Its secret "
                  "(shown only now):", highlight=False)
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
    console.print("Clients send it as `Authorization: Bearer <secret>`.", highlight=False)


@token_app.command("list")
@guarded
def token_list(
    project: ProjectOpt = None,
    all_tokens: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List tokens (never their secrets)."""
    if not open_project(project).db_path.exists():
        tokens = []  # no database, no tokens: a read-only command creates nothing
    else:
        with _tokens(project) as store:
            tokens = store.list(include_revoked=all_tokens)
    if json_out:
        emit_json({"tokens": [t.as_dict() for t in tokens]})
        return
    if not tokens:
        console.print("No tokens. Create one with `agent-os token create NAME`.", highlight=False)
        return
    # The id is what `token revoke` needs: never cut, whatever the terminal's width (the
    # creation time is in --json).
    table = Table(box=None)
    table.add_column("id", no_wrap=True, min_width=max(len(t.id) for t in tokens))
    for name in ("name", "starts with", "last used", "state"):
        table.add_column(name, overflow="fold")
    for t in tokens:
        table.add_row(t.id, escape(t.name), t.hint + "…",
                      t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never",
                      "active" if t.active else "revoked")
    console.print(table)


@token_app.command("revoke")
@guarded
def token_revoke(
    token: Annotated[str, typer.Argument(help="A token id (tok_…) or a name: every active token of that name.")],
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke a token at once; requests carrying it get 401 from then on."""
    with _tokens(project) as store:
        revoked = store.revoke(token)
    if json_out:
        emit_json({"revoked": [t.as_dict() for t in revoked]})
        return
    if not revoked:
        console.print(f"{escape(token)} was already revoked.", highlight=False)
    for t in revoked:
        console.print(f"Revoked {t.id} ({escape(t.name)}).", highlight=False)


@app.command("init")
@guarded
def init_command(
    project: ProjectOpt = None,
    client: Annotated[list[str] | None, typer.Option(
        "--client", help=f"Write this client's MCP config only (repeatable): {', '.join(CLIENTS)}. "
        "Default: all of them.")] = None,
    server: Annotated[str | None, typer.Option(
        "--server", help="Team mode: the clients run `agent-os mcp --server URL`, the door to this team server.")] = None,
    token: Annotated[str | None, typer.Option(
        "--token", help="With --server: the token for it, saved in your own config folder (not the project).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Set up a project: `.agent-os/` (config, specs, standards) and the MCP config of
    Claude Code (.mcp.json), Cursor (.cursor/mcp.json) and VS Code (.vscode/mcp.json).

    Existing client configs are merged, never clobbered; running it again changes nothing.
    """
    root = project or Path.cwd()
    if token and not server:
        raise InputError("--token goes with --server.", hint="agent-os init --server URL --token T")
    changes = init_project(root, client, server=server)
    if server and token:
        from agent_os_cli.credentials import save_token

        save_token(server, token)
    if json_out:
        emit_json({"project": str(root.resolve()), "changes": [c.__dict__ for c in changes]})
        return
    for c in changes:
        style = {"created": "green", "updated": "yellow", "unchanged": "dim"}[c.action]
        detail = f" ({c.detail})" if c.detail else ""
        console.print(f"[{style}]{c.action:9}[/] {escape(c.path)}{escape(detail)}", highlight=False)
    if shutil.which("agent-os") is None:
        console.print("[yellow]note:[/] `agent-os` is not on this shell's PATH, so an editor will not find it "
                      "either. Install it where every program finds it (`pipx install` of this project, or "
                      "the virtual environment's bin folder on your login PATH).", highlight=False)
    console.print("Next: restart your agent so it picks up the `agent-os` MCP server, then ask it to "
                  "\"create a spec for …\".", highlight=False)
