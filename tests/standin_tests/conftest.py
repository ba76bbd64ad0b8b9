"""Fixtures for the GitHub stand-in's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from standin import GitHubStandIn

from .helpers import CONFIG, REPO


@pytest.fixture
def received() -> list[httpx.Request]:
    """Webhook requests the stand-in sent, captured by a mock transport."""
    return []


@pytest.fixture
def gh(credentials, received) -> Iterator[GitHubStandIn]:
    """A running stand-in with one repository and a webhook receiver answering 202."""

    def receive(request: httpx.Request) -> httpx.Response:
        request.read()
        received.append(request)
        return httpx.Response(202, json={"queued": True})

    client = httpx.Client(transport=httpx.MockTransport(receive))
    stand_in = GitHubStandIn(
        app_id=credentials.app_id,
        public_key_pem=credentials.public_key_pem,
        webhook_url="http://bot.test/webhooks/github",
        webhook_secret="s3cret",
        webhook_client=client,
    )
    with stand_in:
        stand_in.create_repo(
            REPO,
            files={".agent-os/config.yaml": CONFIG, "README.md": "# app\n"},
            collaborators={"rev": "write", "reader": "read"},
        )
        yield stand_in
    client.close()
