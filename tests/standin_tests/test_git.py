"""The stand-in plays git for real: clones push over HTTP, the REST API reads the git data."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestFailed

from .helpers import REPO, signing_key

GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def github(gh, credentials) -> GitHub:
    return GitHub(
        AppInstallationAuthStrategy(credentials.app_id, signing_key(credentials.private_key_pem),
                                    gh.installation_id),
        base_url=gh.url,
        cache_strategy=MemCacheStrategy(),
    )


@pytest.fixture
def clone(gh, tmp_path) -> Path:
    target = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", gh.clone_url(REPO), str(target))
    return target


def commit_file(clone: Path, path: str, text: str, message: str = "change") -> str:
    (clone / path).parent.mkdir(parents=True, exist_ok=True)
    (clone / path).write_text(text)
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "-m", message)
    return git(clone, "rev-parse", "HEAD")


def test_a_clone_holds_what_the_python_api_committed(gh, clone):
    assert (clone / "README.md").read_text() == "# app\n"
    sha = gh.set_files(REPO, {"docs/a.md": "A\n", "README.md": None})
    git(clone, "pull", "--quiet")
    assert git(clone, "rev-parse", "HEAD") == sha
    assert (clone / "docs/a.md").read_text() == "A\n" and not (clone / "README.md").exists()


def test_a_pushed_branch_opens_a_pr_and_a_push_to_it_sends_synchronize(gh, clone, received):
    git(clone, "checkout", "--quiet", "-b", "spec")
    first = commit_file(clone, "specs/srd.md", "# Requirements\n")
    git(clone, "push", "--quiet", "origin", "spec")
    assert gh.state.repo(REPO).branches["spec"] == first
    assert received == []  # no PR yet: nothing to tell the App

    pr = gh.open_pull_request(REPO, author="dev", head_ref="spec")
    assert pr.head_sha == first
    assert gh.last_delivery.payload["pull_request"]["head"]["sha"] == first

    second = commit_file(clone, "specs/srd.md", "# Requirements\n- R1\n")
    git(clone, "push", "--quiet", "origin", "spec")
    # The webhook went out before `git push` returned.
    payload = gh.last_delivery.payload
    assert (payload["action"], payload["before"], payload["after"]) == ("synchronize", first, second)
    assert payload["pull_request"]["head"]["sha"] == second == gh.pull(REPO, pr.number).head_sha
    assert json.loads(received[-1].content)["after"] == second
    assert received[-1].headers["X-GitHub-Event"] == "pull_request"
    # A push to a branch no PR uses sends nothing.
    count = len(gh.deliveries)
    git(clone, "push", "--quiet", "origin", "spec:other")
    assert len(gh.deliveries) == count


def test_rest_reads_contents_trees_blobs_commits_and_compare_from_git(gh, github, clone):
    base = git(clone, "rev-parse", "HEAD")
    git(clone, "checkout", "--quiet", "-b", "spec")
    head = commit_file(clone, "specs/x/srd.md", "one\ntwo\n", "Add the SRD")
    git(clone, "push", "--quiet", "origin", "spec")
    srd_blob = git(clone, "rev-parse", "HEAD:specs/x/srd.md")

    content = github.rest.repos.get_content("octo", "app", "specs/x/srd.md", ref="spec").parsed_data
    assert content.sha == srd_blob and base64.b64decode(content.content) == b"one\ntwo\n"
    listing = github.rest.repos.get_content("octo", "app", "specs", ref=head).parsed_data
    assert [(e.name, e.type, e.sha) for e in listing] == [
        ("x", "dir", git(clone, "rev-parse", "HEAD:specs/x"))
    ]

    tree = github.rest.git.get_tree("octo", "app", head, recursive="1").parsed_data
    assert tree.sha == git(clone, "rev-parse", "HEAD^{tree}")
    blobs = {e.path: e.sha for e in tree.tree if e.type == "blob"}
    assert blobs["specs/x/srd.md"] == srd_blob and ".agent-os/config.yaml" in blobs
    top = github.rest.git.get_tree("octo", "app", "spec").parsed_data
    assert {e.path for e in top.tree} == {".agent-os", "README.md", "specs"}
    assert not gh.requests("GET", "/repos/*/git/blobs/*")  # trees name blobs, nothing downloaded

    blob = github.rest.git.get_blob("octo", "app", srd_blob).parsed_data
    assert base64.b64decode(blob.content) == b"one\ntwo\n" and blob.size == 8
    assert len(gh.requests("GET", "/repos/*/git/blobs/*")) == 1

    commit = github.rest.repos.get_commit("octo", "app", "spec").parsed_data
    assert commit.sha == head and commit.commit.message == "Add the SRD"
    assert [p.sha for p in commit.parents] == [base]
    assert [(f.filename, f.status, f.additions) for f in commit.files] == [
        ("specs/x/srd.md", "added", 2)
    ]

    compared = github.rest.repos.compare_commits("octo", "app", "main...spec").parsed_data
    assert (compared.status, compared.ahead_by, compared.behind_by) == ("ahead", 1, 0)
    assert [c.sha for c in compared.commits] == [head]
    assert compared.merge_base_commit.sha == base
    assert [f.filename for f in compared.files] == ["specs/x/srd.md"]


@pytest.mark.parametrize(
    "path",
    [
        "/repos/octo/app/git/blobs/not-a-sha",
        "/repos/octo/app/git/blobs/" + "0" * 40,
        "/repos/octo/app/git/trees/--output=x",
        "/repos/octo/app/git/trees/" + "1" * 40,
        "/repos/octo/app/contents/../../etc/passwd",
        "/repos/octo/app/compare/main..nope",
        "/repos/octo/other/git/trees/main",
    ],
)
def test_unknown_or_hostile_git_reads_answer_404(gh, github, path):
    with pytest.raises(RequestFailed) as refused:
        github.request("GET", path)
    assert refused.value.response.status_code == 404


def test_unknown_commit_answers_422_and_git_refuses_unknown_repos(gh, github, tmp_path):
    with pytest.raises(RequestFailed) as refused:
        github.rest.repos.get_commit("octo", "app", "no-such-branch")
    assert refused.value.response.status_code == 422
    result = subprocess.run(["git", "clone", f"{gh.url}/octo/nope.git", str(tmp_path / "x")],
                            env=GIT_ENV, capture_output=True, text=True)
    assert result.returncode != 0 and "not found" in result.stderr.lower()


def test_a_pr_opened_over_rest_from_a_pushed_branch(gh, github, clone):
    git(clone, "checkout", "--quiet", "-b", "topic")
    head = commit_file(clone, "a.txt", "a\n")
    git(clone, "push", "--quiet", "origin", "topic")
    created = github.rest.pulls.create(
        "octo", "app", data={"title": "Topic", "head": "topic", "base": "main"}
    ).parsed_data
    assert created.head.sha == head and created.user.login == gh.bot_login
    assert gh.last_delivery.payload["action"] == "opened"
    with pytest.raises(RequestFailed) as again:
        github.rest.pulls.create("octo", "app", data={"title": "T", "head": "topic", "base": "main"})
    assert again.value.response.status_code == 422
    listed = github.rest.pulls.list("octo", "app", head="octo:topic").parsed_data
    assert [p.number for p in listed] == [created.number]
