"""Sign in with GitHub against the stand-in: authorize, exchange, and what the user can read."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from githubkit import GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestFailed

from .helpers import REPO, installation_token

CALLBACK = "http://127.0.0.1:1/auth/callback"


def sign_in(gh, *, login: str | None = None, state: str = "st8") -> str:
    """The browser part: authorize, follow nothing, read the code from the redirect."""
    params = {"client_id": gh.client_id, "redirect_uri": CALLBACK, "state": state}
    if login:
        params["login"] = login
    answer = httpx.get(gh.url + "/login/oauth/authorize", params=params)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    query = parse_qs(target.query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(gh, code: str, **extra) -> dict:
    data = {"client_id": gh.client_id, "client_secret": gh.client_secret, "code": code,
            "redirect_uri": CALLBACK, **extra}
    return httpx.post(gh.url + "/login/oauth/access_token", data=data,
                      headers={"Accept": "application/json"}).json()


def user_client(gh, token: str) -> GitHub:
    return GitHub(TokenAuthStrategy(token), base_url=gh.url, cache_strategy=MemCacheStrategy())


def test_the_signed_in_user_gets_a_token_that_reads_what_they_can(gh):
    gh.create_repo("octo/secret", files={"a": "1"}, private=True, collaborators={"rev": "read"})
    gh.sign_in_as("outsider")
    answer = exchange(gh, sign_in(gh))
    assert answer["token_type"] == "bearer" and answer["access_token"].startswith("ghu_")
    outsider = user_client(gh, answer["access_token"])
    assert outsider.rest.users.get_authenticated().parsed_data.login == "outsider"
    assert outsider.rest.repos.get("octo", "app").parsed_data.permissions.push is False
    with pytest.raises(RequestFailed) as hidden:
        outsider.rest.repos.get("octo", "secret")
    assert hidden.value.response.status_code == 404
    installations = outsider.rest.apps.list_installations_for_authenticated_user().parsed_data
    repos = outsider.rest.apps.list_installation_repos_for_authenticated_user(
        installations.installations[0].id).parsed_data
    assert [r.full_name for r in repos.repositories] == [REPO]

    # The `login` hint picks a known user; a collaborator of the private repository sees it.
    rev = user_client(gh, exchange(gh, sign_in(gh, login="rev"))["access_token"])
    assert rev.rest.users.get_authenticated().parsed_data.login == "rev"
    secret = rev.rest.repos.get("octo", "secret").parsed_data
    assert (secret.private, secret.permissions.pull, secret.permissions.push) == (True, True, False)
    listed = rev.rest.apps.list_installation_repos_for_authenticated_user(gh.installation_id)
    assert {r.full_name for r in listed.parsed_data.repositories} == {REPO, "octo/secret"}


def test_a_code_works_once_and_refresh_tokens_renew(gh):
    code = sign_in(gh)
    first = exchange(gh, code)
    assert exchange(gh, code)["error"] == "bad_verification_code"
    renewed = exchange(gh, "", grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert renewed["access_token"] != first["access_token"]
    again = exchange(gh, "", grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again["error"] == "bad_refresh_token"


def test_refusals(gh, credentials):
    code = sign_in(gh)
    wrong = exchange(gh, code, client_secret="nope")
    assert wrong["error"] == "incorrect_client_credentials"
    # Form-encoded by default, as GitHub answers.
    plain = httpx.post(gh.url + "/login/oauth/access_token",
                       data={"client_id": gh.client_id, "client_secret": gh.client_secret,
                             "code": "bogus"})
    assert parse_qs(plain.text)["error"] == ["bad_verification_code"]
    assert httpx.get(gh.url + "/login/oauth/authorize",
                     params={"client_id": "Iv1.other", "redirect_uri": CALLBACK}).status_code == 404
    assert httpx.get(gh.url + "/login/oauth/authorize",
                     params={"client_id": gh.client_id, "redirect_uri": "javascript:x"}).status_code == 400
    assert httpx.get(gh.url + "/user").status_code == 401
    assert httpx.get(gh.url + "/user", headers={"Authorization": "token ghu_forged"}).status_code == 401

    inst = installation_token(gh, credentials.private_key_pem)
    assert httpx.get(gh.url + "/user", headers={"Authorization": f"token {inst}"}).status_code == 403
