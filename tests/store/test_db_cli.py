"""`agent-os db upgrade|status` on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agent_os.schema import CORE_MIGRATIONS
from agent_os.tokens import MIGRATIONS as TOKEN_MIGRATIONS
from agent_os_cli import app
from bot.tables import MIGRATIONS as BOT_MIGRATIONS

runner = CliRunner()


def test_upgrade_creates_every_component_once_and_status_reports_it(tmp_path, db_location, monkeypatch):
    monkeypatch.setenv("AGENT_OS_DB", db_location)
    first = runner.invoke(app, ["db", "upgrade", "--project", str(tmp_path), "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["before"] == {"core": 0, "bot": 0, "tokens": 0}
    assert report["after"] == {"core": len(CORE_MIGRATIONS), "bot": len(BOT_MIGRATIONS), "tokens": len(TOKEN_MIGRATIONS)}
    again = json.loads(runner.invoke(app, ["db", "upgrade", "--project", str(tmp_path), "--json"]).output)
    assert again["before"] == again["after"] == report["after"]
    status = json.loads(runner.invoke(app, ["db", "status", "--project", str(tmp_path), "--json"]).output)
    assert status["versions"] == report["after"] and status["dialect"] in ("sqlite", "postgresql")
    assert "password" not in status["database"]


def test_an_unreachable_server_is_an_error_that_says_what_to_check(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_OS_DB", "postgresql://agentos:secret-pw@127.0.0.1:1/agentos")
    result = runner.invoke(app, ["db", "status", "--project", str(tmp_path)])
    assert result.exit_code == 2 and "AGENT_OS_DB" in result.output and "secret-pw" not in result.output
