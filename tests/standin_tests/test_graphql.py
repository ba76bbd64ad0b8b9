"""`POST /graphql` on the stand-in: the bot's review-thread query answered as GitHub answers it,
and what it cannot answer refused in GitHub's error shapes (each answer checked by the
conformance checker too)."""

from __future__ import annotations

import httpx
import pytest

from bot.threads import QUERY, parse_page

from .conformance import Checker
from .helpers import REPO, installation_token


@pytest.fixture
def ask(gh, credentials):
    token = installation_token(gh, credentials.private_key_pem)
    checker = Checker()

    def post(query: str, variables: dict | None = None, *, auth: bool = True) -> httpx.Response:
        body = {"query": query, **({"variables": variables} if variables is not None else {})}
        response = httpx.post(f"{gh.url}/graphql", json=body,
                              headers={"Authorization": f"bearer {token}"} if auth else {})
        assert checker.request("POST", "/graphql", response.status_code, body, response.json()) == []
        return response

    return post


def threads_of(gh, number: int) -> tuple[int, int]:
    pr = gh.open_pull_request(REPO, author="dev", files={"docs/spec.md": "spec\n"}, head_ref=f"f{number}")
    first = gh.review_comment(REPO, pr.number, "rev", "docs/spec.md", 1, "Why?")
    gh.review_comment(REPO, pr.number, "dev", "docs/spec.md", 1, "Because.", in_reply_to=first.id)
    second = gh.review_comment(REPO, pr.number, "rev", "docs/spec.md", 1, "And this?")
    gh.resolve_thread(REPO, pr.number, second.thread_id, sender="dev")
    return pr.number, first.id


def test_the_bots_query_reads_each_thread_its_first_comment_and_whether_it_is_resolved(gh, ask):
    number, first_id = threads_of(gh, 1)
    owner, name = REPO.split("/")
    answer = ask(QUERY, {"owner": owner, "name": name, "number": number, "after": None}).json()
    assert "errors" not in answer
    states, cursor = parse_page(answer["data"])
    assert cursor is None
    assert [(s.resolved, [c.body for c in s.thread.comments]) for s in states] == [
        (False, ["Why?"]), (True, ["And this?"])]
    root = states[0].thread.comments[0]
    assert (root.id, root.path, root.line, root.user.login) == (first_id, "docs/spec.md", 1, "rev")
    assert root.html_url.endswith(f"/pull/{number}#discussion_r{first_id}")


def test_threads_come_in_pages_with_cursors(gh, ask):
    number, _ = threads_of(gh, 2)
    query = """query($n: Int!, $after: String) { repository(owner: "octo", name: "app") {
      pullRequest(number: $n) { reviewThreads(first: 1, after: $after) {
        totalCount nodes { isResolved } pageInfo { hasNextPage endCursor } } } } }"""
    page1 = ask(query, {"n": number})
    threads = page1.json()["data"]["repository"]["pullRequest"]["reviewThreads"]
    assert threads["totalCount"] == 2 and threads["nodes"] == [{"isResolved": False}]
    assert threads["pageInfo"]["hasNextPage"] is True
    page2 = ask(query, {"n": number, "after": threads["pageInfo"]["endCursor"]})
    threads = page2.json()["data"]["repository"]["pullRequest"]["reviewThreads"]
    assert threads["nodes"] == [{"isResolved": True}] and threads["pageInfo"]["hasNextPage"] is False


def test_a_field_the_stand_in_does_not_know_is_refused_as_github_refuses_an_unknown_field(gh, ask):
    answer = ask('{ repository(owner: "octo", name: "app") { stargazerCount } }').json()
    assert "data" not in answer
    (error,) = answer["errors"]
    assert error["message"] == "Field 'stargazerCount' doesn't exist on type 'Repository'"
    assert error["extensions"] == {"code": "undefinedField", "typeName": "Repository",
                                   "fieldName": "stargazerCount"}
    assert error["path"] == ["query", "repository", "stargazerCount"]
    assert error["locations"] == [{"line": 1, "column": 44}]


@pytest.mark.parametrize("query, message", [
    ("{ repository(owner: \"octo\", name: \"app\") { ...Parts } }", "Parse error on \"...\""),
    ("mutation { resolveReviewThread(input: {threadId: \"x\"}) { thread { id } } }", "Parse error on \"mutation\""),
    ("{ repository(owner: \"octo\", name: \"app\", private: true) { name } }",
     "Field 'repository' doesn't accept argument 'private'"),
    ("{ repository(owner: \"octo\", name: \"app\") }", "Field must have selections"),
    ("query { repository(owner: $o, name: \"app\") { name } }", "Variable $o is used but not declared"),
])
def test_what_the_stand_in_cannot_answer_is_an_error_not_a_partial_answer(gh, ask, query, message):
    answer = ask(query).json()
    assert "data" not in answer and answer["errors"][0]["message"].startswith(message)


def test_a_pull_request_or_repository_that_is_not_there_is_null_with_not_found(gh, ask):
    answer = ask('{ repository(owner: "octo", name: "app") { pullRequest(number: 999) { id } } }').json()
    assert answer["data"] == {"repository": {"pullRequest": None}}
    assert answer["errors"][0]["type"] == "NOT_FOUND"
    assert answer["errors"][0]["message"] == "Could not resolve to a PullRequest with the number of 999."
    answer = ask('{ repository(owner: "someone", name: "else") { name } }').json()
    assert answer["data"] == {"repository": None} and answer["errors"][0]["path"] == ["repository"]


def test_paging_needs_a_bound_of_at_most_a_hundred(gh, ask):
    number, _ = threads_of(gh, 3)
    for bound, code in (("", "MISSING_PAGINATION_BOUNDARIES"), ("(first: 101)", "EXCESSIVE_PAGINATION")):
        answer = ask(f'{{ repository(owner: "octo", name: "app") {{ pullRequest(number: {number}) {{ '
                     f'reviewThreads{bound} {{ totalCount }} }} }} }}').json()
        assert answer["errors"][0]["type"] == code


def test_without_a_token_graphql_answers_401(gh, ask):
    response = ask("{ repository(owner: \"octo\", name: \"app\") { name } }", auth=False)
    assert response.status_code == 401
    assert response.json()["message"] == "This endpoint requires you to be authenticated."
