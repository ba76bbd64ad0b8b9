"""Team mode's test results come from CI: a phase that names `ci_checks` passes its
checkpoint on the files sent, then waits for those checks on the pull request's head commit;
success moves it on, a failure refuses it with CI's link, a new head starts the wait again.
Solo mode runs the command itself and never waits."""

from __future__ import annotations

import pytest
from support import BUILD_V1, approved_spec, write_workflow

from agent_os.ci import CIResult, decide
from agent_os.engine import Engine
from agent_os.errors import AgentOSError, EvidenceRejected
from agent_os.files import WorkingTree

REPO = "acme/app"
HEAD, NEXT = "a" * 40, "b" * 40
TASKS = "# Tasks\n\n## Phase 1: Calculator\n- [x] Add the calculator\nTests: `python -m pytest -q tests`\n"
CLAIM = {"test_command": "python -m pytest -q tests", "test_summary": "2 passed in 0.01s"}


@pytest.fixture
def ci_engine(engine: Engine) -> Engine:
    write_workflow(engine.project.root, BUILD_V1.replace("name: build_v1", "name: build_ci_v1").replace(
        "    expand: tasks_md\n", "    expand: tasks_md\n    ci_checks: [test, lint]\n"))
    return engine


def team_session(engine: Engine, head: str | None = HEAD) -> str:
    """An execution session at phase 1 whose PR head is `head` (None: no PR linked)."""
    sid = engine.start("build_ci_v1", approved_spec(engine, "calc", TASKS)).session.session_id
    engine.complete_phase(sid, 0, {"read": True})
    if head:
        engine.link_pull_request(sid, REPO, 7, head_sha=head)
    return sid


def submit(engine: Engine, sid: str):
    """complete_phase as the team server gets it: with the files the door sent."""
    return engine.complete_phase(sid, 1, CLAIM, files=WorkingTree(engine.project.root))


def ci(engine: Engine, name: str, conclusion: str | None, head: str = HEAD, url: str = "",
       run_id: int | None = None) -> list[str]:
    status = "completed" if conclusion else "in_progress"
    return engine.record_ci(REPO, CIResult(head, name, status, conclusion, url, run_id))


def phase(engine: Engine, sid: str, number: int = 1):
    return next(p for p in engine.state(sid).phases if p.number == number)


def test_a_team_phase_waits_for_ci_then_passes_when_every_check_succeeds(ci_engine: Engine):
    sid = team_session(ci_engine)
    result = submit(ci_engine, sid)
    assert result.phase_state == "active" and "waiting for CI: test, lint on aaaaaaa" in result.message
    waiting = phase(ci_engine, sid)
    assert waiting.state == "active" and waiting.ci.waiting_for == ["test", "lint"]
    assert "waiting for CI" in ci_engine.state(sid).next_step
    assert not [e for e in ci_engine.events(sid) if e.kind == "command_run"]  # nothing ran on the server
    assert ci(ci_engine, "test", None) == [sid]  # running: still waiting
    assert ci(ci_engine, "test", "success") == [sid]
    assert phase(ci_engine, sid).ci.waiting_for == ["lint"]
    ci(ci_engine, "lint", "neutral")
    done = phase(ci_engine, sid)
    assert done.state == "complete" and done.ci is None
    assert ci_engine.state(sid).current_phase == 2
    passed = [e for e in ci_engine.events(sid) if e.kind == "ci_passed"]
    assert passed and passed[0].data["head_sha"] == HEAD


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out"])
def test_a_failing_ci_check_refuses_the_phase_with_its_link(ci_engine: Engine, conclusion: str):
    sid = team_session(ci_engine)
    submit(ci_engine, sid)
    ci(ci_engine, "lint", "success")
    ci(ci_engine, "test", conclusion, url="https://ci.example/runs/42")
    p = phase(ci_engine, sid)
    assert p.state == "active" and p.ci is None
    assert not p.last_submission.accepted
    failure = p.last_submission.failures[0]
    assert (failure.field, failure.rule) == ("ci_checks", "ci_passed")
    assert failure.found == f"{conclusion}: https://ci.example/runs/42" and "aaaaaaa" in failure.expected
    # Submitting again on the same head is refused at once: CI said no for this commit.
    with pytest.raises(EvidenceRejected) as again:
        submit(ci_engine, sid)
    assert again.value.data["failures"][0]["found"] == f"{conclusion}: https://ci.example/runs/42"
    assert not phase(ci_engine, sid).last_submission.accepted
    # A push with the fix, a new submission: it waits for CI on the new head only.
    ci_engine.set_head(sid, NEXT)
    submit(ci_engine, sid)
    assert phase(ci_engine, sid).ci.waiting_for == ["test", "lint"]
    ci(ci_engine, "test", "success", head=NEXT)
    ci(ci_engine, "lint", "success", head=NEXT)
    assert phase(ci_engine, sid).state == "complete"


