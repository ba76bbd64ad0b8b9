"""Webhook deliveries as GitHub records them: failed attempts kept, listed, redelivered."""

from __future__ import annotations

import httpx
import pytest
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from .helpers import REPO, app_jwt, signing_key


@pytest.fixture
def server(gh):
    """A webhook receiver that can be taken down (connection refused) and brought back."""
    state = {"down": False, "seen": []}

    def receive(request: httpx.Request) -> httpx.Response:
        if state["down"]:
            raise httpx.ConnectError("Connection refused", request=request)
        request.read()
        state["seen"].append(request.headers["X-GitHub-Delivery"])
        return httpx.Response(202, json={"queued": True})

    client = httpx.Client(transport=httpx.MockTransport(receive))
    gh.set_webhook("http://bot.test/webhooks/github", client=client)
    yield state
    client.close()


@pytest.fixture
def app_client(gh, credentials) -> GitHub:
    return GitHub(AppAuthStrategy(credentials.app_id, signing_key(credentials.private_key_pem)),
                  base_url=gh.url, cache_strategy=MemCacheStrategy())


def test_failed_deliveries_are_recorded_listed_by_cursor_and_redelivered(gh, server, app_client):
    server["down"] = True
    pr = gh.open_pull_request(REPO, author="dev", files={"a.py": "1\n"})
    for n in range(4):
        gh.comment(REPO, pr.number, "dev", f"comment {n}")
    assert gh.last_delivery.response is None and gh.last_delivery.attempts == [0]
    server["down"] = False
    gh.comment(REPO, pr.number, "dev", "delivered")

    # Newest first, three a page, following the Link header's cursor.
    seen, url = [], "/app/hook/deliveries?per_page=3"
    while url:
        response = app_client.request("GET", url)
        seen += response.json()
        link = response.headers.get("link")
        url = link.split(";")[0].strip("<>") if link else None
    assert [(d["event"], d["action"], d["status_code"]) for d in seen] == [
        ("issue_comment", "created", 202)
    ] + [("issue_comment", "created", 0)] * 4 + [("pull_request", "opened", 0)]
    assert seen[1]["status"] == "failed to connect to host" and seen[0]["status"] == "OK"
    assert all(d["repository_id"] == gh.state.repo(REPO).id for d in seen)
    assert len({d["id"] for d in seen}) == 6 and not any(d["redelivery"] for d in seen)

    # githubkit reads the same list and one delivery in full.
    listed = app_client.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
    failed = [d for d in listed if d.status_code == 0]
    assert len(failed) == 5
    detail = app_client.rest.apps.get_webhook_delivery(failed[-1].id).parsed_data
    assert detail.request.payload.model_dump()["action"] == "opened"
    assert detail.response.payload is None

    # Redelivery: same guid, a new attempt marked as a redelivery, the receiver gets it now.
    answer = app_client.rest.apps.redeliver_webhook_delivery(failed[-1].id)
    assert answer.status_code == 202
    assert server["seen"][-1] == failed[-1].guid
    newest = app_client.rest.apps.list_webhook_deliveries(per_page=1).parsed_data[0]
    assert (newest.guid, newest.redelivery, newest.status_code) == (failed[-1].guid, True, 202)
    only_failed = app_client.request("GET", "/app/hook/deliveries?status=failure").json()
    assert len(only_failed) == 5


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/app/hook/deliveries?cursor=garbage", 400),
        ("GET", "/app/hook/deliveries?per_page=0", 422),
        ("GET", "/app/hook/deliveries?status=maybe", 422),
        ("GET", "/app/hook/deliveries/12345", 404),
        ("POST", "/app/hook/deliveries/12345/attempts", 404),
    ],
)
def test_bad_delivery_requests_are_refused(gh, credentials, method, path, status):
    headers = {"Authorization": f"Bearer {app_jwt(gh, credentials.private_key_pem)}"}
    response = httpx.request(method, gh.url + path, headers=headers)
    assert response.status_code == status
    assert response.json()["message"]


def test_deliveries_need_the_app_jwt(gh):
    assert httpx.get(gh.url + "/app/hook/deliveries").status_code == 401
    assert httpx.get(gh.url + "/app/hook/deliveries",
                     headers={"Authorization": "token ghs_x"}).status_code == 401
