"""Nothing public that shouldn't be: on a server others can reach, session pages need a person
signed in with GitHub (who sees only sessions of repositories they can read), /metrics its
own token, /healthz stays open; behind a proxy, /mcp accepts the public host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from agent_os.engine import Engine
from agent_os.project import Project
from agent_os_cli.team import create_team_app
from standin.serving import BackgroundServer, free_port
from bot.settings import Settings
from standin import GitHubStandIn
from support import NOTES_V1, write_workflow


@pytest.fixture
def gh() -> Iterator[GitHubStandIn]:
    with GitHubStandIn() as stand_in:
        stand_in.create_repo("octo/app", files={"README.md": "app"}, collaborators={"rev": "write"})
        stand_in.create_repo("octo/secret", files={"README.md": "secret"}, private=True)
        yield stand_in


@pytest.fixture
def team(tmp_path: Path, gh: GitHubStandIn, monkeypatch: pytest.MonkeyPatch):
    """A team server that requires sign-in, with a session on each repository."""
    for name in [k for k in __import__("os").environ if k.startswith("AGENT_OS_")]:
        monkeypatch.delenv(name)
    write_workflow(tmp_path, NOTES_V1)
    engine = Engine.open(Project.open(tmp_path))
    mine = engine.start("notes_v1", "visible").session.session_id
    engine.link_pull_request(mine, "octo/app", 1, author="rev")
    hidden = engine.start("notes_v1", "hidden").session.session_id
    engine.link_pull_request(hidden, "octo/secret", 2, author="boss")
    port = free_port()
    settings = Settings(github_url=gh.url, public_url=f"http://127.0.0.1:{port}", client_id=gh.client_id,
                        client_secret=gh.client_secret, metrics_token="scrape-me", require_sign_in=True,
                        project=tmp_path)
    app = create_team_app(settings, project=engine.project, engine=engine)
    with BackgroundServer(app, port=port) as server:
        yield server, mine, hidden
    engine.close()


def test_without_signing_in_pages_json_and_metrics_refuse_healthz_answers(team) -> None:
    server, mine, _ = team
    with httpx.Client(base_url=server.url) as web:
        listing = web.get("/sessions")
        assert listing.status_code == 302 and listing.headers["location"] == "/login?next=%2Fsessions"
        assert web.get(f"/sessions/{mine}").status_code == 302
        data = web.get(f"/sessions/{mine}.json")
        assert data.status_code == 401 and "Sign in with GitHub" in data.json()["detail"]
        assert web.get("/metrics").status_code == 401
        assert web.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        metrics = web.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert metrics.status_code == 200 and "agent_os" in metrics.text
        assert web.get("/healthz").status_code == 200


def sign_in(server, gh: GitHubStandIn, login: str) -> httpx.Client:
    """A browser that went through Sign in with GitHub as `login`."""
    web = httpx.Client(base_url=server.url)
    start = web.get("/login", params={"next": "/sessions"})
    assert start.status_code == 302
    authorize = start.headers["location"]
    assert authorize.startswith(gh.url + "/login/oauth/authorize?")
    approved = httpx.get(authorize + f"&login={login}")
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["location"])
    back = web.get(f"{callback.path}?{callback.query}")
    assert back.status_code == 302 and back.headers["location"] == "/sessions", back.text
    return web


def test_a_signed_in_user_sees_only_sessions_of_repositories_they_can_read(team, gh) -> None:
    server, mine, hidden = team
    web = sign_in(server, gh, "rev")
    try:
        listing = web.get("/sessions")
        assert listing.status_code == 200 and "Signed in as @rev" in listing.text
        assert mine in listing.text and hidden not in listing.text
        assert web.get(f"/sessions/{mine}").status_code == 200
        assert web.get(f"/sessions/{mine}.json").json()["session_id"] == mine
        assert web.get(f"/sessions/{hidden}").status_code == 404
        assert web.get(f"/sessions/{hidden}.json").status_code == 404
        web.get("/logout")
        assert web.get("/sessions").status_code == 302
    finally:
        web.close()


def test_a_forged_cookie_or_a_callback_not_started_here_gets_nothing(team, gh) -> None:
    server, mine, _ = team
    with httpx.Client(base_url=server.url, cookies={"agent_os_user": "eyJsb2dpbiI6ICJ4In0=.00"}) as web:
        assert web.get(f"/sessions/{mine}.json").status_code == 401
        assert web.get("/auth/callback", params={"code": "x", "state": "y"}).status_code == 400
        # `next` never leads off this server.
        start = web.get("/login", params={"next": "https://evil.example/"})
        assert start.cookies.get("agent_os_oauth_state", "").strip('"').endswith("|/sessions")


def test_behind_a_proxy_mcp_accepts_the_public_host(tmp_path: Path) -> None:
    from agent_os_cli.team import mcp_transport_security

    security = mcp_transport_security("127.0.0.1", "https://agent-os.example.com")
    assert "agent-os.example.com" in security.allowed_hosts
    assert "https://agent-os.example.com" in security.allowed_origins
    assert mcp_transport_security("127.0.0.1", "") is None  # the SDK's loopback defaults
    assert not mcp_transport_security("0.0.0.0", "").enable_dns_rebinding_protection


def test_mcp_behind_a_proxy_answers_the_public_host_not_421(tmp_path: Path, monkeypatch) -> None:
    for name in [k for k in __import__("os").environ if k.startswith("AGENT_OS_")]:
        monkeypatch.delenv(name)
    from agent_os_cli.team import issue_token

    settings = Settings(public_url="https://agent-os.example.com", project=tmp_path)
    engine = Engine.open(Project.open(tmp_path))
    token = issue_token(engine, "proxy test")
    app = create_team_app(settings, project=engine.project, engine=engine, host="127.0.0.1")
    with BackgroundServer(app) as server:
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                           "clientInfo": {"name": "t", "version": "1"}}}
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
                   "Authorization": f"Bearer {token}"}
        public = httpx.post(server.url + "/mcp", json=body, headers={**headers, "Host": "agent-os.example.com"})
        other = httpx.post(server.url + "/mcp", json=body, headers={**headers, "Host": "evil.example"})
    engine.close()
    assert public.status_code == 200, public.text
    assert other.status_code == 421
