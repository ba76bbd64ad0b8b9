"""GitHub's App manifest flow against the stand-in: post the manifest, convert the code."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from .helpers import signing_key

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "http://127.0.0.1:1/app/created"


def manifest() -> dict:
    data = yaml.safe_load((ROOT / "app.yml").read_text())
    data.update(name="Agent OS Acme", redirect_url=CALLBACK,
                hook_attributes={"url": "http://127.0.0.1:2/webhooks/github", "active": True})
    return data


def post_manifest(gh, path: str, body: dict | str, state: str = "s1") -> httpx.Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(f"{gh.url}{path}?state={state}", data={"manifest": text})


@pytest.mark.parametrize(("path", "owner"), [("/settings/apps/new", "ada"),
                                              ("/organizations/acme/settings/apps/new", "acme")])
def test_a_manifest_becomes_an_app_the_stand_in_then_hosts(gh, path, owner):
    gh.sign_in_as("ada")
    answer = post_manifest(gh, path, manifest())
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    query = parse_qs(target.query)
    assert query["state"] == ["s1"]

    converted = httpx.post(f"{gh.url}/app-manifests/{query['code'][0]}/conversions")
    assert converted.status_code == 201
    app = converted.json()
    assert (app["name"], app["slug"], app["owner"]["login"]) == ("Agent OS Acme", "agent-os-acme", owner)
    assert app["pem"].startswith("-----BEGIN PRIVATE KEY") and app["webhook_secret"]
    assert app["client_id"] == gh.client_id and app["client_secret"] == gh.client_secret
    assert app["permissions"]["checks"] == "write" and "pull_request_review" in app["events"]
    assert gh.webhook_url == "http://127.0.0.1:2/webhooks/github"
    assert gh.webhook_secret == app["webhook_secret"] and gh.bot_login == "agent-os-acme[bot]"

    # The new key signs JWTs the stand-in accepts: the App is live.
    client = GitHub(AppAuthStrategy(app["id"], signing_key(app["pem"])), base_url=gh.url,
                    cache_strategy=MemCacheStrategy())
    assert client.rest.apps.get_authenticated().parsed_data.slug == "agent-os-acme"
    # A code converts once.
    again = httpx.post(f"{gh.url}/app-manifests/{query['code'][0]}/conversions")
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("not json", 400),
        ({"name": "x"}, 422),  # url missing
        ({"url": "https://x", "redirect_url": "javascript:alert(1)"}, 422),
        ({"url": "https://x", "default_permissions": {"checks": "own"}}, 422),
        ({"url": "https://x", "hook_attributes": {"active": True}}, 422),
        ("x" * 70_000, 413),
    ],
)
def test_bad_manifests_are_refused_and_change_nothing(gh, body, expected):
    before = (gh.app, gh.webhook_url, gh.webhook_secret)
    assert post_manifest(gh, "/settings/apps/new", body).status_code == expected
    assert (gh.app, gh.webhook_url, gh.webhook_secret) == before
    assert httpx.post(f"{gh.url}/app-manifests/unknown/conversions").status_code == 404
