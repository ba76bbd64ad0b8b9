"""Bearer tokens: `agent-os token` shows a secret once and stores only its hash, and the MCP
server's HTTP transport lets in active tokens only, from the first request to the last."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared._httpx_utils import create_mcp_http_client
from typer.testing import CliRunner

from agent_os_cli import app
from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.standards import HashEmbedder
from agent_os.tokens import TokenStore
from standin.serving import BackgroundServer
from mcp_server.auth import StoreTokenVerifier
from mcp_server.server import build_server

runner = CliRunner()


def cli(root: Path, *args: str):
    return runner.invoke(app, [*args, "--project", str(root)])


def create(root: Path, name: str) -> dict:
    out = cli(root, "token", "create", name, "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def state_bytes(root: Path) -> bytes:
    """Every byte Agent OS keeps on disk for the project (database, WAL and all)."""
    return b"".join(p.read_bytes() for p in sorted((root / ".agent-os").rglob("*")) if p.is_file())


# --- the CLI -------------------------------------------------------------------------------


def test_create_shows_the_secret_once_and_stores_only_its_hash(tmp_path: Path):
    out = cli(tmp_path, "token", "create", "alice laptop")
    assert out.exit_code == 0, out.output
    secret = next(line for line in out.stdout.splitlines() if line.startswith("aos_"))
    assert len(secret) > 30
    assert "alice laptop" in out.stdout and "Authorization: Bearer" in out.stdout

    listing = cli(tmp_path, "token", "list")
    assert listing.exit_code == 0
    assert "alice laptop" in listing.stdout and "active" in listing.stdout
    assert secret not in listing.stdout
    as_json = cli(tmp_path, "token", "list", "--json")
    assert secret not in as_json.stdout
    (entry,) = json.loads(as_json.stdout)["tokens"]
    assert entry["name"] == "alice laptop" and entry["active"] is True
    assert secret.startswith(entry["hint"]) and len(entry["hint"]) < len(secret) // 4
    assert "token" not in entry and "secret" not in entry

    stored = state_bytes(tmp_path)
    assert secret.encode() not in stored
    # The secret minus the hint's characters is nowhere either (no partial leak).
    assert secret[len(entry["hint"]):].encode() not in stored
    # ...and it still verifies: the store kept what it needs.
    store = TokenStore.open(Project.open(tmp_path).db_path)
    assert store.verify(secret).name == "alice laptop"


def test_create_json_carries_the_secret_and_list_json_parses(tmp_path: Path):
    made = create(tmp_path, "ci")
    assert made["token"].startswith("aos_") and made["id"].startswith("tok_")
    assert made["name"] == "ci" and made["active"] is True and made["last_used_at"] is None
    other = create(tmp_path, "ci")
    assert other["token"] != made["token"] and other["id"] != made["id"]
    ids = [t["id"] for t in json.loads(cli(tmp_path, "token", "list", "--json").stdout)["tokens"]]
    assert sorted(ids) == sorted([made["id"], other["id"]])


def test_empty_list_says_how_to_create_one(tmp_path: Path):
    out = cli(tmp_path, "token", "list")
    assert out.exit_code == 0 and "agent-os token create" in out.stdout
    assert json.loads(cli(tmp_path, "token", "list", "--json").stdout) == {"tokens": []}


def test_revoke_by_id_and_by_name(tmp_path: Path):
    a = create(tmp_path, "alice")
    b1 = create(tmp_path, "bob")
    b2 = create(tmp_path, "bob")
    store = TokenStore.open(Project.open(tmp_path).db_path)

    out = cli(tmp_path, "token", "revoke", a["id"])
    assert out.exit_code == 0, out.output
    assert a["id"] in out.stdout
    assert store.verify(a["token"]) is None
    assert store.verify(b1["token"]) is not None

    # By name: every active token of that name.
    out = cli(tmp_path, "token", "revoke", "bob", "--json")
    assert out.exit_code == 0, out.output
    revoked = json.loads(out.stdout)["revoked"]
    assert sorted(t["id"] for t in revoked) == sorted([b1["id"], b2["id"]])
    assert all(t["active"] is False and t["revoked_at"] for t in revoked)
    assert store.verify(b1["token"]) is None and store.verify(b2["token"]) is None

    # Revoked tokens leave the default list but stay on record.
    assert json.loads(cli(tmp_path, "token", "list", "--json").stdout)["tokens"] == []
    everything = json.loads(cli(tmp_path, "token", "list", "--all", "--json").stdout)["tokens"]
    assert {t["id"]: t["active"] for t in everything} == {a["id"]: False, b1["id"]: False, b2["id"]: False}
    table = cli(tmp_path, "token", "list", "--all").stdout
    assert "revoked" in table and "alice" in table

    # Revoking again is harmless and says so.
    again = cli(tmp_path, "token", "revoke", a["id"])
    assert again.exit_code == 0 and "already revoked" in again.stdout


def test_revoking_an_unknown_token_fails_with_a_hint(tmp_path: Path):
    create(tmp_path, "alice")
    for key in ("tok_0123456789ab", "nobody"):
        out = cli(tmp_path, "token", "revoke", key)
        assert out.exit_code == 2
        assert key in out.stderr and "agent-os token list" in out.stderr
    out = cli(tmp_path, "token", "revoke", "nobody", "--json")
    assert out.exit_code == 2
    assert json.loads(out.stdout)["hint"]
    assert TokenStore.open(Project.open(tmp_path).db_path).list()[0].active


@pytest.mark.parametrize("name", ["", "   ", "-dash-first", "x" * 65, "semi;colon", "new\nline", "ünïcode",
                                  "tok_0123456789ab"])
def test_bad_names_are_refused(tmp_path: Path, name: str):
    out = runner.invoke(app, ["token", "create", "--project", str(tmp_path), "--json", "--", name])
    assert out.exit_code == 2, out.output
    assert "not allowed" in json.loads(out.stdout)["error"]
    assert TokenStore.open(Project.open(tmp_path).db_path).list() == []


def test_verify_refuses_what_is_not_an_active_secret(tmp_path: Path):
    store = TokenStore.open(tmp_path / "db.sqlite")
    info, secret = store.create("ci")
    for bad in ("", "aos_", secret + "x", secret[:-1], secret.upper(), "Bearer " + secret,
                "aos_" + "a" * 500, info.id, info.hint):
        assert store.verify(bad) is None, bad
    assert store.verify(secret).id == info.id
    assert store.get(info.id).last_used_at is not None


# --- the HTTP transport ----------------------------------------------------------------------


@pytest.fixture
def http_server(tmp_path: Path):
    """The MCP app served over real HTTP with bearer auth on the project's token store."""
    project = Project.open(tmp_path)
    server = build_server(project, embedder=HashEmbedder(),
                          token_verifier=StoreTokenVerifier(TokenStore.open(project.db_path)))
    asgi = server.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
    with BackgroundServer(asgi) as running:
        yield running, project


