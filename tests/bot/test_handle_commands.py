"""`/agent-os` commands and the re-check button against a recording fake of GitHub.
(End to end: test_commands.)"""

from __future__ import annotations

import pytest
from botfake import APP_ID, REPO, check_run_event, comment_event, harness, pr_event, pull_json

from bot.checks import HELP
from bot.handlers import parse_command


@pytest.fixture
def hub(tmp_path):
    h = harness(tmp_path)
    yield h
    h.engine.close()


def replies(hub) -> list[str]:
    return [c[3] for c in hub.github.called("reply")]


def test_help_and_unknown_commands_get_the_help_reply_once_per_delivery(hub):
    texts = ["/agent-os help", "/agent-os", "  /Agent-OS HELP", "/agent-os bogus now", "/agent-os  Status2"]
    events = [comment_event(1, "rev", t) for t in texts]
    for e in events:
        hub.deliver(e)
    assert replies(hub) == [HELP, HELP, HELP, "Unknown command `bogus`.\n\n" + HELP,
                            "Unknown command `status2`.\n\n" + HELP]
    assert [c[4] for c in hub.github.called("reply")] == [e.delivery_id for e in events]


def test_people_without_write_access_are_politely_refused(hub):
    for user, text in [("reader", "/agent-os status"), ("stranger", "/agent-os refresh")]:
        assert hub.deliver(comment_event(1, user, text)).startswith(f"refused '{text.split()[1]}' from {user}")
    assert [r.split()[0] for r in replies(hub)] == ["@reader", "@stranger"]
    assert all("only people with write access" in r for r in replies(hub))
    assert hub.github.called("update_status_comment") == [] and hub.github.called("pull") == []


@pytest.mark.parametrize("text", ["LGTM", "please run /agent-os status", "/agent-osx status", "/agent-os-legacy help",
                                  "`/agent-os status`", "> /agent-os help"])
def test_comments_that_are_not_commands_get_no_answer(hub, text):
    assert parse_command(text) is None
    assert hub.deliver(comment_event(1, "rev", text)) == "ignored: not a command on a pull request"
    assert hub.github.writes() == []


def test_bots_apps_and_plain_issues_are_not_obeyed(hub):
    assert hub.deliver(comment_event(1, "agent-os[bot]", "/agent-os help", user_type="Bot")) == \
        "ignored: sent by this app"
    assert hub.deliver(comment_event(1, "other[bot]", "/agent-os help", user_type="Bot")) == \
        "ignored: a bot's comment"
    assert hub.deliver(comment_event(1, "rev", "/agent-os help", via_app=APP_ID)) == "ignored: a bot's comment"
    assert hub.deliver(comment_event(1, "rev", "/agent-os help", on_pull=False)) == \
        "ignored: not a command on a pull request"
    assert hub.github.writes() == []


def test_status_asks_for_the_status_comment(hub):
    hub.deliver(comment_event(5, "rev", "/agent-os status"))
    assert hub.github.writes() == [("update_status_comment", REPO, 5)]


def test_refresh_rereads_head_policy_and_reviews_and_resends_every_check(hub):
    sid = hub.start()
    hub.deliver(pr_event("opened", 1, body=f"Agent-OS-Session: {sid}"))
    hub.github.calls.clear()
    hub.github.config_yaml = "gates:\n  approvals: 2\n"
    hub.github.pulls[1] = pull_json(1, head="d" * 40, base="main")
    hub.deliver(comment_event(1, "rev", "/agent-os refresh"))
    state = hub.engine.state(sid)
    assert state.pull_requests[0].head_sha == "d" * 40
    assert hub.github.writes() == [("recheck", REPO, "d" * 40), ("sync_checks", REPO, 1)]
    assert ("reviews", REPO, 1) in hub.github.calls and ("config", REPO, "main") in hub.github.calls


def test_the_recheck_button_refreshes_the_prs_of_the_runs_sessions(hub):
    sid = hub.start()
    hub.deliver(pr_event("opened", 3, body=f"Agent-OS-Session: {sid}"))
    hub.github.pulls[3] = pull_json(3)
    hub.github.runs[77] = [sid]
    assert hub.deliver(check_run_event(77, "requested_action", identifier="recheck")) == "re-checked PR(s) [3]"
    assert hub.deliver(check_run_event(78, external_id=f"{sid}:0")) == "re-checked PR(s) [3]"  # not recorded
    assert hub.deliver(check_run_event(77, "requested_action", identifier="other")) == "ignored: action 'other'"
    assert hub.deliver(check_run_event(77, app_id=1)) == "ignored: another app's check run"
    assert hub.deliver(check_run_event(77, "completed")) == "ignored: our own check run"  # only CI's are read
