"""GitHub's own example payloads (tests/fixtures/github-payloads/<event>/*.json), every one of
them, delivered signed to a running bot: each is accepted and processed without a crash.

The examples name the repository Codertocat/Hello-World (pull request #2, installation 1),
so the stand-in holds that repository with two pull requests and a session is linked to #2:
the handlers then do their real work (link, record reviews and comments, re-check) rather
than stop at "no session linked".

No example is allowed to fail. Were one to lack fields a handler needs, the worker would
fail it with a PermanentError ("... payload lacks fields we need"); such files would be
listed in EXPECTED_FAILURES with the reason. A failure whose error starts with a Python
exception's name ("KeyError: ...") is a crash: a bug in the bot.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from botkit import bot_env, post_webhook, settle

from bot.payloads import pr_key_of

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "github-payloads"
FILES = sorted(p.relative_to(PAYLOADS).as_posix() for p in PAYLOADS.glob("*/*.json"))
EXAMPLE_REPO = "Codertocat/Hello-World"
EXPECTED_FAILURES: dict[str, str] = {}  # relative path -> why the payload cannot be processed
CRASH = re.compile(r"^[A-Z]\w*(Error|Exception|Interrupt)\b")


def test_the_examples_cover_every_event_the_bot_handles():
    events = {f.split("/")[0] for f in FILES}
    assert len(FILES) > 70
    assert {"pull_request", "pull_request_review", "pull_request_review_comment",
            "pull_request_review_thread", "issue_comment", "check_run", "installation",
            "installation_repositories", "ping"} <= events


@pytest.fixture(scope="module")
def delivered(tmp_path_factory, credentials):
    """Every example POSTed once, in order, then processed: {file: (response, stored delivery)}."""
    with bot_env(tmp_path_factory.mktemp("payloads"), credentials) as env:
        env.gh.create_repo(EXAMPLE_REPO, default_branch="master", collaborators={"Codertocat": "admin"},
                           files={".agent-os/config.yaml": "gates:\n  approvals: 1\n"})
        for _ in range(2):
            env.gh.open_pull_request(EXAMPLE_REPO, author="Codertocat", send=False)
        sid = env.engine.start("spec_creation_v1", "hello world").session.session_id
        env.engine.link_pull_request(sid, EXAMPLE_REPO, 2, source="mcp")
        settle(env)
        responses = {}
        for i, name in enumerate(FILES):
            event = name.split("/")[0]
            responses[name] = post_webhook(env.server.url, event, (PAYLOADS / name).read_bytes(),
                                           delivery_id=f"example-{i:03d}")
        settle(env, timeout=60)
        stored = {d.delivery_id: d for d in env.bot.store.deliveries()}
        yield {name: (responses[name], stored.get(f"example-{i:03d}")) for i, name in enumerate(FILES)}


@pytest.mark.parametrize("name", FILES)
def test_example_payload_is_accepted_and_processed(delivered, name):
    response, delivery = delivered[name]
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "new"
    assert delivery is not None and delivery.event == name.split("/")[0]
    if delivery.status == "failed":
        assert not CRASH.match(delivery.error or ""), f"the bot crashed on {name}: {delivery.error}"
    if name in EXPECTED_FAILURES:
        assert delivery.status == "failed" and "payload lacks fields" in delivery.error
    else:
        assert (delivery.status, delivery.error) == ("done", None)


@pytest.mark.parametrize(("path", "key"), [
    ("pull_request/opened.payload.json", "codertocat/hello-world#2"),
    ("issue_comment/created.payload.json", "codertocat/hello-world#1"),
    ("check_run/completed.payload.json", "codertocat/hello-world#2"),
    ("ping/payload.json", None),
])
def test_a_delivery_is_queued_under_the_pull_request_it_concerns(path, key):
    # A PR's deliveries are processed one at a time, in order, by this key.
    assert pr_key_of(json.loads((PAYLOADS / path).read_text(encoding="utf-8"))) == key


def test_every_number_keys_its_own_pull_request():
    # A number that Python reads as false used to fall through: deliveries with no key
    # are not kept in order.
    payload = {"repository": {"full_name": "O/R"}, "pull_request": {"number": 0}}
    assert pr_key_of(payload) == "o/r#0"
