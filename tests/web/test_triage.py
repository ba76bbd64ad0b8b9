"""The sessions list as a team lead triages it, and the timeline in words."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from agent_os.errors import WrongPhase
from agent_os.project import GatePolicyConfig
from agent_os.views import EventView
from bot.pages import render_session, render_sessions
from bot.timeline import event_sentence, triage_row
from support import GOOD_WRITE, write_notes


def waiting_session(engine, target: str, repository: str, number: int, author: str) -> str:
    """A notes_v1 session at its review gate, linked to a PR."""
    sid = engine.start("notes_v1", target, author=author).session.session_id
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.complete_phase(sid, 1, {"summary": "all checked here"})
    engine.complete_phase(sid, 2, {"summary": "ready for review"})
    engine.link_pull_request(sid, repository, number, author=author)
    return sid


def test_the_list_says_whom_a_session_waits_for_its_pr_author_and_age(demo_session) -> None:
    engine, active = demo_session
    waiting = waiting_session(engine, "billing", "acme/billing", 7, "carol")
    html = render_sessions(engine)
    rows = re.findall(r'<tr class="(\w+)-row">(.*?)</tr>', html, re.DOTALL)
    assert [state for state, _ in rows] == ["waiting", "active"], "waiting sessions come first"
    first = rows[0][1]
    assert waiting in first and "@carol" in first and "acme/billing#7" in first
    reasons = engine.state(waiting).phases[2].gate.reasons
    assert reasons and all(str(r) in first or r.replace("'", "&#39;") in first for r in reasons)
    assert re.search(r"<td>\d+ s</td>", first), "the age"
    assert active in rows[1][1] and "acme/webapp#12" in rows[1][1] and "@alice" in rows[1][1]


def test_filters_by_state_and_repository(pages_server) -> None:
    server, engine, active = pages_server
    waiting = waiting_session(engine, "billing", "acme/billing", 7, "carol")
    only_waiting = httpx.get(f"{server.url}/sessions", params={"state": "waiting"}).text
    assert waiting in only_waiting and active not in only_waiting
    webapp = httpx.get(f"{server.url}/sessions", params={"repository": "acme/webapp"}).text
    assert active in webapp and waiting not in webapp
    assert '<option value="acme/billing">' in webapp
    none = httpx.get(f"{server.url}/sessions", params={"state": "complete"}).text
    assert "No session matches these filters" in none
    assert httpx.get(f"{server.url}/sessions", params={"state": "bogus"}).status_code == 422


def test_age_is_in_plain_units(demo_session) -> None:
    engine, sid = demo_session
    state = engine.state(sid)
    assert triage_row(state, now=state.created_at + timedelta(hours=50)).age == "2 d"
    assert triage_row(state, now=state.created_at + timedelta(minutes=90)).age == "1 h"


def test_the_timeline_is_in_words_with_refused_skips(demo_session) -> None:
    engine, sid = demo_session
    with pytest.raises(WrongPhase):
        engine.complete_phase(sid, 2, {"summary": "skipping ahead"})
    engine.set_gate_policy(sid, GatePolicyConfig(approvals=2, required_reviewers=["bob"]))
    html = render_session(engine, sid)
    timeline = html.split('id="timeline"', 1)[1]
    assert "Refused: phase 2 was submitted while phase 1 was still open" in timeline
    assert ("Gate policy from the base branch: Needs 2 approvals including @bob "
            "(not from the author or bots).") in timeline
    assert "{&#39;" not in html and "{'" not in html, "no Python dicts"
    assert "`" not in html, "no literal backticks"


def test_a_gate_policy_reads_as_words() -> None:
    event = EventView(id=1, session_id="ses_1", kind="gate_policy", at=datetime.now(timezone.utc),
                      data={"policy": {"approvals": 2}, "description": "Needs 2 approvals (not from the author)."})
    assert event_sentence(event) == "Gate policy from the base branch: Needs 2 approvals (not from the author)."
    cleared = EventView(id=3, session_id="ses_1", kind="gate_policy", at=datetime.now(timezone.utc),
                        data={"policy": None, "description": None})
    assert event_sentence(cleared) == "Gate policy from the base branch: the workflow's own gates apply."
    unknown = EventView(id=2, session_id="ses_1", kind="something_new", phase=1, at=datetime.now(timezone.utc),
                        data={"files": ["a.md", "b.md"], "detail": {"x": 1}})
    assert event_sentence(unknown) == "Something new (phase 1): files a.md, b.md; detail x 1."
