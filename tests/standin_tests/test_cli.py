"""`agent-os standin`: the stand-in alone, for people trying the App."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx


def test_standin_command_prints_what_serve_needs_and_serves_git(tmp_path: Path):
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_os_cli", "standin", "--port", "0", "--json",
         "--data-dir", str(data), "--repo", "acme/web"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        while not lines or lines[-1] != "}\n":
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        info = json.loads("".join(lines))
        assert Path(info["private_key_path"]).read_text().startswith("-----BEGIN PRIVATE KEY")
        assert info["env"]["AGENT_OS_GITHUB_URL"] == info["url"]
        assert info["env"]["AGENT_OS_WEBHOOK_SECRET"] == info["webhook_secret"]
        authorize = httpx.get(info["url"] + "/login/oauth/authorize", params={
            "client_id": info["oauth"]["client_id"], "redirect_uri": "http://127.0.0.1:1/cb"})
        assert authorize.status_code == 302 and "code=" in authorize.headers["location"]
        assert httpx.get(info["url"] + "/app").status_code == 401  # the App's API, JWT needed
        clone = tmp_path / "clone"
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
        subprocess.run(["git", "clone", "--quiet", info["repositories"]["acme/web"], str(clone)],
                       check=True, env=env)
        assert (clone / "README.md").read_text() == "# web\n"
        env.update(GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@x", GIT_COMMITTER_NAME="a",
                   GIT_COMMITTER_EMAIL="a@x")
        subprocess.run(["git", "checkout", "-q", "-b", "topic"], cwd=clone, check=True, env=env)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "t"], cwd=clone, check=True, env=env)
        subprocess.run(["git", "push", "-q", "origin", "topic"], cwd=clone, check=True, env=env)
        opened = httpx.post(info["url"] + "/repos/acme/web/pulls",
                            headers={"Authorization": f"token {info['user_token']}"},
                            json={"title": "Topic", "head": "topic", "base": "main"})
        assert opened.status_code == 201 and opened.json()["user"]["login"] == "octo"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


def test_standin_command_refuses_a_folder_in_use(tmp_path: Path):
    (tmp_path / "something").write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "agent_os_cli", "standin", "--port", "0", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "not empty" in result.stderr