def test_a_push_while_waiting_starts_the_wait_again(ci_engine: Engine):
    sid = team_session(ci_engine)
    submit(ci_engine, sid)
    ci(ci_engine, "test", "success")
    ci_engine.set_head(sid, NEXT)
    assert ci(ci_engine, "lint", "success") == []  # the old head's result no longer concerns it
    assert phase(ci_engine, sid).ci.reason == "waiting for CI: test, lint on bbbbbbb"
    ci(ci_engine, "test", "success", head=NEXT)
    ci(ci_engine, "lint", "failure", head=NEXT)
    assert not phase(ci_engine, sid).last_submission.accepted


def test_a_passed_phase_shows_ci_failing_at_a_later_head(ci_engine: Engine):
    sid = team_session(ci_engine)
    ci(ci_engine, "test", "success")
    ci(ci_engine, "lint", "success")
    submit(ci_engine, sid)
    ci_engine.set_head(sid, NEXT)
    assert phase(ci_engine, sid).ci is None  # CI has said nothing about the new head yet
    ci(ci_engine, "test", "failure", head=NEXT, url="https://ci.example/runs/9")
    broken = phase(ci_engine, sid)
    assert broken.state == "complete" and broken.ci.state == "failed"
    assert broken.ci.reason == "CI failed: 'test' concluded failure (https://ci.example/runs/9)"
    ci(ci_engine, "test", "success", head=NEXT)  # re-run green: the phase stands again
    assert phase(ci_engine, sid).ci is None


def test_ci_that_finished_before_the_submission_decides_at_once(ci_engine: Engine):
    sid = team_session(ci_engine)
    ci(ci_engine, "test", "success")
    ci(ci_engine, "lint", "skipped")
    assert submit(ci_engine, sid).phase_state == "complete"


def test_a_late_created_delivery_does_not_undo_a_completed_run(ci_engine: Engine):
    sid = team_session(ci_engine)
    submit(ci_engine, sid)
    ci(ci_engine, "test", "success", run_id=5)
    assert ci(ci_engine, "test", None, run_id=5) == [sid]
    ci(ci_engine, "lint", "success", run_id=6)
    assert phase(ci_engine, sid).state == "complete"


def test_without_a_pull_request_the_phase_says_to_push_and_link(ci_engine: Engine):
    sid = team_session(ci_engine, head=None)
    submit(ci_engine, sid)
    assert "push the branch and link its pull request" in phase(ci_engine, sid).ci.reason


def test_results_nobody_waits_for_change_nothing(ci_engine: Engine):
    sid = team_session(ci_engine)
    before = ci_engine.events(sid)
    assert ci(ci_engine, "deploy", "failure") == []  # a check the workflow does not name
    assert ci_engine.record_ci("other/repo", CIResult(HEAD, "test", "completed", "failure")) == []
    assert ci(ci_engine, "test", "failure", head="c" * 40) == []
    assert ci_engine.events(sid) == before
    ci(ci_engine, "test", "success")
    assert ci(ci_engine, "test", "success") == []  # the same result again: recorded once
    assert len([e for e in ci_engine.events(sid) if e.kind == "ci_result"]) == 1


