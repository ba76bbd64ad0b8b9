"""Gate decisions that need more than counting: required teams."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent_os.definitions import Gate
from agent_os.errors import InputError
from agent_os.gates import GatePolicy, Review, evaluate_gate
from agent_os.project import GatePolicyConfig, parse_config


def approved(*logins: str) -> list[Review]:
    return [Review(login, "approved", datetime.now(UTC), "github") for login in logins]


def team_policy(members: dict[str, list[str]] | None) -> GatePolicy:
    config = GatePolicyConfig(approvals=1, required_teams=["acme/Security"], team_members=members)
    return GatePolicy.build(Gate(), config)


def test_a_required_team_needs_one_of_its_members_to_approve():
    policy = team_policy({"acme/Security": ["Carol", "dave"]})
    waiting = evaluate_gate(policy, approved("bob"), author="alice")
    assert not waiting.satisfied
    assert waiting.reasons == ("waiting for a member of @acme/Security, a required team",)
    assert evaluate_gate(policy, approved("bob", "carol"), author="alice").satisfied
    assert "a member of @acme/Security" in policy.describe()


def test_a_team_whose_members_are_unknown_keeps_the_gate_closed_and_says_why():
    decision = evaluate_gate(team_policy(None), approved("bob", "carol"), author="alice")
    assert not decision.satisfied
    assert "members are read from GitHub" in decision.reasons[0]


def test_the_author_cannot_stand_for_their_own_team():
    policy = team_policy({"acme/security": ["alice"]})
    assert not evaluate_gate(policy, approved("alice", "bob"), author="alice").satisfied


def test_team_names_are_checked_when_the_config_is_read():
    assert parse_config("gates:\n  required_teams: [acme/security]\n").gates.required_teams == ["acme/security"]
    with pytest.raises(InputError, match="required_teams"):
        parse_config("gates:\n  required_teams: ['not a team']\n")
