"""`POST /webhooks/github` over real HTTP: what is refused, what is recorded, what runs (once)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket

import httpx
import pytest
from botkit import REPO, SECRET, WEBHOOK_PATH, bot_env, post_webhook, settle

from bot.signatures import sign


def ping_body(env) -> bytes:
    """A genuine ping payload from the stand-in (built, not sent)."""
    return env.gh.ping(send=False).body


def writes(env) -> int:
    """Every write the bot made to GitHub so far."""
    return len(env.gh.requests("POST")) + len(env.gh.requests("PATCH"))


# -- refused before anything is recorded ---------------------------------------------------------


def _sha1(body: bytes) -> str:
    return "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()


BAD_SIGNATURES = {
    "missing": lambda body: {"X-Hub-Signature-256": None},
    "malformed": lambda body: {"X-Hub-Signature-256": "sha256=not-hex-at-all"},
    "short digest": lambda body: {"X-Hub-Signature-256": sign(SECRET, body)[:-1]},
    "sha1 only": lambda body: {"X-Hub-Signature-256": None, "X-Hub-Signature": _sha1(body)},
    "wrong secret": lambda body: {"X-Hub-Signature-256": sign("not-the-secret", body)},
    "other body": lambda body: {"X-Hub-Signature-256": sign(SECRET, body + b" ")},
}


@pytest.mark.parametrize("case", list(BAD_SIGNATURES))
def test_bad_signature_is_401_and_nothing_is_recorded(refused, case):
    body = ping_body(refused)
    response = post_webhook(refused.server.url, "ping", body, headers=BAD_SIGNATURES[case](body))
    assert response.status_code == 401
    assert "signature" in response.json()["error"].lower()


def test_a_correct_signature_beside_a_legacy_sha1_one_is_accepted(quiet):
    body = ping_body(quiet)
    response = post_webhook(quiet.server.url, "ping", body, delivery_id="with-sha1-too",
                            headers={"X-Hub-Signature": _sha1(body)})
    assert response.status_code == 202
    assert quiet.bot.store.delivery("with-sha1-too") is not None


@pytest.mark.parametrize("body", [b"not json", b'["a", "list"]', b'"a string"', b"\xff\xfe{}"],
                         ids=["text", "array", "string", "not-utf8"])
def test_a_body_that_is_not_a_json_object_is_400(refused, body):
    response = post_webhook(refused.server.url, "ping", body)
    assert response.status_code == 400
    assert "json" in response.json()["error"].lower()


@pytest.mark.parametrize("headers", [{"X-GitHub-Event": None}, {"X-GitHub-Delivery": None},
                                     {"X-GitHub-Delivery": "d" * 101}],
                         ids=["no-event", "no-delivery", "delivery-id-too-long"])
def test_missing_or_oversized_github_headers_are_400(refused, headers):
    response = post_webhook(refused.server.url, "ping", ping_body(refused), headers=headers)
    assert response.status_code == 400
    assert "X-GitHub-Event and X-GitHub-Delivery" in response.json()["error"]


def test_a_body_over_the_cap_is_413_whether_its_length_is_declared_or_not(tmp_path, credentials):
    with bot_env(tmp_path, credentials, max_body_bytes=1000) as small:
        def body(size: int) -> bytes:
            base = json.dumps({"zen": "", "hook_id": 1}).encode()
            return json.dumps({"zen": "x" * (size - len(base)), "hook_id": 1}).encode()

        big = body(1001)
        assert len(big) == 1001
        declared = post_webhook(small.server.url, "ping", big)
        assert declared.status_code == 413

        # Chunked, so no Content-Length: the cap holds while the body is read.
        chunks = iter([big[:600], big[600:]])
        streamed = httpx.post(small.server.url + WEBHOOK_PATH, content=chunks, headers={
            "Content-Type": "application/json", "X-GitHub-Event": "ping", "X-GitHub-Delivery": "chunked-1",
            "X-Hub-Signature-256": sign(SECRET, big)})
        assert streamed.request.headers.get("transfer-encoding") == "chunked"
        assert streamed.status_code == 413
        assert small.bot.store.deliveries() == []

        fits = post_webhook(small.server.url, "ping", body(1000))
        assert fits.status_code == 202
        assert len(small.bot.store.deliveries()) == 1


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read(refused):
    # The default cap is GitHub's 25 MB. Declare 26 MB and send two bytes: the answer
    # must come from the header alone (a client library will not send such a request).
    host, port = refused.server.host, refused.server.port
    head = (f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nX-GitHub-Event: ping\r\nX-GitHub-Delivery: huge-1\r\n"
            f"X-Hub-Signature-256: {sign(SECRET, b'{}')}\r\n"
            f"Content-Length: {26 * 1024 * 1024}\r\n\r\n{{}}")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head.encode())
        status_line = sock.makefile("rb").readline()
    assert status_line.split()[1] == b"413"


def test_the_webhook_path_takes_post_only_and_the_other_routes_still_answer(refused):
    url = refused.server.url
    other = httpx.get(url + WEBHOOK_PATH, timeout=10)
    assert (other.status_code, other.headers["allow"]) == (405, "POST")
    assert "POSTed" in other.json()["error"]
    assert httpx.get(url + WEBHOOK_PATH + "/x", timeout=10).status_code == 404
    assert httpx.get(url + "/healthz", timeout=10).status_code == 200


# -- recorded, processed once --------------------------------------------------------------------


def test_a_valid_delivery_is_202_and_processed(quiet):
    delivery = quiet.gh.ping()
    assert delivery.response.status_code == 202
    assert delivery.response.json() == {"delivery": delivery.id, "status": "new"}
    quiet.drain()
    stored = quiet.bot.store.delivery(delivery.id)
    assert (stored.event, stored.status, stored.error, stored.attempts) == ("ping", "done", None, 1)


def test_a_delivery_sent_ten_times_runs_once(env):
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    first = env.gh.last_delivery
    env.drain()
    assert env.bot.store.delivery(first.id).status == "done"
    assert "Agent OS" in env.checks(pr.head_sha)
    reads, before = len(env.gh.requests("GET")), writes(env)

    for _ in range(9):
        again = env.gh.redeliver(first.id)
        assert again.status_code == 202
        assert again.json() == {"delivery": first.id, "status": "duplicate"}
    env.drain()
    assert (len(env.gh.requests("GET")), writes(env)) == (reads, before)
    assert env.bot.store.delivery(first.id).attempts == 1
    assert len(env.gh.all_check_runs(REPO)) == len(env.checks(pr.head_sha))


def test_a_delivery_failed_on_a_permanent_github_error_runs_again_when_redelivered(env):
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    env.gh.inject("GET", "/repos/*/pulls/*/files", 404)
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    delivery = env.gh.last_delivery
    settle(env)
    failed = env.bot.store.delivery(delivery.id)
    assert failed.status == "failed" and failed.attempts == 1  # a 404 is not retried
    assert "HTTP 404" in failed.error
    assert env.engine.sessions_for_pull_request(REPO, pr.number) == []
    assert env.checks(pr.head_sha) == {}

    again = env.gh.redeliver(delivery.id)
    assert again.json()["status"] == "retry"
    settle(env)
    assert env.bot.store.delivery(delivery.id).status == "done"
    assert env.engine.sessions_for_pull_request(REPO, pr.number) == [sid]
    assert env.checks(pr.head_sha)["Agent OS"] == ("in_progress", None)


def test_a_delivery_that_keeps_failing_stops_after_its_attempts_and_redelivery_revives_it(env):
    env.gh.set_files(REPO, {".agent-os/config.yaml": "gates:\n  approvals: 3\n"})
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    env.gh.inject("GET", "/repos/*/contents/*", 500, times=50)
    env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}")
    delivery = env.gh.last_delivery
    settle(env)
    failed = env.bot.store.delivery(delivery.id)
    assert failed.status == "failed" and "HTTP 500" in failed.error
    attempts = env.settings.delivery_attempts
    assert failed.attempts == attempts
    assert len([r for r in env.gh.requests("GET", "/repos/*/contents/*") if r.injected]) == attempts
    assert env.engine.gate(sid).required_approvals != 3  # the base branch's policy never arrived

    env.gh.faults.clear()
    assert env.gh.redeliver(delivery.id).json()["status"] == "retry"
    settle(env)
    assert env.bot.store.delivery(delivery.id).status == "done"
    assert env.engine.gate(sid).required_approvals == 3


@pytest.mark.parametrize("event", ["star", "issues", "workflow_run"])
def test_an_event_the_app_does_not_use_is_accepted_and_done(quiet, event):
    repo = {"full_name": REPO, "name": "webapp", "owner": {"login": "acme"}}
    body = json.dumps({"action": "created", "repository": repo, "sender": {"login": "dev", "type": "User"},
                       "installation": {"id": quiet.gh.installation_id}}).encode()
    before = writes(quiet)
    response = post_webhook(quiet.server.url, event, body, delivery_id=f"{event}-1")
    assert response.status_code == 202
    quiet.drain()
    assert quiet.bot.store.delivery(f"{event}-1").status == "done"
    assert writes(quiet) == before


def test_events_caused_by_the_app_itself_are_ignored(env):
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", send=False)
    genuine = env.gh.last_delivery
    payload = genuine.payload
    payload["sender"] = {**payload["sender"], "login": env.gh.bot_login, "type": "Bot"}
    own = env.gh.build_delivery("pull_request", payload)
    assert env.gh.send(own).status_code == 202
    env.drain()
    assert env.bot.store.delivery(own.id).status == "done"
    assert env.engine.sessions_for_pull_request(REPO, pr.number) == []
    assert env.gh.all_check_runs(REPO) == []

    env.gh.send(genuine)  # the same event from a person does link
    env.drain()
    assert env.engine.sessions_for_pull_request(REPO, pr.number) == [sid]


def test_healthz_answers_with_the_outbox_depth(quiet):
    response = httpx.get(quiet.server.url + "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["outbox_pending"], body["database"]["ok"], body["database"]["dialect"]) == (
        True, 0, True, "sqlite")


def test_create_app_with_no_arguments_reads_the_environment(tmp_path, credentials, monkeypatch):
    """What `uvicorn --factory bot.app:create_app` runs."""
    from fastapi.testclient import TestClient

    from bot.app import create_app

    key = tmp_path / "app.pem"
    key.write_text(credentials.private_key_pem)
    for name, value in {"AGENT_OS_APP_ID": str(credentials.app_id), "AGENT_OS_PRIVATE_KEY": str(key),
                        "AGENT_OS_WEBHOOK_SECRET": "from-env", "AGENT_OS_DB": str(tmp_path / "bot.db"),
                        "AGENT_OS_PROJECT": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    with TestClient(app) as client:
        assert client.get("/healthz").json()["ok"] is True
        body = b'{"zen": "Keep it logically awesome."}'
        ok = client.post("/webhooks/github", content=body, headers={
            "X-Hub-Signature-256": sign("from-env", body), "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "env-1"})
        assert ok.status_code == 202
    assert (tmp_path / "bot.db").is_file()
