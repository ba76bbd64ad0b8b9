"""App JWTs buy installation tokens; installation tokens open repository endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from standin import make_app_credentials

from .helpers import REPO, app_jwt, installation_token, signing_key


def _token_request(gh, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return httpx.post(
        f"{gh.url}/app/installations/{gh.installation_id}/access_tokens", headers=headers
    )


def test_valid_jwt_gets_a_token_with_github_expiry_format(gh, credentials):
    response = _token_request(gh, f"Bearer {app_jwt(gh, credentials.private_key_pem)}")
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("ghs_")
    expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert body["permissions"]["checks"] == "write"
    assert gh.token_issuances == 1


@pytest.mark.parametrize(
    "make_header",
    [
        lambda gh, key: None,
        lambda gh, key: "Bearer not-a-jwt",
        lambda gh, key: f"Bearer {app_jwt(gh, make_app_credentials().private_key_pem)}",
        lambda gh, key: f"Bearer {app_jwt(gh, key, iss=999)}",
        lambda gh, key: f"Bearer {app_jwt(gh, key, age=1200)}",
    ],
    ids=["missing", "garbage", "other-key", "wrong-iss", "expired"],
)
def test_token_issuance_refuses_bad_jwts(gh, credentials, make_header):
    response = _token_request(gh, make_header(gh, credentials.private_key_pem))
    assert response.status_code == 401
    assert response.json()["message"]
    assert gh.token_issuances == 0


def test_unknown_installation_is_404(gh, credentials):
    response = httpx.post(
        f"{gh.url}/app/installations/777/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(gh, credentials.private_key_pem)}"},
    )
    assert response.status_code == 404


def test_repo_endpoints_need_a_live_installation_token(gh, credentials):
    url = f"{gh.url}/repos/{REPO}/contents/README.md"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "token ghs_forged"}).status_code == 401
    jwt_only = f"Bearer {app_jwt(gh, credentials.private_key_pem)}"
    assert httpx.get(url, headers={"Authorization": jwt_only}).status_code == 401
    token = installation_token(gh, credentials.private_key_pem)
    assert httpx.get(url, headers={"Authorization": f"token {token}"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    gh.expire_tokens()
    assert httpx.get(url, headers={"Authorization": f"token {token}"}).status_code == 401


def test_token_cannot_reach_a_repo_outside_its_installation(gh, credentials):
    gh.create_repo("other/secret", files={"a": "b"}, installation_id=2)
    token = installation_token(gh, credentials.private_key_pem)
    response = httpx.get(
        f"{gh.url}/repos/other/secret/contents/a", headers={"Authorization": f"token {token}"}
    )
    assert response.status_code == 404


def test_githubkit_caches_the_installation_token(gh, credentials):
    github = GitHub(
        AppInstallationAuthStrategy(
            credentials.app_id, signing_key(credentials.private_key_pem), gh.installation_id
        ),
        base_url=gh.url,
        # githubkit's default token cache is process-wide; each stand-in issues its own.
        cache_strategy=MemCacheStrategy(),
    )
    for _ in range(3):
        permission = github.rest.repos.get_collaborator_permission_level("octo", "app", "rev")
        assert permission.parsed_data.permission == "write"
    assert gh.token_issuances == 1


def test_repository_installation_lookup_uses_the_jwt(gh, credentials):
    response = httpx.get(
        f"{gh.url}/repos/{REPO}/installation",
        headers={"Authorization": f"Bearer {app_jwt(gh, credentials.private_key_pem)}"},
    )
    assert response.status_code == 200
    assert response.json()["id"] == gh.installation_id
    assert response.json()["app_id"] == gh.app.id
