"""The shipped library indexed with the real model: known questions land on their documents."""

from __future__ import annotations

import pytest

from agent_os.standards import StandardsIndex

pytestmark = pytest.mark.model

KNOWN = [
    ("race conditions async code", {"concurrency/race-conditions.md", "concurrency/async-pitfalls.md"}),
    ("two requests update the same row and one change is lost", {"concurrency/race-conditions.md"}),
    ("how long should an access token live and how do refresh tokens rotate",
     {"security/authentication-tokens.md"}),
    ("where do I keep the database password", {"security/secrets.md"}),
    ("wait longer between each attempt when a call fails", {"failure-handling/retries-backoff.md"}),
    ("return the next page of a large list with a cursor", {"api/pagination.md"}),
    ("client sends the same payment request twice", {"api/idempotency.md"}),
    ("add a column to a big table without downtime", {"data/schema-migrations.md"}),
]


@pytest.mark.parametrize(("query", "expected"), KNOWN)
def test_known_queries_land_on_their_documents(real_index: StandardsIndex, query, expected):
    response = real_index.search(query, n_results=3)
    assert {r.path for r in response.results} & expected, [
        (r.path, r.heading) for r in response.results
    ]


def test_vector_scores_are_cosine_similarities(real_index: StandardsIndex):
    response = real_index.search("deadlock lock ordering", mode="vector", n_results=5)
    scores = [r.score for r in response.results]
    assert all(0.0 < s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert response.results[0].path == "concurrency/deadlocks.md"


def test_paraphrase_found_by_meaning_not_words(real_index: StandardsIndex):
    # No word of the query is in the answer's heading; only the vector retriever can help.
    response = real_index.search("program hangs forever, each worker waiting on the other")
    assert response.results[0].path == "concurrency/deadlocks.md"
    assert response.results[0].vector_rank is not None
