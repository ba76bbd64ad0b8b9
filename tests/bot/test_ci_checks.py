"""Team mode: a phase that names `ci_checks` waits for CI on the PR's head commit, end to end
over real HTTP: the stand-in plays GitHub Actions (its check runs and suites arrive as GitHub
sends them), the bot feeds them to the core, and the phase's check run follows."""

from __future__ import annotations

from botkit import REPO
from support import BUILD_V1, NOTES_V1, approved_spec, write_workflow

from agent_os.files import WorkingTree

TASKS = ("# Tasks\n\n## Phase 1: Calculator\n- [x] Add the calculator\nTests: `python -m pytest -q tests`\n\n"
         "## Phase 2: Rounding\n- [x] Round half up\nTests: `python -m pytest -q tests/test_round.py`\n")
CLAIMS = {1: {"test_command": "python -m pytest -q tests", "test_summary": "2 passed in 0.01s"},
          2: {"test_command": "python -m pytest -q tests/test_round.py", "test_summary": "3 passed in 0.01s"}}
PHASE_1, PHASE_2 = "Agent OS / 1 Calculator", "Agent OS / 2 Rounding"


def linked_execution(env) -> tuple[str, object]:
    """An execution session whose phases wait for CI's `test`, linked to an open PR."""
    write_workflow(env.engine.project.root, NOTES_V1)
    write_workflow(env.engine.project.root, BUILD_V1.replace("name: build_v1", "name: build_ci_v1").replace(
        "    expand: tasks_md\n", "    expand: tasks_md\n    ci_checks: [test]\n"))
    spec_dir = approved_spec(env.engine, "calc", TASKS)
    sid = env.engine.start("build_ci_v1", spec_dir).session.session_id
    env.engine.complete_phase(sid, 0, {"read": True})
    root = env.engine.project.root
    spec = {str(f.relative_to(root)): f.read_text() for f in (root / spec_dir).iterdir() if f.is_file()}
    pr = env.gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}",
                                  files={**spec, "calc.py": "def add(a, b):\n    return a + b\n"})
    env.drain()
    return sid, pr


def submit(env, sid: str, number: int):
    """complete_phase as the team server gets it: with the files the agent's door sent."""
    return env.engine.complete_phase(sid, number, CLAIMS[number], files=WorkingTree(env.engine.project.root))


def test_a_phase_waits_for_ci_then_passes_when_the_ci_check_succeeds(env):
    sid, pr = linked_execution(env)
    assert submit(env, sid, 1).phase_state == "active"
    env.drain()
    assert env.checks(pr.head_sha)[PHASE_1] == ("in_progress", None)
    run = env.gh.check_runs(REPO, pr.head_sha)[PHASE_1]
    assert run.output["title"] == f"Checkpoint passed; waiting for CI: test on {pr.head_sha[:7]}"

    ci = env.gh.ci_check_run(REPO, pr.head_sha, "test")  # CI starts: still waiting
    env.drain()
    assert env.checks(pr.head_sha)[PHASE_1] == ("in_progress", None)
    env.gh.ci_conclude(REPO, ci.id, "success")
    env.drain()
    assert env.checks(pr.head_sha)[PHASE_1] == ("completed", "success")
    assert env.engine.state(sid).current_phase == 2
    assert env.checks(pr.head_sha)["test"] == ("completed", "success")  # CI's own run, untouched


def test_a_failing_ci_check_refuses_the_phase_and_a_push_starts_the_wait_again(env):
    sid, pr = linked_execution(env)
    env.gh.ci_check_run(REPO, pr.head_sha, "test", conclusion="success")
    env.drain()
    assert submit(env, sid, 1).phase_state == "complete"  # CI had already passed at this head

    head = env.gh.push(REPO, pr.number, {"round.py": "def round_half_up(x):\n    return int(x)\n"})
    env.drain()
    submit(env, sid, 2)
    ci = env.gh.ci_check_run(REPO, head, "test")
    env.gh.ci_conclude(REPO, ci.id, "failure")
    env.drain()
    phase = next(p for p in env.engine.state(sid).phases if p.number == 2)
    assert phase.state == "active" and not phase.last_submission.accepted
    failure = phase.last_submission.failures[0]
    assert failure.rule == "ci_passed" and failure.found == f"failure: {env.gh.url}/{REPO}/runs/{ci.id}"
    assert env.checks(head)[PHASE_2] == ("in_progress", None)
    assert env.gh.check_runs(REPO, head)[PHASE_2].output["title"].startswith("CI failed (failure: ")

    fixed = env.gh.push(REPO, pr.number, {"round.py": "def round_half_up(x):\n    return int(x + 0.5)\n"})
    env.drain()
    assert submit(env, sid, 2).phase_state == "active"
    env.gh.ci_check_run(REPO, fixed, "test", conclusion="success")
    env.drain()
    assert env.checks(fixed)[PHASE_2] == ("completed", "success")


def test_a_later_push_that_fails_ci_turns_a_passed_phase_red(env):
    sid, pr = linked_execution(env)
    env.gh.ci_check_run(REPO, pr.head_sha, "test", conclusion="success")
    env.drain()
    submit(env, sid, 1)
    head = env.gh.push(REPO, pr.number, {"calc.py": "def add(a, b):\n    return a - b\n"})
    ci = env.gh.ci_check_run(REPO, head, "test", conclusion="failure")
    env.drain()
    assert env.checks(head)[PHASE_1] == ("completed", "failure")
    assert env.checks(head)["Agent OS"] == ("completed", "failure")
    run = env.gh.check_runs(REPO, head)[PHASE_1]
    assert run.output["title"] == f"CI fails at {head[:7]}: 'test' concluded failure ({env.gh.url}/{REPO}/runs/{ci.id})"
    fixed = env.gh.push(REPO, pr.number, {"calc.py": "def add(a, b):\n    return a + b\n"})
    env.gh.ci_check_run(REPO, fixed, "test", conclusion="success")
    env.drain()
    assert env.checks(fixed)[PHASE_1] == ("completed", "success")


def test_ci_that_finished_before_the_push_reached_the_bot_is_caught_up(env):
    sid, pr = linked_execution(env)
    submit(env, sid, 1)
    # GitHub delivers CI's result before the pull_request.synchronize of the same push.
    head = env.gh.push(REPO, pr.number, {"calc.py": "def add(a, b):\n    return b + a\n"}, send=False)
    env.gh.ci_check_run(REPO, head, "test", conclusion="success")
    env.drain()
    assert env.engine.state(sid).phases[1].ci is not None  # not this session's head yet: ignored
    env.gh.send(env.gh.deliveries[-4])  # the synchronize, late
    env.drain()
    assert env.checks(head)[PHASE_1] == ("completed", "success")


def test_other_apps_results_for_commits_nobody_waits_on_change_nothing(env):
    sid, pr = linked_execution(env)
    env.gh.ci_check_run(REPO, pr.head_sha, "deploy-preview", conclusion="failure")
    env.drain()
    assert not [e for e in env.engine.events(sid) if e.kind.startswith("ci_")]


def test_a_commit_status_named_by_ci_checks_decides_too(env):
    sid, pr = linked_execution(env)
    submit(env, sid, 1)
    env.gh.commit_status(REPO, pr.head_sha, "test", "pending", target_url="https://ci.example/b/3")
    env.drain()
    assert env.checks(pr.head_sha)[PHASE_1] == ("in_progress", None)
    env.gh.commit_status(REPO, pr.head_sha, "test", "success", target_url="https://ci.example/b/3")
    env.drain()
    assert env.checks(pr.head_sha)[PHASE_1] == ("completed", "success")
