"""`agent-os serve` killed with SIGKILL while a comment it posted is in flight: after the restart
GitHub shows that comment exactly once."""

from __future__ import annotations

import signal

import pytest
from botkit import REPO, SECRET, serve, wait_until

from agent_os.engine import Engine
from agent_os.project import Project
from standin.serving import free_port
from standin import GitHubStandIn


@pytest.mark.slow
def test_a_kill_between_a_comment_post_and_its_record_leaves_one_comment(tmp_path, credentials):
    key = tmp_path / "app.pem"
    key.write_text(credentials.private_key_pem)
    port = free_port()
    settings = {"AGENT_OS_LEASE_SECONDS": "1", "AGENT_OS_RECOVER_INTERVAL": "0"}
    with GitHubStandIn(app_id=credentials.app_id, public_key_pem=credentials.public_key_pem,
                       webhook_secret=SECRET) as gh:
        gh.create_repo(REPO, files={"README.md": "# webapp\n"}, collaborators={"dev": "write", "rev": "write"})
        gh.set_webhook(f"http://127.0.0.1:{port}/webhooks/github", SECRET)
        engine = Engine.open(Project.open(tmp_path))
        pr = gh.open_pull_request(REPO, author="dev", body="A change", send=False)

        server = serve(tmp_path, gh, port, key, **settings)
        try:
            # The stand-in holds the POST a while before carrying it out, as a slow GitHub would.
            gh.inject("POST", "/repos/*/issues/*/comments", None, delay=2.0)
            gh.comment(REPO, pr.number, "rev", "/agent-os help")
            wait_until(lambda: not gh.faults.pending(), timeout=30, what="the reply's POST to reach GitHub")
        finally:
            server.send_signal(signal.SIGKILL)  # mid-POST: nothing recorded the reply as sent
            server.wait(10)
        wait_until(lambda: len(gh.comments(REPO, pr.number)) == 2, what="GitHub to carry the POST out")
        [item] = [dict(r) for r in engine.db.query("SELECT status, attempts FROM bot_outbox WHERE kind = 'comment'")]
        assert item == {"status": "pending", "attempts": 1}

        server = serve(tmp_path, gh, port, key, **settings)
        try:
            wait_until(lambda: engine.db.query_one(
                "SELECT status FROM bot_outbox WHERE kind = 'comment'")["status"] == "done",
                timeout=30, what="the restarted server to settle the reply")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(20)
        replies = [c for c in gh.comments(REPO, pr.number) if c.user == gh.bot_login]
        assert len(replies) == 1
        assert len(gh.requests("POST", "/repos/*/issues/*/comments")) == 1
        engine.close()
