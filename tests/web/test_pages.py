"""The session pages over HTTP: what a reviewer following a check run's Details link sees."""

from __future__ import annotations

import httpx


def test_session_page_shows_phases_evidence_and_timeline(pages_server):
    server, engine, sid = pages_server
    page = httpx.get(f"{server.url}/sessions/{sid}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for phase in engine.state(sid).phases:
        assert f'id="phase-{phase.number}"' in html and phase.title in html
    assert "accepted" in html and "refused" in html  # both submissions are shown
    assert "min_length" in html  # the refusal's rule
    assert "acme/webapp#12" in html
    assert "Session started: notes_v1 on user_authentication" in html  # the timeline, in words
    assert "Evidence for phase 0 accepted." in html and "Evidence for phase 1 refused: 1 problem(s)." in html


def test_sessions_list_links_to_each_session(pages_server):
    server, _, sid = pages_server
    html = httpx.get(f"{server.url}/sessions").text
    assert f'href="/sessions/{sid}"' in html


def test_json_and_unknown_sessions(pages_server):
    server, _, sid = pages_server
    data = httpx.get(f"{server.url}/sessions/{sid}.json").json()
    assert data["session_id"] == sid and data["current_phase"] == 1
    assert httpx.get(f"{server.url}/sessions/ses_doesnotexist").status_code == 404
    assert httpx.get(f"{server.url}/sessions/..%2F..%2Fetc").status_code == 404


def test_user_text_is_escaped(demo_session):
    from bot.pages import render_session

    engine, _ = demo_session
    sid = engine.start("notes_v1", "<script>alert(1)</script> feature").session.session_id
    html = render_session(engine, sid)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
