"""`agent-os app create` end to end against the GitHub stand-in: the local page posts
app.yml's manifest, the stand-in redirects back with a code, the conversion's key and
secrets are written where `agent-os serve` reads them, and that server then takes the
stand-in's webhooks as the new App."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from agent_os_cli.appcreate import ManifestFlow
from standin.serving import free_port
from standin import GitHubStandIn

REPO = Path(__file__).resolve().parents[2]


def browser(flow_url: str) -> None:
    """What the person's browser does: load the page, post its form to GitHub, follow back."""
    page = httpx.get(flow_url + "/").text
    action = unescape(re.search(r'action="([^"]+)"', page).group(1))
    manifest = unescape(re.search(r'name="manifest" value="([^"]+)"', page).group(1))
    posted = httpx.post(action, data={"manifest": manifest})
    assert posted.status_code == 302, posted.text
    back = httpx.get(posted.headers["location"])
    assert back.status_code == 200 and "Created the GitHub App" in back.text, back.text


@pytest.mark.parametrize("org", [None, "acme"])
def test_the_manifest_flow_writes_what_serve_reads(tmp_path: Path, org: str | None) -> None:
    with GitHubStandIn(app_slug="placeholder", app_name="Placeholder") as gh:
        flow = ManifestFlow(tmp_path, REPO / "app.yml", github_url=gh.url, public_url="https://aos.example.com",
                            org=org)
        assert json.loads(json.dumps(flow.manifest))["default_events"][0] == "pull_request"
        assert flow.manifest["hook_attributes"]["url"] == "https://aos.example.com/webhooks/github"
        created = flow.run(lambda url: threading.Thread(target=browser, args=(url,), daemon=True).start(),
                           timeout=60)
        assert created.slug == "agent-os" and created.owner == (org or gh.app.owner)
        env = dict(line.split("=", 1) for line in created.env_file.read_text().splitlines()
                   if line and not line.startswith("#"))
        assert env["AGENT_OS_APP_ID"] == str(gh.app.id) and env["AGENT_OS_APP_SLUG"] == "agent-os"
        assert env["AGENT_OS_WEBHOOK_SECRET"] == gh.webhook_secret
        assert env["AGENT_OS_CLIENT_ID"] == gh.client_id and env["AGENT_OS_CLIENT_SECRET"] == gh.client_secret
        assert created.key_file.read_text() == gh.private_key_pem
        for secret in (created.key_file, created.env_file):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert {"app.pem", "app.env"} <= set((tmp_path / ".agent-os" / ".gitignore").read_text().split())
        assert gh.webhook_url == "https://aos.example.com/webhooks/github"


def test_a_callback_not_started_here_is_refused(tmp_path: Path) -> None:
    flow = ManifestFlow(tmp_path, REPO / "app.yml", github_url="http://127.0.0.1:9", public_url="https://x.example")
    status, text = flow._callback({"code": ["abc"], "state": ["forged"]})
    assert status == 400 and "not started by this" in text
    assert not (tmp_path / ".agent-os" / "app.env").exists()


@pytest.mark.slow
def test_serve_starts_as_the_created_app_and_takes_its_webhooks(tmp_path: Path) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    with GitHubStandIn() as gh:
        gh.create_repo("octo/app", files={"README.md": "hi"}, collaborators={"dev": "write"})
        flow = ManifestFlow(tmp_path, REPO / "app.yml", github_url=gh.url, public_url=public)
        flow.run(lambda url: threading.Thread(target=browser, args=(url,), daemon=True).start(), timeout=60)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_OS_")}
        env["PYTHONPATH"] = str(REPO)
        env["AGENT_OS_EMBEDDER"] = "hash"
        server = subprocess.Popen([sys.executable, "-m", "agent_os_cli", "serve", "--port", str(port)],
                                  cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        try:
            health = None
            for _ in range(300):
                try:
                    health = httpx.get(public + "/healthz").json()
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read()
                    time.sleep(0.1)
            assert health and health["github_app"] is True
            pr = gh.open_pull_request("octo/app", author="dev", title="A change", body="No session here.",
                                      files={"app.py": "print(1)\n"})
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "Agent OS" not in gh.check_runs("octo/app", pr.head_sha):
                time.sleep(0.2)
            assert "Agent OS" in gh.check_runs("octo/app", pr.head_sha), "the webhook was not taken"
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert urlsplit(public).port == port
