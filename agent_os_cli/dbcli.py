"""`agent-os db upgrade|status`: the session database's schema, migrated on purpose."""

from __future__ import annotations

import typer

from . import app
from .common import JsonOpt, ProjectOpt, console, emit_json, guarded, open_project

db_app = typer.Typer(help="The session database (SQLite file, or PostgreSQL via AGENT_OS_DB=postgresql://…).",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

COMPONENTS = ("core", "bot", "tokens")


def _versions(db) -> dict[str, int]:  # noqa: ANN001 - agent_os.db.Database, imported lazily
    return {c: db.version(c) for c in COMPONENTS}


@db_app.command("upgrade")
@guarded
def upgrade(project: ProjectOpt = None, json_out: JsonOpt = False) -> None:
    """Create or migrate every component's tables to this release, then exit.

    Servers migrate at start-up too (under a lock, so replicas starting together migrate
    once); run this first when you would rather upgrade before rolling replicas out.
    """
    from agent_os.db import Database, redact
    from agent_os.sql_store import SQLSessionStore
    from agent_os.tokens import TokenStore
    from bot.store import BotStore

    proj = open_project(project)
    db = Database.open(proj.db_path)
    try:
        before = _versions(db)
        SQLSessionStore(db)
        BotStore(db)
        TokenStore(db)
        after = _versions(db)
    finally:
        db.close()
    if json_out:
        emit_json({"database": redact(proj.db_path), "dialect": db.dialect, "before": before, "after": after})
        return
    for c in COMPONENTS:
        note = "up to date" if before[c] == after[c] else f"{before[c]} -> {after[c]}"
        console.print(f"{c:7} version {after[c]} ({note})", highlight=False)
    console.print(f"database {redact(proj.db_path)} ({db.dialect}) is ready", highlight=False)


@db_app.command("status")
@guarded
def status(project: ProjectOpt = None, json_out: JsonOpt = False) -> None:
    """Which database the project uses, whether it answers, and each component's schema version."""
    from agent_os.db import Database, redact

    proj = open_project(project)
    db = Database.open(proj.db_path)
    try:
        seconds = db.ping()
        versions = _versions(db)
    finally:
        db.close()
    if json_out:
        emit_json({"database": redact(proj.db_path), "dialect": db.dialect, "ping_ms": round(seconds * 1000, 2),
                   "versions": versions})
        return
    console.print(f"database {redact(proj.db_path)} ({db.dialect}) answered in {seconds * 1000:.1f} ms",
                  highlight=False)
    for c, v in versions.items():
        console.print(f"{c:7} version {v}", highlight=False)
