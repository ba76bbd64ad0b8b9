"""MCP over HTTP behind a load balancer: on PostgreSQL any replica answers any request of one
client's conversation, because no MCP session lives in one process's memory."""

from __future__ import annotations

import json

import httpx

from agent_os.db import Database
from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.sql_store import SQLSessionStore
from agent_os.standards import HashEmbedder
from agent_os.tokens import TokenStore
from agent_os_cli.team import create_team_app
from standin.serving import BackgroundServer
from bot.settings import Settings

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def rpc(url: str, headers: dict, method: str, params: dict, id_: int | None = 1) -> httpx.Response:
    body = {"jsonrpc": "2.0", "method": method, "params": params, **({"id": id_} if id_ is not None else {})}
    return httpx.post(url + "/mcp", json=body, headers=headers, timeout=30)


def result(response: httpx.Response) -> dict:
    """The JSON-RPC result of a response sent as JSON or as server-sent events."""
    assert response.status_code == 200, response.text
    text = response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)["result"]


def test_one_mcp_conversation_spread_over_two_replicas(postgres, tmp_path):
    url = postgres.create_database("mcp")
    project = Project.open(tmp_path, db=url)
    engines = [Engine(project, SQLSessionStore(Database.open(url))) for _ in range(2)]
    _, secret = TokenStore(engines[0].db).create("agent")
    apps = [create_team_app(Settings(), project=project, engine=e, embedder=HashEmbedder()) for e in engines]
    with BackgroundServer(apps[0]) as a, BackgroundServer(apps[1]) as b:
        headers = {**HEADERS, "Authorization": f"Bearer {secret}"}
        init = rpc(a.url, headers, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                                   "clientInfo": {"name": "t", "version": "0"}})
        assert result(init)["serverInfo"]
        # Whatever the first replica said about a session, the client sends it on; the
        # next requests reach the other replica, then the first again.
        headers["MCP-Protocol-Version"] = "2025-06-18"
        if "mcp-session-id" in init.headers:
            headers["Mcp-Session-Id"] = init.headers["mcp-session-id"]
        assert rpc(b.url, headers, "notifications/initialized", {}, None).status_code in (200, 202)
        started = result(rpc(b.url, headers, "tools/call", {
            "name": "start_workflow", "arguments": {"workflow_type": "spec_creation_v1", "target_file": "auth"}}))
        sid = started["structuredContent"]["session"]["session_id"]
        state = result(rpc(a.url, headers, "tools/call", {"name": "get_workflow_state",
                                                           "arguments": {"session_id": sid}}))
    assert state["structuredContent"]["session_id"] == sid
    assert state["structuredContent"]["phases"][0]["state"] == "active"
    for e in engines:
        e.close()
