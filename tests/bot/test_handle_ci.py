"""The CI handlers over a real engine and a recording fake of GitHub: commit statuses, check
suites (read back through the check-runs list), our own runs ignored, malformed input skipped."""

from __future__ import annotations

from botfake import APP_ID, REPO, _envelope, event, harness
from support import BUILD_V1, NOTES_V1, approved_spec, write_workflow

from agent_os.files import WorkingTree

HEAD = "c" * 40
TASKS = "# Tasks\n\n## Phase 1: Calculator\n- [x] Add it\nTests: `python -m pytest -q tests`\n"
CLAIM = {"test_command": "python -m pytest -q tests", "test_summary": "2 passed in 0.01s"}


def waiting_session(tmp_path):
    h = harness(tmp_path)
    root = h.engine.project.root
    write_workflow(root, NOTES_V1)
    write_workflow(root, BUILD_V1.replace("name: build_v1", "name: build_ci_v1").replace(
        "    expand: tasks_md\n", "    expand: tasks_md\n    ci_checks: [test]\n"))
    sid = h.engine.start("build_ci_v1", approved_spec(h.engine, "calc", TASKS)).session.session_id
    h.engine.complete_phase(sid, 0, {"read": True})
    h.engine.link_pull_request(sid, REPO, 1, head_sha=HEAD)
    h.engine.complete_phase(sid, 1, CLAIM, files=WorkingTree(root))
    return h, sid


def status(state: str, context: str = "test", sha: str = HEAD) -> object:
    return event("status", {**_envelope(None, "ci-bot"), "sha": sha, "context": context, "state": state,
                            "target_url": "https://ci.example/builds/7"})


def phase_1(h, sid):
    return next(p for p in h.engine.state(sid).phases if p.number == 1)


def test_a_commit_status_decides_the_waiting_phase(tmp_path):
    h, sid = waiting_session(tmp_path)
    assert "1 session(s)" in h.deliver(status("pending"))
    assert phase_1(h, sid).ci.waiting_for == ["test"]
    h.deliver(status("error"))
    refused = phase_1(h, sid).last_submission
    assert not refused.accepted and refused.failures[0].found == "error: https://ci.example/builds/7"


def test_a_successful_status_completes_it(tmp_path):
    h, sid = waiting_session(tmp_path)
    h.deliver(status("success"))
    assert phase_1(h, sid).state == "complete"


def test_a_completed_suite_is_read_back_through_its_check_runs(tmp_path):
    h, sid = waiting_session(tmp_path)
    ci_app, ours = {"id": 15368}, {"id": APP_ID}
    h.github.ci_runs[HEAD] = [
        {"id": 5, "name": "test", "head_sha": HEAD, "status": "completed", "conclusion": "success",
         "details_url": "https://ci.example/5", "app": ci_app},
        {"id": 6, "name": "test", "head_sha": HEAD, "status": "completed", "conclusion": "failure", "app": ours},
    ]
    said = h.deliver(event("check_suite", {**_envelope("completed", "dev"),
                                           "check_suite": {"head_sha": HEAD, "app": ci_app}}))
    assert said == f"CI suite at {HEAD[:7]}: 1 run(s), 1 session(s)"
    assert phase_1(h, sid).state == "complete"


def test_our_own_runs_and_malformed_results_change_nothing(tmp_path):
    h, sid = waiting_session(tmp_path)
    before = h.engine.events(sid)
    mine = {"id": 9, "name": "test", "head_sha": HEAD, "status": "completed", "conclusion": "failure",
            "app": {"id": APP_ID}}
    assert h.deliver(event("check_run", {**_envelope("completed", "dev"), "check_run": mine})) == \
        "ignored: our own check run"
    assert h.deliver(event("check_suite", {**_envelope("completed", "dev"),
                                           "check_suite": {"head_sha": HEAD, "app": {"id": APP_ID}}})) == \
        "ignored: our own check suite"
    assert "0 session(s)" in h.deliver(status("success", sha="not-a-sha"))
    assert "ignored" in h.deliver(event("status", {**_envelope(None, "ci-bot"), "sha": HEAD}))
    odd = {**mine, "app": {"id": 15368}, "status": "exploded"}
    assert "0 session(s)" in h.deliver(event("check_run", {**_envelope("completed", "dev"), "check_run": odd}))
    assert h.engine.events(sid) == before
