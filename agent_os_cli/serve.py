"""`agent-os serve` (the team server) and `agent-os demo` (the whole product, locally)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agent_os.errors import InputError
from . import app
from .common import (ProjectOpt, console, err_console, find_project, guarded, open_project, quiet_library_logs,
                     running_on)


@app.command("serve")
@guarded
def serve_command(
    project: ProjectOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the team server: GitHub webhooks, MCP over HTTP at /mcp, session pages, /healthz, /metrics.

    Settings come from environment variables: AGENT_OS_APP_ID, AGENT_OS_PRIVATE_KEY (path
    to the App's .pem), AGENT_OS_WEBHOOK_SECRET, AGENT_OS_PUBLIC_URL (where people reach
    this server; the check runs link to it), AGENT_OS_GITHUB_URL (GitHub Enterprise
    Server's API URL) and AGENT_OS_DB; on a server others can reach, AGENT_OS_CLIENT_ID and
    AGENT_OS_CLIENT_SECRET (Sign in with GitHub for the session pages) and
    AGENT_OS_METRICS_TOKEN (docs/team-setup.md). Without an App id the GitHub App is off and the
    rest still runs. MCP clients need a token: `agent-os token create NAME`.
    SIGTERM or Ctrl-C shuts down gracefully: the item in hand finishes, queued GitHub
    writes wait in the store for the next start.
    """
    import uvicorn
    from pydantic import ValidationError

    from bot.settings import Settings
    from agent_os_cli.team import create_team_app

    from agent_os_cli.appcreate import ENV_FILE

    # The environment wins over .agent-os/app.env (what `agent-os app create` wrote).
    env_file = find_project(project or Path.cwd()) / ".agent-os" / ENV_FILE
    try:
        settings = Settings(_env_file=env_file if env_file.is_file() else None)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = "; ".join(f"AGENT_OS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise InputError(f"Bad server settings: {problems}.", hint="Fix the environment variables and retry.") from None
    proj = open_project(project or (settings.project if settings.project != Path(".") else None))
    if settings.private_key is not None and not settings.private_key.is_absolute():
        settings.private_key = proj.root / settings.private_key  # app.env names it from the project
    if settings.app_id is not None:
        settings.private_key_pem()  # fail now, with a clear message, not on the first webhook
        if not settings.webhook_secret.get_secret_value():
            raise InputError("AGENT_OS_WEBHOOK_SECRET is not set; every webhook would be refused.",
                             hint="Set it to the secret you gave GitHub when creating the App.")
    app_state = "on" if settings.app_id is not None else "off (set AGENT_OS_APP_ID to turn it on)"
    err_console.print(f"Agent OS team server on http://{host}:{port} — project {escape(str(proj.root))}; "
                      f"GitHub App {app_state}; MCP at /mcp; sessions at /sessions", highlight=False)
    # Threads share one interpreter lock, handed over every `switchinterval`: at Python's 5 ms
    # a webhook waiting for it behind the busy worker thread waits that long at each of the
    # several hand-overs an answer takes. 1 ms keeps acknowledgements fast under a backlog.
    sys.setswitchinterval(0.001)
    team_app = create_team_app(settings, project=proj, host=host)
    # Frozen, what is built by now no longer delays an acknowledgement by a full collection
    # pass (30-90 ms), which a burst of webhooks would otherwise trigger.
    running_on()
    # X-Forwarded-For/Proto are believed from the trusted proxies only (AGENT_OS_TRUSTED_PROXIES).
    uvicorn.run(team_app, host=host, port=port, log_level="info",
                timeout_graceful_shutdown=10, proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies)


@app.command("demo")
def demo_command(
    keep: Annotated[bool, typer.Option("--keep", help="Leave the server running at the end so you can "
                                       "open the session page; Ctrl-C to stop.")] = False,
    project: Annotated[Path | None, typer.Option("--project", help="Write the demo project here instead "
                                                 "of a temporary directory (kept afterwards).")] = None,
) -> None:
    """Watch the whole product work locally: no GitHub account, no network.

    Starts a local GitHub stand-in (real git repositories) and the team server in a folder of
    its own, then plays an agent in its own clone through spec_creation_v1 via the door
    (`agent-os mcp --server`): real spec files pushed with git, a pull request whose checks
    turn as phases pass, a push that breaks a checked file (red) and its fix (green), an
    author's self-approval that is ignored, and a reviewer's approval that opens the gate.
    Exits 0 only if every step happened as it should.
    """
    from agent_os_cli.demo import run

    running_on()
    quiet_library_logs()
    if project is not None:
        project.mkdir(parents=True, exist_ok=True)
    result = run(console, keep=keep, project_dir=project)
    failed = [s for s in result.steps if not s.ok]
    if failed:
        err_console.print(f"[bold red]Demo failed:[/] {escape(failed[0].name)} — {escape(failed[0].detail)}",
                          highlight=False)
        raise typer.Exit(1)
    console.print(f"\n[bold green]Demo complete:[/] {len(result.steps)} steps, all as expected. "
                  f"Session {result.session_id}.", highlight=False)
    if not keep:
        console.print("Run `agent-os demo --keep` to leave the server up and open the session page.",
                      highlight=False)
