"""The index with the hashing test double: sync, incremental updates, overrides, recovery,
filters, bad input, and concurrent searches."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from agent_os.errors import InputError
from agent_os.project import Project
from agent_os.standards import HashEmbedder, SearchResponse, StandardsIndex


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def paths(response: SearchResponse) -> list[str]:
    return [r.path for r in response.results]


def touch_later(path: Path, text: str) -> None:
    """Rewrite `path`, making sure its mtime moves even on coarse clocks."""
    st = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_sync_indexes_every_standard_but_not_readme(index: StandardsIndex):
    report = index.sync()
    assert (report.documents, report.added, report.removed) == (3, 3, 0)
    assert report.chunks == report.chunks_embedded > 3
    assert sorted(d.path for d in index.documents()) == [
        "concurrency/race-conditions.md",
        "failure-handling/retries-backoff.md",
        "security/authentication-tokens.md",
    ]
    again = index.sync()
    assert (again.unchanged, again.chunks_embedded, again.changed) == (3, 0, False)


def test_result_cites_path_heading_lines_and_text(index: StandardsIndex, corpus: Path):
    index.sync()
    response = index.search("refresh tokens rotate reuse revokes family", n_results=1)
    (hit,) = response.results
    assert hit.path == "security/authentication-tokens.md"
    assert hit.heading == "Authentication and tokens > Rules"
    lines = (corpus / hit.path).read_text(encoding="utf-8").splitlines()
    assert "\n".join(lines[hit.start_line - 1 : hit.end_line]).strip() == hit.text
    assert hit.retriever == "both" and hit.vector_rank == 1 and hit.keyword_rank == 1
    assert hit.tags == ["security", "jwt", "tokens"]
    assert response.mode == "hybrid" and not response.refreshed


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
def test_every_mode_ranks_best_first(index: StandardsIndex, mode: str):
    index.sync()
    response = index.search("exponential backoff jitter transient failures", n_results=5, mode=mode)
    assert response.results[0].path == "failure-handling/retries-backoff.md"
    scores = [r.score for r in response.results]
    assert scores == sorted(scores, reverse=True)
    if mode != "hybrid":
        assert {r.retriever for r in response.results} == {mode}


def test_first_search_builds_a_missing_index(index: StandardsIndex):
    response = index.search("race condition")
    assert response.refreshed
    assert any("Built the standards index" in n for n in response.notices)
    assert response.results[0].path == "concurrency/race-conditions.md"


def test_changed_file_is_reembedded_and_only_it(index, embedder, corpus: Path, texts):
    index.sync()
    embedder.calls.clear()
    target = corpus / "security" / "authentication-tokens.md"
    touch_later(target, texts["jwt"].replace("fifteen minutes", "five minutes, never a day"))
    report = index.sync()
    assert (report.updated, report.unchanged) == (1, 2)
    # Only the edited passage is embedded again; the document's other chunks are reused.
    assert report.chunks_embedded == 1 == len(embedder.calls)
    assert "five minutes, never a day" in embedder.calls[0]
    assert report.chunks_reused >= 2
    hit = index.search("never a day", mode="keyword", n_results=1).results[0]
    assert "five minutes, never a day" in hit.text


def test_search_notices_a_change_on_disk_and_refreshes_first(index, corpus: Path):
    index.sync()
    touch_later(
        corpus / "failure-handling" / "retries-backoff.md",
        "# Retries\n\n## Rules\nBulkheads isolate pools per dependency.\n",
    )
    response = index.search("bulkheads isolate pools", mode="keyword")
    assert response.refreshed
    assert any("Re-indexed" in n for n in response.notices)
    assert response.results[0].path == "failure-handling/retries-backoff.md"
    assert not index.search("bulkheads isolate pools", mode="keyword").refreshed


def test_deleted_file_disappears_from_results(index, corpus: Path):
    index.sync()
    (corpus / "security" / "authentication-tokens.md").unlink()
    response = index.search("refresh tokens", n_results=10)
    assert response.refreshed
    assert "security/authentication-tokens.md" not in paths(response)
    assert index.sync().documents == 2


def test_later_root_overrides_same_path(tmp_path: Path, corpus: Path):
    team = tmp_path / "team"
    write(team / "security" / "authentication-tokens.md", "# Team tokens\n\nWe use opaque session ids.\n")
    project = Project.open(tmp_path, index=tmp_path / "i.db", standards=[corpus, team])
    with StandardsIndex.open(project, HashEmbedder()) as idx:
        assert idx.sync().documents == 3
        docs = {d.path: d for d in idx.documents()}
        assert docs["security/authentication-tokens.md"].root == "team"
        assert docs["security/authentication-tokens.md"].title == "Team tokens"
        assert docs["concurrency/race-conditions.md"].root == "standards"
        hit = idx.search("opaque session ids", n_results=1).results[0]
        assert (hit.root, hit.path) == ("team", "security/authentication-tokens.md")
        # Remove the team's file: the shipped one comes back.
        (team / "security" / "authentication-tokens.md").unlink()
        idx.sync()
        docs = {d.path: d for d in idx.documents()}
        assert docs["security/authentication-tokens.md"].root == "standards"


def test_non_utf8_file_is_skipped_with_a_warning(index, corpus: Path):
    (corpus / "security" / "legacy.md").write_bytes(b"# Legacy\n\ncaf\xe9 latin-1 text\n")
    report = index.sync()
    assert report.documents == 3
    assert any("security/legacy.md" in w and "UTF-8" in w for w in report.warnings)
    response = index.search("legacy latin text")
    assert "security/legacy.md" not in paths(response)


def test_corrupt_index_file_is_rebuilt_with_a_notice(project: Project):
    project.index_path.write_bytes(b"this is not a database" * 100)
    with StandardsIndex.open(project, HashEmbedder()) as idx:
        report = idx.sync()
        assert report.rebuilt and report.documents == 3
        assert any("damaged" in n for n in report.notices)
        assert idx.search("race").results


def test_other_embedder_means_full_rebuild(project: Project):
    with StandardsIndex.open(project, HashEmbedder(dim=64)) as idx:
        idx.sync()
    with StandardsIndex.open(project, HashEmbedder(dim=128)) as idx:
        report = idx.sync()
        assert report.rebuilt and report.chunks_embedded == report.chunks
        assert any("hash-bow-64" in n and "hash-bow-128" in n for n in report.notices)


def test_filters_by_folder_and_tag(index: StandardsIndex):
    index.sync()
    assert set(paths(index.search("rules", n_results=20, folder="security"))) == {
        "security/authentication-tokens.md"
    }
    assert set(paths(index.search("rules", n_results=20, folder="/security/"))) == {
        "security/authentication-tokens.md"
    }
    assert set(paths(index.search("rules", n_results=20, tag="Threads"))) == {
        "concurrency/race-conditions.md"
    }
    with pytest.raises(InputError, match="No standards under folder 'nope'") as err:
        index.search("rules", folder="nope")
    assert "security" in err.value.hint
    with pytest.raises(InputError, match="No standards tagged 'jwt' under 'concurrency'"):
        index.search("rules", folder="concurrency", tag="jwt")
    with pytest.raises(InputError):
        index.search("rules", folder="../etc")


@pytest.mark.parametrize(
    ("query", "kwargs", "message"),
    [
        ("", {}, "empty"),
        ("   \n\t", {}, "empty"),
        ("x" * 2001, {}, "limit is 2000"),
        ("race", {"n_results": 0}, "between 1 and 20"),
        ("race", {"n_results": 21}, "between 1 and 20"),
        ("race", {"n_results": True}, "between 1 and 20"),
        ("race", {"mode": "fuzzy"}, "Unknown search mode"),
    ],
)
def test_bad_input_is_a_clear_input_error(index, query, kwargs, message):
    with pytest.raises(InputError, match=message):
        index.search(query, **kwargs)


@pytest.mark.parametrize(
    "query", ['"unbalanced', "NEAR(race locks)", "title:race OR", "* AND -", "?!", "race*"]
)
def test_fts_syntax_in_queries_never_errors(index, query):
    response = index.search(query, mode="keyword")
    assert isinstance(response.results, list)


def test_concurrent_searches_from_threads(index: StandardsIndex):
    index.sync()
    errors: list[BaseException] = []
    found: list[str] = []

    def worker() -> None:
        try:
            for _ in range(20):
                found.append(index.search("check-then-act race", n_results=1).results[0].path)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(found) == {"concurrency/race-conditions.md"} and len(found) == 80


def test_long_passages_are_shortened_in_results(tmp_path: Path):
    root = tmp_path / "lib"
    write(root / "big.md", "# Big\n\n" + "\n".join(f"line {i} " + "word " * 20 for i in range(60)))
    project = Project.open(tmp_path, index=tmp_path / "i.db", standards=[root])
    with StandardsIndex.open(project, HashEmbedder()) as idx:
        hits = idx.search("line word", n_results=20).results
        assert hits and all(len(h.text) <= 1000 for h in hits)
        assert any(h.text.endswith("…") for h in hits)


def test_missing_explicit_root_is_an_input_error(tmp_path: Path):
    project = Project.open(tmp_path, standards=[tmp_path / "nowhere"])
    with pytest.raises(InputError, match="does not exist"):
        StandardsIndex.open(project, HashEmbedder())


def test_one_document_cannot_fill_the_whole_answer(tmp_path: Path):
    root = tmp_path / "lib"
    sections = "\n\n".join(f"## Cache part {i}\nCache invalidation rule number {i}." for i in range(6))
    write(root / "caching.md", f"# Caching\n\n{sections}\n")
    write(root / "cdn.md", "# CDN\n\nEdge cache headers for static files.\n")
    project = Project.open(tmp_path, index=tmp_path / "i.db", standards=[root])
    with StandardsIndex.open(project, HashEmbedder()) as idx:
        top3 = paths(idx.search("cache invalidation rule", n_results=3, mode="keyword"))
        assert top3 == ["caching.md", "caching.md", "cdn.md"]
        # With nothing else left to show, the document's other passages come back.
        assert paths(idx.search("cache invalidation rule", n_results=5, mode="keyword")).count(
            "caching.md"
        ) == 4


def test_a_symlink_out_of_the_root_is_not_indexed(tmp_path):
    from agent_os.project import Project
    from agent_os.standards import HashEmbedder, StandardsIndex

    outside = tmp_path / "secrets"
    outside.mkdir()
    (outside / "keys.md").write_text("# Keys\n\nprod password hunter2\n")
    root = tmp_path / "project" / "std"
    root.mkdir(parents=True)
    (root / "ok.md").write_text("# Fine\n\nA real standard about retries.\n")
    (root / "leak.md").symlink_to(outside / "keys.md")
    (root / "leakdir").symlink_to(outside)
    project = Project.open(tmp_path / "project", standards=[str(root)])
    with StandardsIndex.open(project, HashEmbedder()) as index:
        index.sync()
        assert [d.path for d in index.documents()] == ["ok.md"]
        assert all("hunter2" not in r.text for r in index.search("prod password", mode="keyword").results)
