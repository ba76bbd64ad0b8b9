"""The PR is the truth at merge time: completed phases are re-verified at every head commit,
through git trees and blobs, downloading only what changed (over real HTTP and real git)."""

from __future__ import annotations

import re

from botkit import REPO, pr_files

from agent_os_cli.demo import demo_evidence, write_demo_project, write_spec_files

REQUIREMENTS = "Agent OS / 1 Requirements"


def two_phases_done(env) -> tuple[str, str]:
    sid = env.engine.start("spec_creation_v1", "auth").session.session_id
    spec_dir = env.engine.state(sid).spec_dir
    write_demo_project(env.engine.project.root)
    for n in (0, 1):
        write_spec_files(env.engine.project.root / spec_dir, n)
        env.engine.complete_phase(sid, n, demo_evidence(n))
    return sid, spec_dir


def test_a_push_that_breaks_a_checked_file_turns_its_phase_red_and_the_fix_green(env):
    sid, spec_dir = two_phases_done(env)
    files = pr_files(env.engine, sid)
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", files=files)
    env.drain()
    assert env.checks(pr.head_sha)[REQUIREMENTS] == ("completed", "success")
    run = env.gh.check_runs(REPO, pr.head_sha)[REQUIREMENTS]
    assert f"Verified at commit `{pr.head_sha[:7]}`" in run.output["summary"]

    srd = f"{spec_dir}/srd.md"
    broken = env.gh.push(REPO, pr.number, {srd: re.sub(r"(?m)^- \*\*FR-[5-8]\*\*.*\n", "", files[srd])})
    env.drain()
    assert env.checks(broken)[REQUIREMENTS] == ("completed", "failure")
    assert env.checks(broken)["Agent OS"] == ("completed", "failure")
    run = env.gh.check_runs(REPO, broken)[REQUIREMENTS]
    assert f"Verified at commit `{broken[:7]}`" in run.output["summary"]
    assert "functional_requirements" in run.output["text"] and "8 functional requirements" in run.output["text"]

    fixed = env.gh.push(REPO, pr.number, {srd: files[srd]})
    env.drain()
    assert env.checks(fixed)[REQUIREMENTS] == ("completed", "success")
    assert env.checks(fixed)["Agent OS"] == ("in_progress", None)

    blobs_before = len(env.gh.requests("GET", "/repos/*/git/blobs/*"))
    elsewhere = env.gh.push(REPO, pr.number, {"docs/notes.md": "unrelated\n"})
    env.drain()
    assert env.checks(elsewhere)[REQUIREMENTS] == ("completed", "success")
    assert len(env.gh.requests("GET", "/repos/*/git/blobs/*")) == blobs_before


def test_spec_files_the_pr_lacks_are_named(env):
    sid, spec_dir = two_phases_done(env)
    files = {k: v for k, v in pr_files(env.engine, sid).items() if not k.endswith("srd.md")}
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", files=files)
    env.drain()
    assert env.checks(pr.head_sha)[REQUIREMENTS] == ("completed", "failure")
    summary = env.gh.check_runs(REPO, pr.head_sha)[REQUIREMENTS].output["summary"]
    assert f"`{spec_dir}/srd.md` is not in the pull request" in summary
