"""The team server: one process serving webhooks, /mcp, session pages, health and metrics;
and `agent-os serve` killed mid-workflow and restarted with nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
from botkit import REPO, SECRET, make_settings, pr_files, run_to_gate, serve, wait_until

from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.standards import HashEmbedder
from agent_os.tokens import TokenStore
from standin.serving import BackgroundServer, free_port
from standin import GitHubStandIn
from agent_os_cli.team import create_team_app


@pytest.fixture
def team(tmp_path, credentials):
    project = Project.open(tmp_path)
    engine = Engine.open(project)
    with GitHubStandIn(app_id=credentials.app_id, public_key_pem=credentials.public_key_pem,
                       webhook_secret=SECRET) as gh:
        gh.create_repo(REPO, files={".agent-os/config.yaml": "gates:\n  approvals: 1\n"},
                       collaborators={"dev": "write", "rev": "write"})
        # The doors, not who may read the pages (tests/web/test_signin.py): open pages here.
        settings = make_settings(gh, tmp_path, credentials.private_key_pem, require_sign_in=False)
        app = create_team_app(settings, project=project, engine=engine, embedder=HashEmbedder())
        with BackgroundServer(app) as server:
            gh.set_webhook(server.url + "/webhooks/github", SECRET)
            yield server, engine, gh, app
    engine.close()


def test_one_server_answers_every_door(team):
    server, engine, gh, app = team
    sid = engine.start("spec_creation_v1", "auth").session.session_id
    health = httpx.get(server.url + "/healthz").json()
    assert health["ok"] and health["github_app"] and health["sessions"] == 1
    page = httpx.get(f"{server.url}/sessions/{sid}")
    assert page.status_code == 200 and "Context gathering" in page.text
    assert httpx.get(server.url + "/sessions/ses_nosuchsession").status_code == 404
    # /mcp wants a bearer token; webhooks want a signature.
    assert httpx.post(server.url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 401
    assert httpx.post(server.url + "/webhooks/github", content=b"{}").status_code == 401
    gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    app.state.bot.worker.drain(timeout=15)
    metrics = httpx.get(server.url + "/metrics").text
    assert 'agent_os_webhooks_received_total{event="pull_request"} 1.0' in metrics
    assert 'agent_os_webhooks_processed_total{event="pull_request"} 1.0' in metrics
    assert "agent_os_outbox_depth 0.0" in metrics


def test_mcp_over_http_in_the_team_server_sees_gates_open_from_reviews(team):
    import anyio
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    server, engine, gh, app = team
    _, secret = TokenStore(engine.db).create("agent")
    sid = engine.start("spec_creation_v1", "auth").session.session_id
    run_to_gate(engine, sid)
    pr = gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    app.state.bot.worker.drain(timeout=15)

    async def state() -> dict:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {secret}"})
        async with http, Client(streamable_http_client(server.url + "/mcp", http_client=http)) as client:
            result = await client.call_tool("get_workflow_state", {"session_id": sid})
            assert not result.is_error, result.content
            return result.structured_content

    before = anyio.run(state)
    assert before["status"] == "active" and before["phases"][5]["state"] == "awaiting_approval"
    gh.submit_review(REPO, pr.number, "rev", "approved")
    app.state.bot.worker.drain(timeout=15)
    after = anyio.run(state)
    assert after["status"] == "complete"
    assert 'agent_os_mcp_tool_calls_total{result="ok",tool="get_workflow_state"} 2.0' in \
        httpx.get(server.url + "/metrics").text


@pytest.mark.slow
def test_serve_survives_a_kill_mid_workflow(tmp_path, credentials):
    key = tmp_path / "app.pem"
    key.write_text(credentials.private_key_pem)
    port = free_port()
    with GitHubStandIn(app_id=credentials.app_id, public_key_pem=credentials.public_key_pem,
                       webhook_secret=SECRET) as gh:
        gh.create_repo(REPO, files={".agent-os/config.yaml": "gates:\n  approvals: 1\n"},
                       collaborators={"dev": "write", "rev": "write"})
        gh.set_webhook(f"http://127.0.0.1:{port}/webhooks/github", SECRET)
        engine = Engine.open(Project.open(tmp_path))
        sid = engine.start("spec_creation_v1", "auth").session.session_id
        run_to_gate(engine, sid)

        server = serve(tmp_path, gh, port, key, AGENT_OS_LEASE_SECONDS="2")  # a dead server's claims lapse soon
        try:
            pr = gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}",
                                      files=pr_files(engine, sid))
            wait_until(lambda: "Agent OS" in gh.check_runs(REPO, pr.head_sha), timeout=30, what="the checks")
            # GitHub starts failing every write; the approval still lands in the store.
            gh.inject("*", "/repos/*/check-runs*", 503, times=10_000)
            gh.submit_review(REPO, pr.number, "rev", "approved")
            assert gh.last_delivery.response.status_code == 202
            wait_until(lambda: engine.state(sid).status == "complete", timeout=30, what="the gate to open")
            wait_until(lambda: engine.db.query_one(
                "SELECT count(*) AS n FROM bot_outbox WHERE status = 'pending' AND attempts > 0")["n"] > 0,
                timeout=30, what="a failed write waiting for its retry")
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(10)
        assert gh.check_runs(REPO, pr.head_sha)["Agent OS"].conclusion == "action_required"

        gh.faults.clear()
        server = serve(tmp_path, gh, port, key, AGENT_OS_LEASE_SECONDS="2")  # a dead server's claims lapse soon
        try:
            wait_until(lambda: gh.check_runs(REPO, pr.head_sha)["Agent OS"].conclusion == "success", timeout=30,
                       what="the overall check to turn green after the restart")
            names = [r.name for r in gh.all_check_runs(REPO) if r.head_sha == pr.head_sha]
            assert len(names) == len(set(names)), "a check run was created twice"
            assert engine.state(sid).status == "complete"
        finally:
            # A graceful stop: uvicorn finishes, then re-raises SIGTERM as its exit status.
            server.send_signal(signal.SIGTERM)
            assert server.wait(20) in (0, -signal.SIGTERM)
            assert b"Application shutdown complete" in server.stderr.read()
        engine.close()


@pytest.mark.slow
def test_demo_runs_to_the_end(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agent_os_cli", "demo", "--project", str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Demo complete" in proc.stdout
    assert "@bob approves: the gate opens" in proc.stdout
    assert "✗" not in proc.stdout
    assert "A push that breaks srd.md turns phase 1 red" in proc.stdout
    assert "The next push fixes it: phase 1 green again" in proc.stdout
    # The agent's clone, the server's (empty) folder and the server's own database apart.
    demo = tmp_path / "demo"
    assert (demo / "clone" / ".git").is_dir() and not any((demo / "server").iterdir())
    engine = Engine.open(Project.open(demo / "server", db=demo / "server-state" / "agent_os.db"))
    [session] = engine.list_sessions()
    assert session.status == "complete"
    engine.close()
