"""The engine's promises: phases in order, evidence checked, refusals change nothing,
gates wait for people, sessions survive restarts."""

from __future__ import annotations

import threading

import pytest

from agent_os import views
from agent_os.engine import Engine
from agent_os.errors import (
    EvidenceRejected,
    GateClosed,
    InputError,
    NotFoundError,
    Refused,
    SessionComplete,
    WrongPhase,
)
from agent_os.project import Project

from support import GOOD_WRITE, TASKS_MD, approved_spec, write_notes, write_workflow

SUMMARY = {"summary": "Checked every note against the source."}


def snapshot(engine: Engine, sid: str) -> tuple:
    s = engine.state(sid)
    return (s.status, s.current_phase, [(p.number, p.state) for p in s.phases], len(engine.events(sid)))


def test_start_creates_spec_dir_and_first_phase(engine: Engine):
    result = engine.start("notes_v1", "user_authentication")
    s = result.session
    assert not result.resumed
    assert s.spec_dir.startswith(".agent-os/specs/") and s.spec_dir.endswith("-user-authentication")
    assert (engine.project.root / s.spec_dir).is_dir()
    assert [(p.number, p.state) for p in s.phases] == [(0, "active"), (1, "pending"), (2, "pending")]
    assert result.phase.title == "Write notes"
    assert set(result.phase.evidence) == {"notes_file", "items"}
    assert result.phase.artifacts[0].required_headings == ["Notes"]


def test_same_workflow_and_target_resumes(engine: Engine):
    first = engine.start("notes_v1", "user_authentication")
    again = engine.start("notes_v1", "user_authentication")
    assert again.resumed and again.session.session_id == first.session.session_id
    assert len(engine.list_sessions()) == 1


@pytest.mark.parametrize("target", ["", "   ", "../escape", "/etc/passwd", "a/../../b", "~/x", "C:\\x", "!!!", "x" * 500])
def test_hostile_or_empty_targets_are_refused(engine: Engine, target: str):
    with pytest.raises(InputError):
        engine.start("notes_v1", target)
    assert engine.list_sessions() == []
    assert not (engine.project.root / ".agent-os" / "specs").exists() or not any(
        (engine.project.root / ".agent-os" / "specs").iterdir())


def test_unknown_workflow_and_session(engine: Engine):
    with pytest.raises(NotFoundError, match="notes_v1"):
        engine.start("nope_v1", "x")
    with pytest.raises(NotFoundError):
        engine.state("ses_000000000000")
    with pytest.raises(InputError):
        engine.state(42)  # type: ignore[arg-type]


