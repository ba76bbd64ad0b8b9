"""What the PR's check runs should say, computed from session state. Pure: no I/O.

One check per phase, `Agent OS / <n> <title>`, and one overall, `Agent OS`, the name a
team marks as required. A phase waiting at its gate completes as `action_required`:
`neutral` would satisfy a required check, and `in_progress` goes stale after 14 days.

A pull request may carry several sessions (say a spec and its execution). Then each
phase check is prefixed with its session's target so the names stay apart, and the
overall check passes only when every linked session is complete.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from agent_os.paths import is_session_id
from agent_os.report import failures_markdown, gate_markdown, phase_markdown, state_word
from agent_os.views import PhaseSummary, SessionState

OVERALL = "Agent OS"
RECHECK = "recheck"
MAX_TEXT = 60_000  # GitHub allows 65535 characters; keep room for the truncation note


def external_id(session_ids: list[str], phase: int | None = None) -> str:
    """What a check run's `external_id` says: `<session>:<phase>` for a phase check, the
    sessions joined by commas for the overall one. `sessions_in_external_id` reads it back."""
    if phase is not None:
        return f"{session_ids[0]}:{phase}"
    return ",".join(session_ids)


def sessions_in_external_id(value: str | None) -> list[str]:
    """The session ids a check run's `external_id` names (see `external_id`)."""
    return [part.split(":")[0] for part in (value or "").split(",") if is_session_id(part.split(":")[0])]


@dataclass(frozen=True)
class CheckSpec:
    """One check run as it should be on the head commit."""

    name: str
    status: str  # queued | in_progress | completed
    conclusion: str | None
    title: str
    summary: str
    text: str
    external_id: str
    details_url: str | None
    session_ids: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The REST body for creating (plus `head_sha`) or updating this check run."""
        body: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "external_id": self.external_id,
            "output": {"title": self.title, "summary": _cap(self.summary), "text": _cap(self.text)},
            "actions": [{"label": "Re-check", "description": "Recompute from the workflow session",
                         "identifier": RECHECK}],
        }
        if not self.text:
            del body["output"]["text"]
        if self.conclusion is not None:
            body["conclusion"] = self.conclusion
        if self.details_url:
            body["details_url"] = self.details_url
        return body

    def digest(self) -> str:
        """A hash of the body, so an unchanged check is not sent again."""
        return hashlib.sha256(json.dumps(self.body(), sort_keys=True).encode()).hexdigest()


def _cap(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + "\n\n… (truncated; the session page has everything)"


def session_url(public_url: str, session_id: str) -> str | None:
    """The session page, the check runs' details link (None when no public URL is set)."""
    return f"{public_url.rstrip('/')}/sessions/{session_id}" if public_url else None


def phase_check_name(session: SessionState, phase: PhaseSummary, prefixed: bool) -> str:
    """`Agent OS / 2 Technical design`, or with the target first when several sessions share a PR."""
    middle = f"{session.target} / " if prefixed else ""
    return f"{OVERALL} / {middle}{phase.number} {phase.title}"


def no_longer_passes(phase: PhaseSummary) -> bool:
    """Whether a phase that passed fails at the PR's head: re-verified there, or its CI checks."""
    v = phase.verification
    ci_failed = phase.ci is not None and phase.ci.state == "failed"
    return (ci_failed or (v is not None and not v.passed)) and phase.state in ("complete", "awaiting_approval")


def _where(phase: PhaseSummary) -> str:
    """The commit a phase that no longer passes fails at."""
    v = phase.verification
    if v is not None and not v.passed:
        return v.commit[:7]
    return (phase.ci.head_sha or "")[:7] if phase.ci else ""


def _phase_status(phase: PhaseSummary) -> tuple[str, str | None, str]:
    if no_longer_passes(phase):
        v = phase.verification
        if v is not None and not v.passed:
            return "completed", "failure", f"No longer passes at {v.commit[:7]} ({len(v.failures)} problem(s))"
        return "completed", "failure", f"CI fails at {_where(phase)}: {phase.ci.reason[len('CI failed: '):][:80]}"
    if phase.state == "complete":
        return "completed", "success", "Complete"
    if phase.state == "awaiting_approval":
        return "completed", "action_required", "Checkpoint passed; waiting for approval"
    if phase.state == "active":
        if phase.ci is not None:
            return "in_progress", None, f"Checkpoint passed; {phase.ci.reason}"
        sub = phase.last_submission
        ci_failed = [f for f in sub.failures if f.rule == "ci_passed"] if sub is not None else []
        if ci_failed:
            return "in_progress", None, f"CI failed ({ci_failed[0].found[:80]}); the agent is on it"
        if sub is not None and not sub.accepted:
            return "in_progress", None, f"Evidence refused ({len(sub.failures)} problem(s)); the agent is on it"
        return "in_progress", None, "In progress"
    return "queued", None, "Not started"


