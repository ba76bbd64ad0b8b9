"""The commit file source: a repository's files at a commit, through trees and blobs, cached by SHA."""

from __future__ import annotations

import pytest
from team.gitfake import GitAPI, commit, init_repo

from agent_os.files import FileMissing, FileSource, PathOutside, blob_sha
from bot.commit_files import CommitFiles, ObjectCache


@pytest.fixture
def repo(tmp_path):
    return init_repo(tmp_path / "repo")


def test_reads_files_and_folders_at_a_commit(repo):
    sha = commit(repo, {".agent-os/specs/s/srd.md": "# SRD\n", "src/app.py": "x = 1\n"})
    commit(repo, {".agent-os/specs/s/srd.md": "# Changed later\n"})
    files = CommitFiles(GitAPI(repo), "acme/webapp", sha, ObjectCache())
    assert isinstance(files, FileSource)
    assert files.read_text(".agent-os/specs/s/srd.md") == "# SRD\n"
    assert files.is_file("src/app.py") and files.is_dir("src") and not files.is_file("src")
    assert files.list_dir(".agent-os/specs/s") == ["srd.md"] and files.list_dir("") == [".agent-os", "src"]
    assert files.size("src/app.py") == 6 and files.blob_sha("src/app.py") == blob_sha(b"x = 1\n")
    assert not files.exists("nope.md") and not files.exists("src/app.py/x")
    with pytest.raises(FileMissing):
        files.read_bytes("src")
    with pytest.raises(PathOutside):
        files.exists("../etc/passwd")


def test_unchanged_files_are_never_downloaded_again(repo):
    cache = ObjectCache()
    first = commit(repo, {".agent-os/specs/s/srd.md": "# SRD\n", "src/app.py": "x = 1\n"})
    api = GitAPI(repo)
    CommitFiles(api, "acme/webapp", first, cache).read_text(".agent-os/specs/s/srd.md")
    second = commit(repo, {"src/app.py": "x = 2\n"})
    api.requests.clear()
    again = CommitFiles(api, "acme/webapp", second, cache)
    assert again.read_text(".agent-os/specs/s/srd.md") == "# SRD\n"
    # Only the new root tree: `.agent-os` is the same tree object, its blobs already held.
    assert api.requests == [f"/repos/acme/webapp/git/trees/{second}"] and again.downloaded == []


def test_a_snapshot_fills_the_cache(repo):
    cache = ObjectCache()
    sha = commit(repo, {"a.md": "hello\n"})
    cache.put_blob(b"hello\n")
    api = GitAPI(repo)
    assert CommitFiles(api, "acme/webapp", sha, cache).read_text("a.md") == "hello\n"
    assert not any("/blobs/" in r for r in api.requests)