def test_phases_cannot_be_skipped_and_refusal_changes_nothing(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    before = snapshot(engine, sid)
    with pytest.raises(WrongPhase, match="cannot start before phase 0"):
        engine.complete_phase(sid, 1, SUMMARY)
    with pytest.raises(NotFoundError):
        engine.complete_phase(sid, 7, SUMMARY)
    # No state changes; the try to skip ahead is on the timeline, as refused evidence is.
    assert snapshot(engine, sid)[:3] == before[:3]
    assert [(e.kind, e.phase, e.data) for e in engine.events(sid)][before[3]:] == [("skip_refused", 1, {"current": 0})]


def test_bad_evidence_lists_every_failure_and_changes_no_state(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    write_notes(engine, sid, items=3)
    before = snapshot(engine, sid)
    with pytest.raises(EvidenceRejected) as info:
        engine.complete_phase(sid, 0, {"notes_file": "../../etc/passwd", "items": "two", "extra": 1})
    fields = {f["field"] for f in info.value.data["failures"]}
    assert {"notes_file", "items", "extra"} <= fields
    with pytest.raises(EvidenceRejected) as info:
        engine.complete_phase(sid, 0, {"notes_file": "notes.md", "items": 2})
    [count] = [f for f in info.value.data["failures"] if f["rule"] == "count"]
    assert "3" in count["found"]
    state = engine.state(sid)
    assert (state.status, state.current_phase) == ("active", 0)
    assert [(p.number, p.state) for p in state.phases] == before[2]
    # both refusals are remembered, as submissions
    subs = engine.submissions(sid)
    assert [s.accepted for s in subs] == [False, False]
    assert state.phases[0].last_submission.failures[0].field == "items"


def test_evidence_of_wrong_shape_is_refused(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    for evidence in (None, [], "text", 3):
        with pytest.raises(EvidenceRejected):
            engine.complete_phase(sid, 0, evidence)
    assert engine.state(sid).current_phase == 0


def run_to_gate(engine: Engine, sid: str) -> views.CompletionResult:
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.complete_phase(sid, "check", SUMMARY)
    return engine.complete_phase(sid, 2, SUMMARY)


def test_gate_waits_for_a_person_and_not_for_the_author(engine: Engine):
    sid = engine.start("notes_v1", "notes", author="agent-alice").session.session_id
    result = run_to_gate(engine, sid)
    assert result.phase_state == "awaiting_approval" and not result.session_complete
    assert "waiting for 1 more approval" in result.message
    with pytest.raises(GateClosed):
        engine.complete_phase(sid, 2, SUMMARY)
    with pytest.raises(Refused, match="author"):
        engine.approve(sid, by="Agent-Alice")
    assert engine.state(sid).phases[2].state == "awaiting_approval"
    gate = engine.approve(sid, by="bob")
    assert gate.satisfied and [a.reviewer for a in gate.approvals] == ["bob"]
    state = engine.state(sid)
    assert state.status == "complete" and state.current_phase is None
    with pytest.raises(SessionComplete):
        engine.complete_phase(sid, 2, SUMMARY)
    with pytest.raises(SessionComplete):
        engine.current_phase(sid)
    kinds = [e.kind for e in engine.events(sid)]
    assert kinds[-3:] == ["gate_passed", "phase_completed", "session_completed"]


def test_approve_refused_when_nothing_waits(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    with pytest.raises(Refused, match="waits for approval"):
        engine.approve(sid, by="bob")
    with pytest.raises(InputError):
        engine.approve(sid, by="  ")


def test_reviews_decide_the_gate_from_the_whole_list(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    engine.link_pull_request(sid, "acme/app", 7, author="alice", head_sha="a" * 40)
    run_to_gate(engine, sid)

    def review(who: str, state: str, **kw) -> views.SessionState:
        return engine.record_review(sid, views.ReviewInput(reviewer=who, state=state, source="github:acme/app#7", **kw))

    assert review("alice", "approved").status == "active"  # the author
    assert review("dependabot[bot]", "approved", is_bot=True).status == "active"
    assert review("carol", "changes_requested").status == "active"
    assert review("bob", "approved").status == "active"  # carol still blocks
    gate = engine.gate(sid)
    assert gate.blocking == ["carol"] and any("author" in n for n in gate.ignored)
    assert review("carol", "commented").status == "active"  # a comment changes nothing
    assert review("carol", "approved").status == "complete"


def test_duplicate_review_is_recorded_once(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    r = views.ReviewInput(reviewer="bob", state="changes_requested", review_id=11)
    engine.record_review(sid, r)
    engine.record_review(sid, r)
    assert sum(e.kind == "review_changes_requested" for e in engine.events(sid)) == 1


def test_stale_approval_does_not_count_when_policy_dismisses(engine: Engine):
    from agent_os.project import GatePolicyConfig

    sid = engine.start("notes_v1", "notes").session.session_id
    engine.link_pull_request(sid, "acme/app", 7, author="alice", head_sha="a" * 40)
    engine.set_gate_policy(sid, GatePolicyConfig(dismiss_stale_on_push=True, approvals=1))
    run_to_gate(engine, sid)
    engine.set_head(sid, "b" * 40)
    state = engine.record_review(sid, views.ReviewInput(reviewer="bob", state="approved", commit_id="a" * 40))
    assert state.status == "active"
    assert "not the current head" in engine.gate(sid).ignored[0]
    state = engine.record_review(sid, views.ReviewInput(reviewer="bob", state="approved", commit_id="b" * 40))
    assert state.status == "complete"


def test_a_push_reported_through_link_pull_request_moves_the_head_and_resettles_the_gate(engine: Engine):
    """The bot links the PR again on every push; before, that wrote the head with no event
    and no gate re-settled, and the `set_head` that followed returned early."""
    from agent_os.project import GatePolicyConfig

    sid = engine.start("notes_v1", "notes").session.session_id
    engine.link_pull_request(sid, "acme/app", 7, author="alice", head_sha="a" * 40, source="webhook")
    engine.set_gate_policy(sid, GatePolicyConfig(dismiss_stale_on_push=True, approvals=1))
    run_to_gate(engine, sid)
    # The reviewer approves the pushed commit before the push's own webhook arrives.
    assert engine.record_review(sid, views.ReviewInput(reviewer="bob", state="approved",
                                                       commit_id="b" * 40)).status == "active"
    engine.link_pull_request(sid, "acme/app", 7, head_sha="b" * 40, source="webhook")
    heads = [e.data["head_sha"] for e in engine.events(sid) if e.kind == "head_changed"]
    assert heads == ["a" * 40, "b" * 40]
    assert engine.state(sid).status == "complete"
    assert engine.state(sid).pull_requests[0].head_sha == "b" * 40
    # The same head again is no change: no event, no new revision.
    before = len(engine.events(sid))
    engine.link_pull_request(sid, "acme/app", 7, head_sha="b" * 40, source="webhook")
    assert len(engine.events(sid)) == before
    with pytest.raises(InputError):
        engine.link_pull_request(sid, "acme/app", 7, head_sha="not a sha")


def test_dismissal_revokes_an_approval(engine: Engine):
    from agent_os.project import GatePolicyConfig

    sid = engine.start("notes_v1", "notes").session.session_id
    engine.set_gate_policy(sid, GatePolicyConfig(approvals=2))
    run_to_gate(engine, sid)
    engine.record_review(sid, views.ReviewInput(reviewer="bob", state="approved"))
    engine.record_review(sid, views.ReviewInput(reviewer="bob", state="dismissed"))
    engine.record_review(sid, views.ReviewInput(reviewer="carol", state="approved"))
    assert engine.state(sid).status == "active"
    assert engine.record_review(sid, views.ReviewInput(reviewer="dave", state="approved")).status == "complete"


def test_unresolved_threads_hold_a_gate_that_requires_resolution(engine: Engine):
    from agent_os.project import GatePolicyConfig

    sid = engine.start("notes_v1", "notes").session.session_id
    spec_dir = engine.state(sid).spec_dir
    engine.link_pull_request(sid, "acme/app", 7)
    engine.set_gate_policy(sid, GatePolicyConfig(require_resolved_threads=True))
    # A comment on code elsewhere in the PR is not the spec's review: not recorded.
    assert not engine.record_review_comment(sid, views.ReviewCommentInput(
        comment_id=2, path="app/auth.py", line=3, body="Nit: rename this", author="bob"))
    assert not engine.set_thread_resolved(sid, "PRRT_2", False, [2])
    assert engine.record_review_comment(sid, views.ReviewCommentInput(
        comment_id=1, path=f"{spec_dir}/srd.md", line=3, body="Add rate limiting to the token endpoint",
        author="bob"))
    feedback = engine.review_feedback(sid)
    assert [t.comments[0].body for t in feedback.open_threads] == ["Add rate limiting to the token endpoint"]
    run_to_gate(engine, sid)
    assert engine.record_review(sid, views.ReviewInput(reviewer="bob", state="approved")).status == "active"
    engine.set_thread_resolved(sid, "PRRT_1", True, [1])
    assert engine.state(sid).status == "complete"
    assert engine.review_feedback(sid).open_threads == []


def test_review_feedback_without_a_pr_is_an_honest_empty_answer(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    fb = engine.review_feedback(sid)
    assert fb.open_threads == [] and "No pull request is linked" in fb.message


def test_link_pull_request_validates_and_is_idempotent(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    for repo, number in (("not a repo", 1), ("a/b", 0), ("a/b", "3"), ("../x", 2)):
        with pytest.raises(InputError):
            engine.link_pull_request(sid, repo, number)  # type: ignore[arg-type]
    engine.link_pull_request(sid, "acme/app", 7)
    engine.link_pull_request(sid, "acme/app", 7)
    engine.link_pull_request(sid, "acme/app", 8)
    # The first PR names the session's repository; another repository's PR never mixes in.
    with pytest.raises(Refused, match="works in acme/app"):
        engine.link_pull_request(sid, "acme/other", 1)
    assert [(p.repository, p.number) for p in engine.state(sid).pull_requests] == [("acme/app", 7), ("acme/app", 8)]
    assert engine.sessions_for_pull_request("ACME/app", 7) == [sid]


def test_restart_resumes_exactly_where_it_was(project: Project):
    e1 = Engine.open(project)
    sid = e1.start("notes_v1", "notes").session.session_id
    write_notes(e1, sid)
    e1.complete_phase(sid, 0, GOOD_WRITE)
    before = e1.state(sid).model_dump()
    e1.close()
    e2 = Engine.open(project)
    try:
        assert e2.state(sid).model_dump() == before
        assert e2.current_phase(sid).number == 1
        assert e2.start("notes_v1", "notes").resumed
    finally:
        e2.close()


def test_concurrent_completions_of_one_phase_have_exactly_one_winner(project: Project):
    engines = [Engine.open(project) for _ in range(2)]  # two connections, as two processes would have
    sid = engines[0].start("notes_v1", "notes").session.session_id
    write_notes(engines[0], sid)
    barrier = threading.Barrier(len(engines) * 2)
    outcomes: list[str] = []

    def attempt(engine: Engine) -> None:
        barrier.wait()
        try:
            engine.complete_phase(sid, 0, GOOD_WRITE)
            outcomes.append("won")
        except WrongPhase:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(e,)) for e in engines for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    state = engines[0].state(sid)
    assert [p.state for p in state.phases] == ["complete", "active", "pending"]
    assert sum(e.kind == "phase_completed" for e in engines[0].events(sid)) == 1
    for e in engines:
        e.close()


def test_a_webhook_landing_during_the_check_does_not_refuse_the_submission(engine: Engine, monkeypatch):
    """Linking a PR or moving its head changes the session, not its phases."""
    import agent_os.completion as engine_module

    sid = engine.start("notes_v1", "notes").session.session_id
    write_notes(engine, sid)
    real_check = engine_module.check_evidence

    def check_while_a_webhook_lands(*args, **kwargs):
        result = real_check(*args, **kwargs)
        engine.link_pull_request(sid, "acme/webapp", 3, author="dev", head_sha="a" * 40)
        engine.set_head(sid, "b" * 40)
        return result

    monkeypatch.setattr(engine_module, "check_evidence", check_while_a_webhook_lands)
    result = engine.complete_phase(sid, 0, GOOD_WRITE)
    assert result.phase_state == "complete"
    assert [p.state for p in engine.state(sid).phases] == ["complete", "active", "pending"]


def test_execution_phases_are_built_from_tasks_md(engine: Engine):
    spec_dir = approved_spec(engine, "login", TASKS_MD)
    spec = engine.project.root / spec_dir
    start = engine.start("build_v1", spec_dir)
    sid = start.session.session_id
    assert engine.start("build_v1", "login").resumed  # found again by its name
    engine.complete_phase(sid, 0, {"read": True})
    phases = engine.state(sid).phases
    assert [(p.number, p.title) for p in phases] == [(0, "Intake"), (1, "Data model"), (2, "Login endpoint"), (3, "Ship")]
    assert [t.title for t in phases[1].tasks] == ["Create the users table", "Add the migration"]
    view = engine.current_phase(sid)
    assert view.tasks_section == "Phase 1: Data model" and "pytest tests/test_models.py" in view.instructions
    good = {"test_command": "pytest tests/test_models.py", "test_summary": "4 passed in 0.12s"}
    tests = engine.project.root / "tests"
    tests.mkdir()
    (tests / "test_models.py").write_text("".join(f"def test_{i}():\n    pass\n" for i in range(4)), encoding="utf-8")
    with pytest.raises(EvidenceRejected, match="unchecked"):
        engine.complete_phase(sid, 1, good)
    (spec / "tasks.md").write_text(TASKS_MD.replace("- [ ]", "- [x]", 2), encoding="utf-8")
    with pytest.raises(EvidenceRejected, match="failure"):
        engine.complete_phase(sid, 1, {**good, "test_summary": "1 failed, 3 passed in 0.2s"})
    with pytest.raises(EvidenceRejected, match="names"):
        engine.complete_phase(sid, 1, {**good, "test_command": "true"})
    assert engine.complete_phase(sid, 1, good).next_phase.title == "Login endpoint"


def test_execution_refuses_a_tasks_md_without_phases(engine: Engine):
    approved_spec(engine, "empty", "# Tasks\n\nNothing here.\n")
    sid = engine.start("build_v1", "empty").session.session_id
    with pytest.raises(EvidenceRejected, match="Phase N"):
        engine.complete_phase(sid, 0, {"read": True})
    assert engine.state(sid).current_phase == 0


def test_execution_needs_an_existing_spec(engine: Engine):
    with pytest.raises(NotFoundError):
        engine.start("build_v1", "no-such-spec")
    with pytest.raises(InputError):
        engine.start("build_v1", "../../outside/dir")


def test_execution_refuses_a_spec_still_being_written(engine: Engine):
    sid = engine.start("notes_v1", "login").session.session_id
    with pytest.raises(Refused, match="not approved"):
        engine.start("build_v1", engine.state(sid).spec_dir)


def test_execution_starts_only_on_a_spec_people_approved_through_a_gate(engine: Engine):
    """Before, any spec directory with no open session counted as approved."""
    hand_made = engine.project.specs_dir / "2026-01-01-forged"
    hand_made.mkdir(parents=True)
    (hand_made / "tasks.md").write_text(TASKS_MD, encoding="utf-8")
    with pytest.raises(Refused, match="no workflow session wrote it") as refused:
        engine.start("build_v1", "forged")
    assert "spec_creation_v1" in refused.value.hint
    write_workflow(engine.project.root, """
name: draft_v1
version: 1
description: Write a draft, no review.
phases:
  - id: write
    title: Write
    instructions: phases/write.md
    checkpoint:
      evidence:
        summary: {type: string, min_length: 10}
""")
    sid = engine.start("draft_v1", "gateless").session.session_id
    engine.complete_phase(sid, 0, SUMMARY)
    assert engine.state(sid).status == "complete"
    spec_dir = engine.state(sid).spec_dir
    (engine.project.root / spec_dir / "tasks.md").write_text(TASKS_MD, encoding="utf-8")
    with pytest.raises(Refused, match=f"{sid} \\(draft_v1\\), passed no gate a person approved"):
        engine.start("build_v1", spec_dir)
    assert [s.workflow for s in engine.list_sessions()] == ["draft_v1"]  # nothing started
    approved = approved_spec(engine, "login", TASKS_MD)
    assert not engine.start("build_v1", approved).resumed


def test_get_task(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    task = engine.get_task(sid, 0, "draft")
    assert task.title == "Draft the notes" and "tasks/draft.md" in task.instructions
    with pytest.raises(NotFoundError, match="draft"):
        engine.get_task(sid, 0, "nope")
    with pytest.raises(InputError):
        engine.get_task(sid, 1.5, "draft")  # type: ignore[arg-type]


def test_listeners_hear_committed_changes(engine: Engine):
    heard: list[tuple[str, str]] = []
    engine.subscribe(lambda sid, kind: heard.append((sid, kind)))
    sid = engine.start("notes_v1", "notes").session.session_id
    with pytest.raises(WrongPhase):
        engine.complete_phase(sid, 2, SUMMARY)
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    assert heard == [(sid, "session_started"), (sid, "phase_completed")]


ONE_PHASE = """
name: brief_v1
version: 1
description: One summary.
phases:
  - id: brief
    title: Brief
    instructions: phases/brief.md
    checkpoint:
      evidence:
        summary: {{type: string, min_length: {least}}}
"""


def test_a_session_keeps_the_checkpoint_it_started_with_when_the_workflow_changes(engine: Engine):
    write_workflow(engine.project.root, ONE_PHASE.format(least=10))
    first = engine.start("brief_v1", "first").session.session_id
    engine.state(first)  # its phase's model is read, and remembered
    write_workflow(engine.project.root, ONE_PHASE.format(least=60))
    second = engine.start("brief_v1", "second").session.session_id
    brief = {"summary": "Twenty-odd characters."}
    with pytest.raises(EvidenceRejected, match="summary"):
        engine.complete_phase(second, 0, brief)
    assert engine.complete_phase(first, 0, brief).session_complete
