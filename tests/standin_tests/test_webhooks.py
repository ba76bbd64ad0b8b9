"""Webhooks: signed like GitHub's, shaped like GitHub's examples, carrying the stand-in's values."""

from __future__ import annotations

import hashlib
import hmac
import json

from githubkit.compat import type_validate_json
from githubkit.webhooks import verify
from githubkit_schemas.latest import models as githubkit_models

from standin.render import template

from .helpers import REPO

TEMPLATES = {
    ("pull_request", "opened"): "pull_request/opened.payload.json",
    ("pull_request", "synchronize"): "pull_request/synchronize.payload.json",
    ("pull_request", "closed"): "pull_request/closed.payload.json",
    ("pull_request_review", "submitted"): "pull_request_review/submitted.payload.json",
    ("pull_request_review", "dismissed"): "pull_request_review/dismissed.payload.json",
    ("pull_request_review_comment", "created"): "pull_request_review_comment/created.payload.json",
    ("pull_request_review_thread", "resolved"): "pull_request_review_thread/resolved.payload.json",
    (
        "pull_request_review_thread",
        "unresolved",
    ): "pull_request_review_thread/unresolved.payload.json",
    ("issue_comment", "created"): "issue_comment/created.payload.json",
    ("check_run", "rerequested"): "check_run/rerequested.payload.json",
    ("check_run", "requested_action"): "check_run/requested_action.payload.json",
    ("installation", "created"): "installation/created.payload.json",
}


def _play_everything(gh):
    pr = gh.open_pull_request(
        REPO, author="dev", body="Agent-OS-Session: s1", files={"spec/srd.md": "# SRD\n"}
    )
    gh.push(REPO, pr.number, {"spec/srd.md": "# SRD v2\n"})
    review = gh.submit_review(REPO, pr.number, "rev", "approved")
    gh.submit_review(REPO, pr.number, "rev", "changes_requested", body="rate limits?")
    gh.submit_review(REPO, pr.number, "rev", "commented")
    gh.dismiss_review(REPO, pr.number, review.id, sender="dev")
    note = gh.review_comment(REPO, pr.number, "rev", "spec/srd.md", 1, "add rate limiting")
    gh.resolve_thread(REPO, pr.number, note.thread_id, sender="dev")
    gh.resolve_thread(REPO, pr.number, note.thread_id, sender="rev", resolved=False)
    gh.comment(REPO, pr.number, "rev", "/agent-os status")
    with gh.state.lock:
        from standin.state import CheckRun, now

        run = CheckRun(
            id=gh.state.next_id(),
            repo=REPO,
            head_sha=pr.head_sha,
            name="Agent OS",
            status="completed",
            conclusion="action_required",
            check_suite_id=gh.state.check_suite_id(REPO, pr.head_sha),
            completed_at=now(),
            external_id="s1",
            actions=[{"label": "Re-check", "description": "d", "identifier": "recheck"}],
        )
        gh.state.check_runs[run.id] = run
    gh.rerequest_check_run(REPO, run.id, sender="rev")
    gh.request_action(REPO, run.id, "recheck", sender="rev")
    gh.close_pull_request(REPO, pr.number, merged=True, sender="rev")
    gh.ping()
    gh.install()
    return gh.pull(REPO, pr.number), run


def githubkit_model(event: str, action: str | None) -> type:
    """githubkit's webhook model for one event and action, e.g. WebhookPullRequestOpened."""
    words = event.split("_") + (action.split("_") if action else [])
    return getattr(githubkit_models, "Webhook" + "".join(w.capitalize() for w in words))


def test_every_delivery_is_signed_and_parses_with_githubkit(gh, received):
    _play_everything(gh)
    assert len(received) == len(gh.deliveries) == 15
    for request, delivery in zip(received, gh.deliveries, strict=True):
        body = request.content
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["X-Hub-Signature-256"], expected)
        assert verify("s3cret", body, request.headers["X-Hub-Signature-256"])
        assert request.headers["X-GitHub-Delivery"] == delivery.id
        assert request.headers["X-GitHub-Hook-ID"] == str(gh.hook_id)
        assert request.headers["User-Agent"].startswith("GitHub-Hookshot/")
        assert request.headers["Content-Type"] == "application/json"
        # githubkit's model for this event and action accepts it (the model of the one action,
        # not the union for the event: building pull_request's union of 20 costs ~1.5 s of CPU).
        type_validate_json(githubkit_model(request.headers["X-GitHub-Event"], delivery.payload.get("action")), body)
        assert delivery.response.status_code == 202


def test_payloads_keep_the_template_shape_and_carry_stand_in_values(gh):
    pr, _run = _play_everything(gh)
    seen = set()
    for delivery in gh.deliveries:
        payload = delivery.payload
        key = (delivery.event, payload.get("action"))
        if key in TEMPLATES:
            seen.add(key)
            expected = set(template(TEMPLATES[key])) - {"organization", "requester"}
            assert expected <= set(payload), key
        if delivery.event in ("ping", "installation"):
            continue
        assert payload["repository"]["full_name"] == REPO
        assert payload["repository"]["url"] == f"{gh.url}/repos/{REPO}"
        assert payload["installation"]["id"] == gh.installation_id
        if "pull_request" in payload:
            assert payload["pull_request"]["number"] == pr.number
    assert seen == set(TEMPLATES)

    by_key = {(d.event, d.payload.get("action")): d.payload for d in gh.deliveries}
    sync = by_key[("pull_request", "synchronize")]
    assert sync["after"] == sync["pull_request"]["head"]["sha"] != sync["before"]
    review = by_key[("pull_request_review", "dismissed")]["review"]
    assert (review["user"]["login"], review["state"]) == ("rev", "dismissed")
    assert by_key[("pull_request", "closed")]["pull_request"]["merged"] is True
    action = by_key[("check_run", "requested_action")]
    assert action["requested_action"] == {"identifier": "recheck"}
    assert action["check_run"]["external_id"] == "s1"
    assert action["check_run"]["app"]["id"] == gh.app.id
    comment = by_key[("issue_comment", "created")]
    assert comment["issue"]["pull_request"]["url"].endswith(f"/pulls/{pr.number}")
    assert by_key[("ping", None)]["hook"]["app_id"] == gh.app.id
    installation = by_key[("installation", "created")]
    assert installation["installation"]["id"] == gh.installation_id
    assert [r["full_name"] for r in installation["repositories"]] == [REPO]


def test_redelivery_reuses_the_delivery_id_and_body(gh, received):
    gh.open_pull_request(REPO, author="dev")
    first = gh.last_delivery
    gh.redeliver(first.id)
    assert len(received) == 2
    assert received[0].headers["X-GitHub-Delivery"] == received[1].headers["X-GitHub-Delivery"]
    assert received[0].content == received[1].content
    assert first.attempts == [202, 202]


def test_built_but_unsent_delivery_is_for_the_caller_to_post(gh, received):
    gh.open_pull_request(REPO, author="dev", send=False)
    delivery = gh.last_delivery
    assert received == [] and delivery.response is None
    assert json.loads(delivery.body)["action"] == "opened"
    assert delivery.headers["X-GitHub-Event"] == "pull_request"