def phase_check(session: SessionState, phase: PhaseSummary, *, prefixed: bool, public_url: str) -> CheckSpec:
    """The check run of one phase."""
    status, conclusion, title = _phase_status(phase)
    url = session_url(public_url, session.session_id)
    summary = [f"**{session.workflow}** — phase {phase.number} of {len(session.phases) - 1}: "
               f"{phase.title} ({state_word(phase.state)})."]
    if phase.gate is not None and phase.state == "awaiting_approval":
        summary.append(f"A person approves this phase by approving the pull request. {phase.gate.policy}")
    text = phase_markdown(phase)
    v = phase.verification
    if v is not None:
        how = "re-checked" if v.rechecked else "every file its checkpoint read is unchanged"
        summary.append(f"Verified at commit `{v.commit[:7]}` ({how}).")
        if not v.passed:
            missing = "".join(f"\n- `{m}` is not in the pull request" for m in v.missing)
            summary.append("The files at that commit no longer pass the checkpoint: fix them and push."
                           + (f"\n{missing}" if missing else ""))
            text = failures_markdown(v.failures) + "\n\n" + text
    elif phase.state in ("complete", "awaiting_approval"):
        summary.append("Verified on the files sent with the checkpoint.")
    if phase.ci is not None and phase.ci.state == "failed" and phase.state != "active":
        summary.append(f"{phase.ci.reason}: the tests this phase passed fail at the head commit. Fix them and push.")
    if url:
        summary.append(f"[Session {session.session_id}]({url})")
    return CheckSpec(
        name=phase_check_name(session, phase, prefixed),
        status=status, conclusion=conclusion, title=title,
        summary="\n\n".join(summary), text=text,
        external_id=external_id([session.session_id], phase.number), details_url=url,
        session_ids=[session.session_id],
    )


def overall_check(sessions: list[SessionState], *, public_url: str) -> CheckSpec:
    """The overall `Agent OS` check: success only when every linked session is complete."""
    lines, waiting, refused, broken = [], [], False, []
    for s in sessions:
        done = sum(p.state == "complete" for p in s.phases)
        url = session_url(public_url, s.session_id)
        name = f"[{s.workflow} · {s.target}]({url})" if url else f"{s.workflow} · {s.target}"
        lines.append(f"- {name}: {done} of {len(s.phases)} phases complete; {s.next_step}")
        for p in s.phases:
            if no_longer_passes(p):
                broken.append(p)
            elif p.state == "awaiting_approval":
                waiting.append((s, p))
            if p.state == "active" and p.last_submission is not None and not p.last_submission.accepted:
                refused = True
    if broken:
        p = broken[0]
        status, conclusion = "completed", "failure"
        title = f"Phase {p.number} {p.title} no longer passes at {_where(p)}"
    elif sessions and all(s.status == "complete" for s in sessions):
        status, conclusion, title = "completed", "success", "Every workflow phase is complete"
    elif waiting:
        s, p = waiting[0]
        status, conclusion = "completed", "action_required"
        title = f"Waiting for approval: phase {p.number} {p.title}"
    else:
        status, conclusion = "in_progress", None
        title = "Workflow in progress" + (" (latest evidence refused)" if refused else "")
    text = "\n\n".join(gate_markdown(p.gate) for _, p in waiting if p.gate is not None)
    ids = [s.session_id for s in sessions]
    return CheckSpec(
        name=OVERALL, status=status, conclusion=conclusion, title=title,
        summary="\n".join(lines) or "No workflow session is linked to this pull request.",
        text=text, external_id=external_id(ids),
        details_url=session_url(public_url, ids[0]) if len(ids) == 1 else
        (f"{public_url.rstrip('/')}/sessions" if public_url else None),
        session_ids=ids,
    )


def checks_for(sessions: list[SessionState], *, public_url: str = "", notes: list[str] | None = None) -> list[CheckSpec]:
    """Every check run a PR carrying `sessions` should show: phases in order, then the overall.

    `notes` (problems the bot met, such as a permission the App lacks) head the summary of
    the overall check and of every phase waiting at its gate: where a person looks first.
    """
    prefixed = len(sessions) > 1
    specs = [phase_check(s, p, prefixed=prefixed, public_url=public_url) for s in sessions for p in s.phases]
    specs.append(overall_check(sessions, public_url=public_url))
    if notes:
        lead = "\n".join(f"> **Warning:** {n}" for n in notes)
        specs = [replace(c, summary=f"{lead}\n\n{c.summary}")
                 if c.name == OVERALL or c.conclusion == "action_required" else c for c in specs]
    return specs


def marker(key: str) -> str:
    """The hidden HTML comment that lets the bot find a comment it posted, by its outbox key.

    Keys come from us (and delivery ids from GitHub's header): anything that could end the
    HTML comment early is dropped.
    """
    safe = re.sub(r"[^A-Za-z0-9:#/._@-]", "", key).replace("--", "-")
    return f"<!-- agent-os:{safe} -->"


MARKER = marker("status")


def status_comment(sessions: list[SessionState], *, public_url: str = "") -> str:
    """The one status comment the bot keeps (and edits) on a PR."""
    lines = [MARKER, "### Agent OS status", ""]
    if not sessions:
        lines.append("No workflow session is linked to this pull request. Link one with the line "
                     "`Agent-OS-Session: <session id>` in the PR description, or the MCP tool "
                     "`link_pull_request`.")
    for s in sessions:
        url = session_url(public_url, s.session_id)
        head = f"**{s.workflow}** · `{s.target}` · session [`{s.session_id}`]({url})" if url else \
            f"**{s.workflow}** · `{s.target}` · session `{s.session_id}`"
        lines += [head, "", "| # | Phase | State |", "|---|---|---|"]
        lines += [f"| {p.number} | {p.title} | {state_word(p.state)} |" for p in s.phases]
        lines += ["", f"Next: {s.next_step}", ""]
    return "\n".join(lines).rstrip() + "\n"


HELP = """\
**Agent OS commands** (people with write access to this repository):

- `/agent-os status` — show (and keep updated) the workflow status comment
- `/agent-os refresh` — re-read the gate policy from the base branch and re-post the checks
- `/agent-os help` — this message
"""