@pytest.mark.parametrize("bad", [
    CIResult("not-a-sha", "test", "completed", "success"),
    CIResult(HEAD, "", "completed", "success"),
    CIResult(HEAD, "x" * 101, "completed", "success"),
    CIResult(HEAD, "test", "exploded", None),
])
def test_bad_ci_input_is_refused_and_changes_nothing(ci_engine: Engine, bad: CIResult):
    sid = team_session(ci_engine)
    before = ci_engine.events(sid)
    with pytest.raises(AgentOSError):
        ci_engine.record_ci(REPO, bad)
    with pytest.raises(AgentOSError):
        ci_engine.record_ci("not a repo", CIResult(HEAD, "test", "completed", "success"))
    assert ci_engine.events(sid) == before


def test_solo_mode_runs_the_command_itself_and_never_waits(ci_engine: Engine):
    root = ci_engine.project.root
    (root / "tests").mkdir()
    (root / "tests" / "test_calc.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    sid = team_session(ci_engine)
    result = ci_engine.complete_phase(sid, 1, CLAIM)
    assert result.phase_state == "complete"
    assert [e for e in ci_engine.events(sid) if e.kind == "command_run"]


def test_a_failing_claim_is_refused_before_any_wait(ci_engine: Engine):
    sid = team_session(ci_engine)
    with pytest.raises(EvidenceRejected):
        ci_engine.complete_phase(sid, 1, CLAIM | {"test_summary": "1 failed, 1 passed in 0.1s"},
                                 files=WorkingTree(ci_engine.project.root))
    assert phase(ci_engine, sid).ci is None


def test_the_decision():
    assert decide(["test"], HEAD, []).state == "waiting"
    assert decide(["test"], None, [CIResult(HEAD, "test", "completed", "success")]).state == "waiting"
    assert decide(["test"], HEAD, [CIResult(HEAD, "test", "completed", "success")]).state == "passed"
    failed = decide(["test", "lint"], HEAD, [CIResult(HEAD, "test", "completed", "timed_out", "u")])
    assert failed.state == "failed" and failed.reason() == "CI failed: 'test' concluded timed_out (u)"
    # A re-run of a failed check that succeeds: the latest result counts.
    rerun = [CIResult(HEAD, "test", "completed", "failure", run_id=1), CIResult(HEAD, "test", "completed", "success", run_id=2)]
    assert decide(["test"], HEAD, rerun).state == "passed"
    assert CIResult.from_status(HEAD, "test", "error", None).conclusion == "error"
    assert decide(["test"], HEAD, [CIResult.from_status(HEAD, "test", "error", None)]).state == "failed"
    assert decide(["test"], HEAD, [CIResult.from_status(HEAD, "test", "pending", None)]).state == "waiting"
    assert decide(["test"], HEAD, [CIResult.from_status(HEAD, "test", "success", "u")]).state == "passed"


def test_ci_checks_are_workflow_data_that_validate_and_create_workflow_know(engine: Engine):
    from agent_os.errors import InputError

    made = engine.create_workflow("ci_review_v1", "new_spec", [{"title": "Build", "ci_checks": ["test", "lint"]}])
    assert engine.workflow(made.name).phases[0].ci_checks == ["test", "lint"]
    assert engine.validate_workflow("ci_review_v1").valid
    with pytest.raises(InputError):
        engine.create_workflow("ci_bad_v1", "new_spec", [{"title": "Build", "ci_checks": "test"}])
    write_workflow(engine.project.root, BUILD_V1.replace("name: build_v1", "name: twice_v1").replace(
        "    expand: tasks_md\n", "    expand: tasks_md\n    ci_checks: [test, test, '']\n"))
    report = engine.validate_workflow("twice_v1")
    assert not report.valid and any("ci_checks" in p for p in report.problems)
