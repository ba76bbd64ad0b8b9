"""Gate policy and its evaluation: pure functions, no I/O.

The decision is always recomputed from the whole review list, never kept as a running
count (bedevere's lesson): whose verdict counts is decided in reviews.py, shared with
the agent's review feedback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .definitions import Gate
from .project import GatePolicyConfig
from .records import Review
from .reviews import latest_verdicts

__all__ = ["GateDecision", "GatePolicy", "Review", "evaluate_gate"]


@dataclass(frozen=True)
class GatePolicy:
    """What a gate needs: the workflow's defaults overridden by the team's settings."""

    approvals: int = 1
    exclude_author: bool = True
    exclude_bots: bool = True
    required_reviewers: tuple[str, ...] = ()
    required_teams: tuple[str, ...] = ()
    team_members: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(team, its members) as last read from GitHub; a team missing here is not known yet."""
    dismiss_stale_on_push: bool = False
    require_resolved_threads: bool = False

    @classmethod
    def build(cls, gate: Gate, *overrides: GatePolicyConfig | None) -> GatePolicy:
        """The workflow's gate with each override applied in turn, field by field."""
        values = {
            "approvals": gate.approvals,
            "exclude_author": gate.exclude_author,
            "exclude_bots": gate.exclude_bots,
            "required_reviewers": tuple(gate.required_reviewers),
            "required_teams": tuple(gate.required_teams),
            "team_members": (),
            "dismiss_stale_on_push": gate.dismiss_stale_on_push,
            "require_resolved_threads": gate.require_resolved_threads,
        }
        for override in overrides:
            if override is None:
                continue
            for key, value in override.model_dump(exclude_none=True).items():
                if key == "team_members":
                    value = tuple(sorted((team.casefold(), tuple(members)) for team, members in value.items()))
                elif key in ("required_reviewers", "required_teams"):
                    value = tuple(value)
                values[key] = value
        return cls(**values)

    def members_of(self, team: str) -> tuple[str, ...] | None:
        """The members of `team` as last read, or None if they are not known."""
        return dict(self.team_members).get(team.casefold())

    def describe(self) -> str:
        """The policy as one sentence a reviewer can read."""
        parts = [f"{self.approvals} approval{'s' if self.approvals != 1 else ''}"]
        required = [f"@{r}" for r in self.required_reviewers]
        required += [f"a member of @{t}" for t in self.required_teams]
        if required:
            parts.append("including " + ", ".join(required))
        excluded = [w for w, on in (("the author", self.exclude_author), ("bots", self.exclude_bots)) if on]
        text = "Needs " + " ".join(parts)
        if excluded:
            text += " (not from " + " or ".join(excluded) + ")"
        extra = []
        if self.dismiss_stale_on_push:
            extra.append("approvals of an older commit do not count")
        if self.require_resolved_threads:
            extra.append("every review thread on the spec files must be resolved")
        return text + ("; " + "; ".join(extra) if extra else "") + "."


@dataclass(frozen=True)
class GateDecision:
    """Whether a gate is satisfied, with the reasons a person can act on."""

    satisfied: bool
    approvals: tuple[Review, ...]
    blocking: tuple[str, ...]
    ignored: tuple[str, ...]
    reasons: tuple[str, ...] = field(default=())


def evaluate_gate(
    policy: GatePolicy,
    reviews: Iterable[Review],
    *,
    author: str | None,
    since: datetime | None = None,
    head_sha: str | None = None,
    unresolved_threads: int = 0,
) -> GateDecision:
    """Decide a gate from the reviews recorded since its phase opened (`since`)."""
    verdicts = latest_verdicts(reviews, author=author, since=since, exclude_author=policy.exclude_author,
                               exclude_bots=policy.exclude_bots)
    ignored = list(verdicts.ignored)
    approvals: list[Review] = []
    blocking: list[str] = []
    for review in verdicts.latest:
        if review.state == "changes_requested":
            blocking.append(review.reviewer)
        elif review.state == "approved":
            stale = policy.dismiss_stale_on_push and head_sha and review.commit_id and review.commit_id != head_sha
            if stale:
                ignored.append(
                    f"@{review.reviewer}: approved commit {review.commit_id[:7]}, not the current head {head_sha[:7]}"
                )
            else:
                approvals.append(review)

    reasons: list[str] = []
    if len(approvals) < policy.approvals:
        missing = policy.approvals - len(approvals)
        reasons.append(f"waiting for {missing} more approval{'s' if missing != 1 else ''} ({len(approvals)} of {policy.approvals})")
    approvers = {a.reviewer.casefold() for a in approvals}
    for required in policy.required_reviewers:
        if required.casefold() not in approvers:
            reasons.append(f"waiting for @{required}, a required reviewer")
    for team in policy.required_teams:
        members = policy.members_of(team)
        if members is None:
            reasons.append(f"waiting for a member of @{team}, a required team (its members are read from "
                           "GitHub with the gate policy; without the GitHub App they are not known)")
        elif not approvers & {m.casefold() for m in members}:
            reasons.append(f"waiting for a member of @{team}, a required team")
    for name in blocking:
        reasons.append(f"@{name} requested changes: address them, then ask for a new review")
    if policy.require_resolved_threads and unresolved_threads:
        reasons.append(f"{unresolved_threads} review thread(s) on the spec files are unresolved")
    return GateDecision(
        satisfied=not reasons,
        approvals=tuple(approvals),
        blocking=tuple(blocking),
        ignored=tuple(ignored),
        reasons=tuple(reasons),
    )
