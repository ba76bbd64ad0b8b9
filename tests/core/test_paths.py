"""Names built by the engine read back by the same functions (paths.py), and the one
change helper (changes.py)."""

from __future__ import annotations

from datetime import date

import pytest

from agent_os import paths
from agent_os.changes import changing
from agent_os.engine import Engine
from agent_os.errors import InputError


def test_a_new_sessions_id_and_spec_dir_parse_back(engine: Engine):
    started = engine.start("notes_v1", "User Auth").session
    assert paths.is_session_id(started.session_id)
    body = f"Spec for auth\n\nagent-os-session: {started.session_id.upper()}\nAgent-OS-Session: {started.session_id}\n"
    assert paths.session_ids_in(body) == [started.session_id]
    changed = [f"{started.spec_dir}/srd.md", f"{started.spec_dir}/specs.md", "app/auth.py", "README.md"]
    assert paths.spec_dirs_in(changed) == [started.spec_dir]
    assert engine.session_for_spec_dir(paths.spec_dirs_in(changed)[0]) == started.session_id


def test_spec_dirs_count_up_on_a_collision_and_hostile_targets_are_refused():
    assert paths.spec_dir_for("auth", date(2026, 1, 2)) == ".agent-os/specs/2026-01-02-auth"
    assert paths.spec_dir_for("auth", date(2026, 1, 2), 3) == ".agent-os/specs/2026-01-02-auth-3"
    assert paths.slugify("docs/User_Auth.md") == "user-auth"
    for hostile in ("../etc", "/abs", "C:\\x", "~root", "", "!!!", "x" * 121):
        with pytest.raises(InputError):
            paths.slugify(hostile)
    assert not paths.is_session_id("ses_../x") and not paths.is_session_id(None)
    with pytest.raises(InputError):
        paths.check_repository("../x")
    with pytest.raises(InputError):
        paths.check_sha("main")


def test_a_change_tells_listeners_only_after_it_commits_and_only_if_it_recorded_something(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    heard: list[str] = []
    engine.subscribe(lambda s, kind: heard.append(kind))
    events_before = len(engine.events(sid))
    with changing(engine.ctx, sid, "nothing"):
        pass
    with pytest.raises(RuntimeError), changing(engine.ctx, sid, "rolled_back") as change:
        change.bump(author="mallory")
        change.event("note", text="never committed")
        raise RuntimeError("boom")
    assert heard == [] and len(engine.events(sid)) == events_before
    assert engine.state(sid).author is None
    with changing(engine.ctx, sid, "noted") as change:
        change.event("note", text="kept")
    assert heard == ["noted"] and engine.events(sid)[-1].data == {"text": "kept"}
