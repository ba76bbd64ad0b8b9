"""A check run's external_id is written and read by one module (bot/checks.py)."""

from __future__ import annotations

from bot.checks import external_id, sessions_in_external_id


def test_external_ids_read_back_the_sessions_they_were_written_for():
    a, b = "ses_0123456789ab", "ses_ba9876543210"
    assert sessions_in_external_id(external_id([a], 3)) == [a]
    assert sessions_in_external_id(external_id([a, b])) == [a, b]
    assert sessions_in_external_id("") == sessions_in_external_id(None) == []
    assert sessions_in_external_id("other-app:1,ses_../x:2") == []
