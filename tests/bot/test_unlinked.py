"""A PR with no workflow session still gets `Agent OS`, so a required check never deadlocks."""

from __future__ import annotations

from botkit import REPO

from agent_os.globs import matches, matching


def test_a_pr_without_a_session_passes(env):
    pr = env.gh.open_pull_request(REPO, author="dependabot", files={"requirements.txt": "httpx==1\n"})
    env.drain()
    assert env.checks(pr.head_sha) == {"Agent OS": ("completed", "success")}
    run = env.gh.check_runs(REPO, pr.head_sha)["Agent OS"]
    assert run.output["title"] == "No workflow session linked"


def test_require_session_for_blocks_a_pr_touching_those_paths_until_a_session_is_linked(env):
    env.gh.set_files(REPO, {".agent-os/config.yaml": 'require_session_for: ["src/**"]\n'})
    docs = env.gh.open_pull_request(REPO, author="dev", files={"docs/a.md": "# A\n"}, head_ref="docs")
    code = env.gh.open_pull_request(REPO, author="dev", files={"src/app/users.py": "x = 1\n"}, head_ref="code")
    env.drain()
    assert env.checks(docs.head_sha) == {"Agent OS": ("completed", "success")}
    assert env.checks(code.head_sha) == {"Agent OS": ("completed", "action_required")}
    summary = env.gh.check_runs(REPO, code.head_sha)["Agent OS"].output["summary"]
    assert "`src/app/users.py`" in summary and "Agent-OS-Session:" in summary

    # Linking a session replaces the blocking check with the session's own.
    sid = env.engine.start("spec_creation_v1", "users").session.session_id
    env.engine.link_pull_request(sid, REPO, code.number, source="mcp")
    env.drain()
    assert env.checks(code.head_sha)["Agent OS"] == ("in_progress", None)


def test_a_pr_cannot_lift_its_own_requirement(env):
    env.gh.set_files(REPO, {".agent-os/config.yaml": 'require_session_for: ["src/**"]\n'})
    pr = env.gh.open_pull_request(REPO, author="dev", files={
        "src/a.py": "x = 1\n", ".agent-os/config.yaml": "require_session_for: []\n"})
    env.drain()
    assert env.checks(pr.head_sha) == {"Agent OS": ("completed", "action_required")}


def test_path_patterns():
    assert matches("src/**", "src/a/b.py") and not matches("src/**", "lib/src/a.py")
    assert matches("*.py", "deep/down/x.py") and not matches("src/*.py", "src/x/a.py")
    assert matches("docs/", "docs/a/b.md") and matches("src/**/test_*.py", "src/test_a.py")
    assert matching(["src/**", "*.sql"], ["README.md", "src/a.py", "db/1.sql"]) == ["src/a.py", "db/1.sql"]
