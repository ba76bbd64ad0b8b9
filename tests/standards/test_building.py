"""Searching while the index builds: keyword results at once, marked partial; vectors
joining as they are embedded; an interrupted build resumes where it stopped."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from agent_os.project import Project
from agent_os.standards import HashEmbedder, StandardsIndex


class GatedEmbedder(HashEmbedder):
    """The hashing double, but embedding off the test's own thread (a build's) waits until
    the test opens the gate; queries from the test's thread answer at once."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.gate = threading.Event()
        self.fail = False

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.fail:
            raise RuntimeError("the model crashed")
        if threading.current_thread() is threading.main_thread():
            return super().embed(texts)
        self.started.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().embed(texts)


@pytest.fixture
def gated(project: Project):
    embedder = GatedEmbedder()
    idx = StandardsIndex.open(project, embedder)
    yield idx, embedder
    embedder.gate.set()
    idx.close()


def test_a_search_during_a_build_answers_at_once_from_keywords_marked_partial(gated):
    index, embedder = gated
    build = threading.Thread(target=index.sync)
    build.start()
    assert embedder.started.wait(30)  # the text is in; the embedding is stuck at the gate

    response = index.search("refresh tokens rotate", wait=False)
    assert response.partial
    assert response.results and response.results[0].path == "security/authentication-tokens.md"
    assert response.results[0].retriever == "keyword"
    assert any("still being built" in n and "0 of" in n for n in response.notices)
    status = index.build_status()
    assert status.building and not status.complete and status.embedded == 0

    embedder.gate.set()
    build.join(30)
    response = index.search("refresh tokens rotate", wait=False)
    assert not response.partial and not any("still being built" in n for n in response.notices)
    assert response.results[0].retriever == "both"
    assert index.build_status().complete


def test_the_first_search_of_a_fresh_index_does_not_wait_for_the_embedding(gated):
    index, embedder = gated
    response = index.search("read-modify-write race", wait=False)
    assert response.partial and response.refreshed
    assert response.results[0].path == "concurrency/race-conditions.md"
    assert any("Built the standards index" in n for n in response.notices)
    embedder.gate.set()
    # A waiting search (the CLI's) waits for the background build, then answers in full.
    response = index.search("read-modify-write race")
    assert not response.partial and response.results[0].vector_rank is not None


def test_a_keyword_search_is_never_partial(gated):
    index, _ = gated
    response = index.search("jitter", mode="keyword", wait=False)
    assert not response.partial
    assert response.results[0].path == "failure-handling/retries-backoff.md"


def test_an_interrupted_build_resumes_with_the_chunks_still_waiting(project: Project):
    embedder = GatedEmbedder()
    embedder.fail = True
    with StandardsIndex.open(project, embedder) as index, pytest.raises(RuntimeError):
        index.sync()
    counting = HashEmbedder()
    with StandardsIndex.open(project, counting) as index:
        status = index.build_status()
        assert status.chunks > 0 and status.embedded == 0
        response = index.search("jitter backoff")
        assert not response.partial and index.build_status().complete
        assert response.results[0].path == "failure-handling/retries-backoff.md"