@asynccontextmanager
async def client(url: str, secret: str | None, statuses: list[int] | None = None) -> AsyncIterator[Client]:
    """An MCP client over streamable HTTP sending `secret` as a bearer token; `statuses`
    collects the HTTP status of every response it gets."""
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else None
    http = create_mcp_http_client(headers=headers)
    if statuses is not None:
        async def record(response) -> None:  # noqa: ANN001
            statuses.append(response.status_code)

        http.event_hooks["response"].append(record)
    async with http, Client(streamable_http_client(url + "/mcp", http_client=http)) as connected:
        yield connected


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}
START = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "start_workflow", "arguments": {"workflow_type": "spec_creation_v1", "target_file": "x"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups: the SDK raises through task groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def assert_refused(run) -> None:  # noqa: ANN001
    """`run()` fails, and only because the server answered with an error (our 401)."""
    with pytest.raises(Exception) as raised:
        run()
    assert all(isinstance(e, MCPError) for e in leaves(raised.value)), raised.value


def sessions(project: Project) -> list:
    engine = Engine.open(project)
    try:
        return engine.list_sessions()
    finally:
        engine.close()


def test_requests_without_a_valid_token_get_401_and_change_nothing(http_server, tmp_path: Path):
    server, project = http_server
    alice = create(tmp_path, "alice")
    secret = alice["token"]
    revoked = create(tmp_path, "old")
    cli(tmp_path, "token", "revoke", revoked["id"])
    before = [(t.id, t.active) for t in TokenStore.open(project.db_path).list()]

    for auth in (None, "Bearer aos_not-a-real-token", f"Bearer {revoked['token']}", secret,
                 f"Basic {secret}", "Bearer"):
        headers = dict(ACCEPT) if auth is None else {**ACCEPT, "Authorization": auth}
        for body in (INIT, START):
            response = httpx.post(server.url + "/mcp", json=body, headers=headers, timeout=10)
            assert response.status_code == 401, (auth, body["method"], response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert secret not in response.text
        assert httpx.get(server.url + "/mcp", headers=headers, timeout=10).status_code == 401
    assert sessions(project) == []
    assert [(t.id, t.active) for t in TokenStore.open(project.db_path).list()] == before
    # A refused request is not a use of the real token.
    assert TokenStore.open(project.db_path).get(alice["id"]).last_used_at is None


def test_the_mcp_client_is_refused_without_a_token_or_with_a_wrong_one(http_server):
    server, project = http_server

    async def attempt(secret: str | None, statuses: list[int]) -> None:
        async with client(server.url, secret, statuses) as c:
            await c.list_tools()

    for secret in (None, "aos_wrong-token"):
        statuses: list[int] = []
        assert_refused(lambda: anyio.run(attempt, secret, statuses))
        assert statuses and set(statuses) == {401}
    assert sessions(project) == []


def test_a_valid_token_lists_and_calls_tools_until_it_is_revoked(http_server, tmp_path: Path):
    server, project = http_server
    token = create(tmp_path, "alice laptop")
    statuses: list[int] = []

    async def work() -> None:
        async with client(server.url, token["token"], statuses) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            assert {"start_workflow", "get_workflow_state", "search_standards"} <= names

            started = await c.call_tool("start_workflow", {"workflow_type": "spec_creation_v1",
                                                           "target_file": "user_authentication"})
            assert not started.is_error, started.content
            sid = started.structured_content["session"]["session_id"]
            state = await c.call_tool("get_workflow_state", {"session_id": sid})
            assert not state.is_error and state.structured_content["current_phase"] == 0

            # Revoked mid-session: the very next request is refused.
            assert cli(tmp_path, "token", "revoke", token["id"]).exit_code == 0
            before = len(statuses)
            with pytest.raises(MCPError):
                await c.call_tool("get_workflow_state", {"session_id": sid})
            assert 401 in statuses[before:]

    anyio.run(work)
    assert 200 in statuses

    # The call made with the token really happened, and was the token's last use.
    (session,) = sessions(project)
    assert session.target == "user_authentication"
    info = TokenStore.open(project.db_path).get(token["id"])
    assert info.last_used_at is not None and not info.active

    # A fresh client with the revoked token gets nowhere.
    refused: list[int] = []

    async def again() -> None:
        async with client(server.url, token["token"], refused) as c:
            await c.list_tools()

    assert_refused(lambda: anyio.run(again))
    assert set(refused) == {401}


def test_other_tokens_keep_working_after_one_is_revoked(http_server, tmp_path: Path):
    server, project = http_server
    alice, bob = create(tmp_path, "alice"), create(tmp_path, "bob")
    cli(tmp_path, "token", "revoke", "alice")

    async def use(secret: str) -> list[str]:
        async with client(server.url, secret) as c:
            result = await c.call_tool("list_sessions", {})
            assert not result.is_error
            return result.structured_content["sessions"]

    assert anyio.run(use, bob["token"]) == []
    response = httpx.post(server.url + "/mcp", json=INIT, headers={**ACCEPT, "Authorization": f"Bearer {alice['token']}"},
                          timeout=10)
    assert response.status_code == 401


def test_no_auth_is_refused_off_loopback(tmp_path: Path):
    out = cli(tmp_path, "mcp", "--http", "--host", "0.0.0.0", "--no-auth")
    assert out.exit_code == 2
    assert "loopback" in out.stderr and "agent-os token create" in out.stderr
