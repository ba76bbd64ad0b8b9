"""Property: whatever an agent calls in whatever order, phases complete strictly in order,
at most one phase is open, and the gate opens only with a person's approval."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_os.engine import Engine
from agent_os.errors import Refused
from agent_os.gates import GatePolicy, Review, evaluate_gate
from agent_os.project import Project

from support import GOOD_WRITE, NOTES_V1, write_notes, write_workflow

GOOD = {0: GOOD_WRITE, 1: {"summary": "Checked all of it"}, 2: {"summary": "Ready for review"}}
BAD = {"items": -1}

call = st.one_of(
    st.tuples(st.just("complete"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("approve"), st.sampled_from(["author", "bob"]), st.just(True)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(call, max_size=12))
def test_phases_only_ever_complete_in_order(calls):
    with tempfile.TemporaryDirectory() as tmp:
        write_workflow(Path(tmp), NOTES_V1)
        engine = Engine.open(Project.open(tmp))
        try:
            sid = engine.start("notes_v1", "prop", author="author").session.session_id
            write_notes(engine, sid)
            approved_by_person = False
            for kind, arg, good in calls:
                try:
                    if kind == "complete":
                        engine.complete_phase(sid, arg, GOOD[arg] if good else BAD)
                    else:
                        engine.approve(sid, by=arg)
                        approved_by_person = True
                except Refused:
                    pass
                states = [p.state for p in engine.state(sid).phases]
                done = states.count("complete")
                assert states[:done] == ["complete"] * done  # a prefix, never a hole
                assert all(s == "pending" for s in states[done + 1:])
                if states[2] == "complete":
                    assert approved_by_person
        finally:
            engine.close()


reviews = st.lists(
    st.tuples(st.sampled_from(["alice", "bob", "carol", "bot"]),
              st.sampled_from(["approved", "changes_requested", "dismissed", "commented"])),
    max_size=10,
)


@given(reviews, st.integers(1, 3))
def test_gate_decision_depends_on_each_reviewers_latest_review(items, needed):
    from datetime import UTC, datetime

    policy = GatePolicy(approvals=needed)
    recs = [Review(who, state, datetime.now(UTC), "test", is_bot=(who == "bot")) for who, state in items]
    decision = evaluate_gate(policy, recs, author="alice")
    latest: dict[str, str] = {}
    for who, state in items:
        if who in ("alice", "bot") or state == "commented":
            continue
        latest[who] = state
    approvers = sorted(w for w, s in latest.items() if s == "approved")
    blockers = sorted(w for w, s in latest.items() if s == "changes_requested")
    assert sorted(a.reviewer for a in decision.approvals) == approvers
    assert sorted(decision.blocking) == blockers
    assert decision.satisfied == (len(approvers) >= needed and not blockers)
