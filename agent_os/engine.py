"""The workflow engine: sessions that move through phases only on checked evidence.

Every rule about phases, evidence and gates lives here (and in `evidence.py` and
`gates.py`, which it calls); the CLI, the MCP server and the GitHub App only translate.
A refused call changes no session state: it is recorded as a refused submission and
nothing else.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from . import files as filesource
from . import views
from .authoring import build_definition, write_workflow
from .definitions import Phase, Workflow
from .errors import (
    Conflict,
    EvidenceRejected,
    GateClosed,
    InputError,
    NotFoundError,
    Refused,
    SessionComplete,
    WrongPhase,
)
from .evidence import CheckContext, check_evidence
from .execution import expand_tasks_md
from .gates import GateDecision, GatePolicy, Review, evaluate_gate
from .project import SPECS_DIR, GatePolicyConfig, Project
from .registry import Registry, summary
from .reviews import Thread, latest_verdicts, review_threads, same_login, unresolved_count
from .records import CommentRecord, PhaseRecord, PullRequestRecord, SessionRecord, now
from .store import SessionStore, open_store

log = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^ses_[a-z0-9]{6,32}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?$)[A-Za-z0-9_.-]{1,100}$")
MAX_TARGET = 120

Listener = Callable[[str, str], None]


def slugify(target: str) -> str:
    """A safe directory slug for a spec target such as "user_authentication"; hostile input refused."""
    if not isinstance(target, str) or not target.strip():
        raise InputError("target_file is empty.", hint='Name what the spec is for, e.g. "user_authentication".')
    text = target.strip()
    if len(text) > MAX_TARGET:
        raise InputError(f"target_file is {len(text)} characters; at most {MAX_TARGET} are allowed.")
    if text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text) or ".." in text or "\x00" in text:
        raise InputError(
            f"target_file {target!r} is a path outside the project.",
            hint='Give a short name for the feature, e.g. "user_authentication"; the spec directory is created for you.',
        )
    slug = re.sub(r"[^a-z0-9]+", "-", Path(text).stem.lower() if "/" in text else text.lower()).strip("-")[:60]
    if not slug:
        raise InputError(f"target_file {target!r} has no letters or digits to name a spec directory after.")
    return slug


class Engine:
    """Sessions of workflows on one project and one store."""

    def __init__(self, project: Project, store: SessionStore, *, files: filesource.FileSource | None = None) -> None:
        self.project = project
        self.store = store
        # Where the project's files are read unless a call brings its own (a snapshot, a commit).
        self.files = files if files is not None else filesource.WorkingTree(project.root)
        self.registry = Registry(project)
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()

    @classmethod
    def open(cls, project: Project, store: SessionStore | None = None) -> Engine:
        """The engine for `project`, opening (and migrating) its session store unless one is given."""
        return cls(project, store or open_store(project.db_path))

    @property
    def db(self) -> Any:
        """The database the session store lives in, for components that keep their own tables beside it."""
        return self.store.db  # type: ignore[attr-defined]

    def close(self) -> None:
        """Close the session store."""
        self.store.close()

    def _bump(self, rec: SessionRecord, **changes: Any) -> None:
        """Advance the session's revision from `rec.rev` (inside its locked transaction), or refuse.

        Under the session's row lock nobody else can have moved it; if the
        compare-and-set still fails, the whole transaction is rolled back.
        """
        if not self.store.bump(rec.id, rec.rev, **changes):
            raise Conflict(f"Session {rec.id} was changed by another call at the same moment; nothing was written.",
                           hint="Read the session again (get_workflow_state) and retry if still needed.")

    # change notification -----------------------------------------------------------------

    def subscribe(self, callback: Listener) -> None:
        """Call `callback(session_id, event_kind)` after each committed change to a session."""
        with self._listeners_lock:
            self._listeners.append(callback)

    def _notify(self, session_id: str, kind: str) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(session_id, kind)
            except Exception:  # a listener's failure must not undo a committed change
                log.exception("session listener failed", extra={"session_id": session_id})

    # workflows ---------------------------------------------------------------------------

    def list_workflows(self) -> list[views.WorkflowSummary]:
        """Workflows this project can start."""
        return self.registry.summaries()

    def workflow(self, name: str) -> Workflow:
        """A workflow definition by name."""
        return self.registry.load(name)

    def validate_workflow(self, name_or_dir: str) -> views.ValidationReport:
        """Check a workflow by name or directory; every problem is listed."""
        return self.registry.validate(name_or_dir)

    def create_workflow(self, name: str, workflow_type: str, phases: list[Any]) -> views.WorkflowSummary:
        """Write a new workflow into `.agent-os/workflows/<name>/`, valid by construction."""
        data, files = build_definition(name, workflow_type, phases)
        try:
            self.registry.directory(name)
        except NotFoundError:
            pass
        else:
            raise InputError(f"A workflow named {name!r} already exists.", hint="Choose another name.")
        directory = write_workflow(self.project.workflows_dir, data, files)
        return summary(self.registry.load(directory.name), "project")

    # sessions ----------------------------------------------------------------------------

    def start(self, workflow: str, target: str, *, author: str | None = None,
              files: filesource.FileSource | None = None) -> views.StartResult:
        """Start `workflow` on `target`, or resume the open session of that workflow and target.

        `files` is where the project is read (default: the engine's source); a new spec
        directory is created only in a source that can write (the solo working tree).
        """
        wf = self.workflow(workflow)
        source = files if files is not None else self.files
        if wf.target == "existing_spec":
            spec_rel, key = self._existing_spec(target, source)
        else:
            key = slugify(target)
            spec_rel = None
        existing = self.store.open_session_for(wf.name, key)
        if existing is not None:
            return views.StartResult(resumed=True, session=self.state(existing.id), phase=self._current_view(existing.id))
        if spec_rel is None:
            spec_rel = self._new_spec_dir(key, source)
        else:
            self._require_approved(spec_rel, wf.name)
        session_id = "ses_" + secrets.token_hex(6)
        at = now()
        rec = SessionRecord(session_id, wf.name, wf.version, target.strip(), key, spec_rel, "active", author, None,
                            None, 0, at, at)
        phases = [self._phase_record(session_id, i, wf, p, at) for i, p in enumerate(wf.phases)]
        if isinstance(source, filesource.WritableSource):
            source.make_dir(spec_rel)
        try:
            with self.store.transaction():
                self.store.insert_session(rec, phases)
                self.store.add_event(session_id, "session_started", 0, workflow=wf.name, target=rec.target,
                                     spec_dir=spec_rel)
                self.store.add_event(session_id, "phase_started", 0, title=phases[0].title)
        except Exception as exc:
            # Lost a race with another start of the same target: resume theirs.
            other = self.store.open_session_for(wf.name, key)
            if other is None:
                raise
            log.info("start raced; resuming %s (%s)", other.id, exc)
            return views.StartResult(resumed=True, session=self.state(other.id), phase=self._current_view(other.id))
        self._notify(session_id, "session_started")
        return views.StartResult(resumed=False, session=self.state(session_id), phase=self._current_view(session_id))

    def _new_spec_dir(self, slug: str, source: filesource.FileSource) -> str:
        base = f"{SPECS_DIR}/{now():%Y-%m-%d}-{slug}"
        candidate, n = base, 2
        while source.exists(candidate) and self.store.sessions_for_spec_dir(candidate):
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def _existing_spec(self, target: str, source: filesource.FileSource) -> tuple[str, str]:
        if not isinstance(target, str) or not target.strip():
            raise InputError("target_file is empty.", hint="Name the approved spec directory, e.g. "
                             "'.agent-os/specs/2026-11-24-user-authentication'.")
        text = target.strip().rstrip("/")
        candidates = []
        if "/" in text or "\\" in text:
            try:
                candidates.append(filesource.normalise(text))
                source.exists(candidates[-1])
            except filesource.PathOutside:
                raise InputError(f"target_file {target!r} leaves the project directory.",
                                 hint="Name a spec directory inside .agent-os/specs/.") from None
        else:
            if ".." in text:
                raise InputError(f"target_file {target!r} is not a spec directory name.")
            specs = SPECS_DIR
            candidates.append(f"{specs}/{text}")
            if source.is_dir(specs):
                slug = slugify(text)
                candidates += sorted((f"{specs}/{name}" for name in source.list_dir(specs)
                                      if name.endswith("-" + slug) and source.is_dir(f"{specs}/{name}")), reverse=True)
        for rel in candidates:
            if source.is_dir(rel):
                return rel, rel
        raise NotFoundError(
            f"No spec directory {target!r}.",
            hint="spec_execution_v1 works from an approved spec: pass its directory, e.g. "
            "'.agent-os/specs/2026-11-24-user-authentication' (see `agent-os status`).",
        )

    def _require_approved(self, spec_rel: str, workflow: str) -> None:
        for s in self.store.sessions_for_spec_dir(spec_rel):
            if s.workflow != workflow and s.status != "complete":
                raise Refused(
                    f"The spec in {spec_rel} is not approved yet: session {s.id} ({s.workflow}) is still open.",
                    hint=f"Finish that session first (get_workflow_state('{s.id}')).",
                )

    def _phase_record(self, session_id: str, number: int, wf: Workflow, phase: Phase, at: datetime,
                      *, tasks_section: str | None = None) -> PhaseRecord:
        instructions = wf.read_text(phase.instructions) if wf.directory else ""
        task_text = {t.id: (wf.read_text(t.instructions) if t.instructions and wf.directory else t.title)
                     for t in phase.tasks}
        definition = {"phase": phase.model_dump(mode="json"), "instructions": instructions,
                      "task_instructions": task_text, "workflow_dir": str(wf.directory)}
        title = phase.title if phase.expand is None else f"{phase.title} (phases from tasks.md)"
        state = "active" if number == 0 else "pending"
        return PhaseRecord(session_id, number, phase.id, title, state, definition, tasks_section,
                           at if number == 0 else None, None)

    def _session(self, session_id: Any) -> SessionRecord:
        if not isinstance(session_id, str) or not session_id.strip():
            raise InputError("session_id must be a non-empty string such as 'ses_3f9a1c2b7d4e'.")
        rec = self.store.session(session_id.strip()) if _SESSION_ID.match(session_id.strip()) else None
        if rec is None:
            raise NotFoundError(f"No session {session_id!r}.",
                                hint="list_sessions shows the sessions; start_workflow starts one.")
        return rec

    # reading -----------------------------------------------------------------------------

    def state(self, session_id: str) -> views.SessionState:
        """Everything about a session: phases, gates, evidence results, linked PRs."""
        rec = self._session(session_id)
        phases = self.store.phases(rec.id)
        subs = self.store.submissions(rec.id)
        current = _current(phases)
        summaries = []
        for p in phases:
            last = next((s for s in reversed(subs) if s.phase == p.number), None)
            phase = Phase.model_validate(p.definition["phase"])
            gate = self._gate_view(rec, p, phase) if phase.gate and p.state in ("active", "awaiting_approval") else None
            if phase.gate and p.state == "complete":
                gate = self._gate_view(rec, p, phase)
            summaries.append(views.PhaseSummary(
                number=p.number, id=p.phase_id, title=p.title, state=p.state,
                tasks=[views.TaskSummary(id=t.id, title=t.title) for t in phase.tasks],
                has_gate=phase.gate is not None, gate=gate,
                last_submission=_submission_view(last) if last else None,
                started_at=p.started_at, completed_at=p.completed_at,
            ))
        return views.SessionState(
            session_id=rec.id, workflow=rec.workflow, workflow_version=rec.workflow_version, target=rec.target,
            spec_dir=rec.spec_dir, status=rec.status, current_phase=current.number if current else None,
            phases=summaries, pull_requests=[self._pr_view(p) for p in self.store.pull_requests(rec.id)],
            author=rec.author, repository=rec.repository, created_at=rec.created_at, updated_at=rec.updated_at,
            next_step=_next_step(rec, current, summaries),
        )

    def current_phase(self, session_id: str) -> views.PhaseView:
        """The phase the session is on, with its instructions and the evidence it demands."""
        rec = self._session(session_id)
        view = self._current_view(rec.id)
        if view is None:
            raise SessionComplete(f"Session {rec.id} is complete: every phase has passed.",
                                  hint="Start the next workflow, e.g. spec_execution_v1 on this spec.")
        return view

    def _current_view(self, session_id: str) -> views.PhaseView | None:
        phases = self.store.phases(session_id)
        current = _current(phases)
        return self._phase_view(session_id, current, len(phases)) if current else None

    def _phase_view(self, session_id: str, p: PhaseRecord, total: int) -> views.PhaseView:
        phase = Phase.model_validate(p.definition["phase"])
        rec = self._session(session_id)
        cp = phase.checkpoint
        evidence = {
            name: views.EvidenceFieldView(
                type=f.type, required=f.required, description=f.description, example=f.example,
                constraints={k: v for k, v in f.model_dump(
                    exclude={"type", "required", "description", "example"}, exclude_none=True).items()
                    if v not in ([], False) and (f.type == "path" or k not in ("must_exist", "within_spec_dir"))},
            )
            for name, f in cp.evidence.items()
        }
        if cp.checks:
            for name, desc in (("test_command", "The test command this phase's tasks.md section names."),
                               ("test_summary", "The runner's final summary line, e.g. '12 passed in 0.84s'.")):
                evidence.setdefault(name, views.EvidenceFieldView(type="string", required=True, description=desc))
        gate = None
        if phase.gate:
            gate = self._policy(rec, phase).describe()
        return views.PhaseView(
            session_id=session_id, number=p.number, id=p.phase_id, title=p.title, state=p.state,
            instructions=p.definition.get("instructions", ""),
            tasks=[views.TaskSummary(id=t.id, title=t.title) for t in phase.tasks],
            evidence=evidence,
            artifacts=[views.ArtifactView(path=a.path, description=a.description,
                                          required_headings=list(a.required_headings),
                                          counts=[c.model_dump() for c in a.counts], min_words=a.min_words)
                       for a in cp.artifacts],
            checks=list(cp.checks), tasks_section=p.tasks_section, gate=gate, spec_dir=rec.spec_dir,
            phases_total=total,
        )

    def get_task(self, session_id: str, phase: int | str, task_id: str) -> views.TaskView:
        """One task's instructions."""
        rec = self._session(session_id)
        p = self._resolve_phase(rec, phase)
        definition = Phase.model_validate(p.definition["phase"])
        for t in definition.tasks:
            if t.id == task_id:
                text = p.definition.get("task_instructions", {}).get(t.id) or t.title
                return views.TaskView(session_id=rec.id, phase=p.number, task_id=t.id, title=t.title,
                                      instructions=text)
        known = ", ".join(t.id for t in definition.tasks) or "none"
        raise NotFoundError(f"Phase {p.number} ({p.title}) has no task {task_id!r}.", hint=f"Its tasks: {known}.")

    def _resolve_phase(self, rec: SessionRecord, phase: Any) -> PhaseRecord:
        phases = self.store.phases(rec.id)
        if isinstance(phase, bool) or not isinstance(phase, int | str):
            raise InputError(f"phase must be a phase number or id, not {type(phase).__name__}.")
        if isinstance(phase, str) and phase.strip().isdigit():
            phase = int(phase.strip())
        for p in phases:
            if p.number == phase or p.phase_id == phase:
                return p
        listing = ", ".join(f"{p.number} ({p.phase_id})" for p in phases)
        raise NotFoundError(f"Session {rec.id} has no phase {phase!r}.", hint=f"Its phases: {listing}.")

    def list_sessions(self, status: str | None = None) -> list[views.SessionSummary]:
        """Sessions, most recently updated first."""
        if status not in (None, "active", "complete"):
            raise InputError(f"Unknown status {status!r}.", hint="Use 'active' or 'complete'.")
        out = []
        for rec in self.store.sessions(status):
            phases = self.store.phases(rec.id)
            cur = _current(phases)
            out.append(views.SessionSummary(
                session_id=rec.id, workflow=rec.workflow, target=rec.target, spec_dir=rec.spec_dir,
                status=rec.status, current_phase=cur.number if cur else None,
                current_phase_title=cur.title if cur else None, current_phase_state=cur.state if cur else None,
                phases_complete=sum(p.state == "complete" for p in phases), phases_total=len(phases),
                repository=rec.repository,
                updated_at=rec.updated_at,
            ))
        return out

    def events(self, session_id: str, after_id: int = 0) -> list[views.EventView]:
        """The session's append-only timeline."""
        rec = self._session(session_id)
        return [views.EventView(id=e.id, session_id=e.session_id, kind=e.kind, phase=e.phase, data=e.data, at=e.at)
                for e in self.store.events(rec.id, after_id)]

    def submissions(self, session_id: str) -> list[views.SubmissionView]:
        """Every evidence submission of the session, accepted or refused."""
        rec = self._session(session_id)
        return [_submission_view(s) for s in self.store.submissions(rec.id)]

    # completing phases -------------------------------------------------------------------

    def complete_phase(self, session_id: str, phase: int | str, evidence: Any, *,
                       files: filesource.FileSource | None = None) -> views.CompletionResult:
        """Check `evidence` against the phase's checkpoint and, if it passes, move on.

        Refused (nothing changes but the submission log) when the phase is not the active
        one, waits at its gate, or the evidence fails any check; every failure is listed.
        The files are read from `files` (a snapshot or a commit) or else the engine's source.
        """
        source = files if files is not None else self.files
        rec = self._session(session_id)
        if rec.status == "complete":
            raise SessionComplete(f"Session {rec.id} is complete; there is no phase left to finish.")
        target = self._resolve_phase(rec, phase)
        phases = self.store.phases(rec.id)
        current = _current(phases)
        assert current is not None
        self._check_order(rec, target, current)
        definition = Phase.model_validate(target.definition["phase"])
        ctx = CheckContext(files=source, spec_dir=rec.spec_dir, tasks_section=target.tasks_section)
        result = check_evidence(definition.checkpoint, evidence, ctx)
        failures = [f.to_dict() for f in result.failures]
        expansion = None
        nxt = next((p for p in phases if p.number == target.number + 1), None)
        if not failures and nxt is not None and Phase.model_validate(nxt.definition["phase"]).expand == "tasks_md":
            expansion, problems = self._expand(rec, nxt, source)
            failures += [{"field": "tasks.md", "rule": "phases", "expected": "'## Phase N: Title' sections with '- [ ]' tasks",
                          "found": p, "fix": "Fix tasks.md in the spec directory, then submit again."} for p in problems]
        accepted = not failures
        # What must not have changed meanwhile is the phases, not the whole session: a
        # webhook linking the PR or moving its head bumps the revision too, and must not
        # turn a good submission into a false "another call completed this phase".
        seen = [(p.number, p.state) for p in phases]
        with self.store.transaction(rec.id):
            fresh = self.store.session(rec.id)
            if fresh is None or fresh.status != rec.status or \
                    [(p.number, p.state) for p in self.store.phases(rec.id)] != seen:
                raise WrongPhase(
                    f"Session {rec.id} changed while this evidence was being checked "
                    f"(another call completed or approved a phase first).",
                    hint="Call get_current_phase to see where the session is now.",
                )
            self.store.add_submission(rec.id, target.number, accepted, _jsonable(evidence), failures,
                                      list(result.verified))
            if not accepted:
                self.store.add_event(rec.id, "evidence_refused", target.number, failures=len(failures))
            else:
                self._bump(fresh)
                if expansion is not None:
                    self.store.replace_phases_from(rec.id, nxt.number, expansion)
                self.store.add_event(rec.id, "evidence_accepted", target.number)
                if definition.gate is not None:
                    self.store.set_phase_state(rec.id, target.number, "awaiting_approval", now())
                    self.store.add_event(rec.id, "gate_waiting", target.number,
                                         policy=self._policy(fresh, definition).describe())
                    self._settle_gate(rec.id)
                else:
                    self._advance(rec.id, target.number)
        if not accepted:
            from .report import failures_markdown

            raise EvidenceRejected(
                f"Phase {target.number} ({target.title}) refused the evidence: {len(failures)} problem(s).\n"
                + failures_markdown(failures),
                hint="Fix every item above and call complete_phase again with the corrected evidence. "
                "Report only what is true of the files.",
                data={"failures": failures, "phase": target.number},
            )
        self._notify(rec.id, "phase_completed")
        after = self.state(rec.id)
        done = next(p for p in after.phases if p.number == target.number)
        next_view = self._current_view(rec.id) if after.status == "active" else None
        if done.state == "awaiting_approval":
            message = (f"Phase {target.number} ({target.title}) passed its checkpoint and waits for approval: "
                       f"{'; '.join(done.gate.reasons) if done.gate else ''}. A person approves it on the pull request "
                       f"or with `agent-os approve {rec.id} --by NAME`; you cannot.")
        elif after.status == "complete":
            message = f"Phase {target.number} ({target.title}) is complete, and so is the session."
        else:
            message = (f"Phase {target.number} ({target.title}) is complete. Next: phase {next_view.number} "
                       f"({next_view.title}).") if next_view else "Phase complete."
        return views.CompletionResult(
            session_id=rec.id, phase=target.number, phase_state=done.state, verified=list(result.verified),
            next_phase=next_view if done.state == "complete" else None, gate=done.gate,
            session_complete=after.status == "complete", message=message,
        )

    def _check_order(self, rec: SessionRecord, target: PhaseRecord, current: PhaseRecord) -> None:
        if target.number == current.number and current.state == "awaiting_approval":
            gate = self.gate(rec.id)
            reasons = "; ".join(gate.reasons) if gate else ""
            raise GateClosed(
                f"Phase {current.number} ({current.title}) already passed its checkpoint and waits for a "
                f"person's approval ({reasons}).",
                hint="Approval comes from a reviewer on the pull request, or `agent-os approve` in solo mode. "
                "Tell the person; do not resubmit.",
            )
        if target.state == "complete":
            raise WrongPhase(f"Phase {target.number} ({target.title}) is already complete; phases are never re-entered.",
                             hint=f"The session is on phase {current.number} ({current.title}).")
        if target.number != current.number:
            raise WrongPhase(
                f"Phase {target.number} ({target.title}) cannot start before phase {current.number} "
                f"({current.title}) is complete: phases cannot be skipped.",
                hint=f"Work on phase {current.number}: call get_current_phase('{rec.id}').",
            )

    def _expand(self, rec: SessionRecord, template_rec: PhaseRecord,
                source: filesource.FileSource) -> tuple[list[PhaseRecord] | None, list[str]]:
        try:
            text = source.read_text(filesource.join(rec.spec_dir, "tasks.md"))
        except (OSError, UnicodeDecodeError, filesource.FileMissing, filesource.PathOutside) as exc:
            return None, [f"cannot read {rec.spec_dir}/tasks.md: {exc}"]
        template = Phase.model_validate(template_rec.definition["phase"])
        expanded, problems = expand_tasks_md(template, text)
        if problems:
            return None, problems
        wf = self._workflow_for(rec, template_rec)
        base_text = template_rec.definition.get("instructions", "")
        out: list[PhaseRecord] = []
        number = template_rec.number
        for item in expanded:
            r = self._phase_record(rec.id, number, wf, item.phase, now(), tasks_section=item.section_title)
            r.definition["instructions"] = base_text + (
                f"\n\n## Your section of tasks.md: {item.section_title}\n\n{item.section_body}\n")
            out.append(PhaseRecord(r.session_id, number, r.phase_id, r.title, "pending", r.definition,
                                   r.tasks_section, None, None))
            number += 1
        # The phases after the template keep their definitions and move down.
        for later in self.store.phases(rec.id):
            if later.number > template_rec.number:
                out.append(PhaseRecord(later.session_id, number, later.phase_id, later.title, "pending",
                                       later.definition, later.tasks_section, None, None))
                number += 1
        return out, []

    def _workflow_for(self, rec: SessionRecord, p: PhaseRecord) -> Workflow:
        # Instructions were snapshotted at start; only a loaded definition is needed for
        # _phase_record's bookkeeping, so a workflow deleted since then still expands.
        try:
            return self.workflow(rec.workflow)
        except Exception:
            return Workflow.model_validate({"name": rec.workflow, "version": rec.workflow_version,
                                            "description": "(removed)", "phases": [p.definition["phase"]]})

    def _advance(self, session_id: str, number: int) -> None:
        """Complete phase `number` and open the next (inside the caller's transaction)."""
        at = now()
        self.store.set_phase_state(session_id, number, "complete", at)
        self.store.add_event(session_id, "phase_completed", number)
        nxt = next((p for p in self.store.phases(session_id) if p.number == number + 1), None)
        if nxt is None:
            self._bump(self.store.session(session_id), status="complete")
            self.store.add_event(session_id, "session_completed", None)
        else:
            self.store.set_phase_state(session_id, nxt.number, "active", at)
            self.store.add_event(session_id, "phase_started", nxt.number, title=nxt.title)

    # gates -------------------------------------------------------------------------------

    def _policy(self, rec: SessionRecord, phase: Phase) -> GatePolicy:
        assert phase.gate is not None
        override = GatePolicyConfig.model_validate(rec.gate_policy) if rec.gate_policy else None
        return GatePolicy.build(phase.gate, self.project.config.gates, override)

    def _threads(self, session_id: str) -> list[Thread]:
        return review_threads(self.store.comments(session_id), self.store.threads(session_id))

    def _unresolved_threads(self, session_id: str) -> int:
        return unresolved_count(self._threads(session_id))

    def _decide(self, rec: SessionRecord, p: PhaseRecord, phase: Phase) -> GateDecision:
        policy = self._policy(rec, phase)
        head = rec.head_sha or next((pr.head_sha for pr in self.store.pull_requests(rec.id) if pr.head_sha), None)
        return evaluate_gate(policy, self.store.reviews(rec.id), author=rec.author, since=p.started_at,
                             head_sha=head, unresolved_threads=self._unresolved_threads(rec.id))

    def _gate_view(self, rec: SessionRecord, p: PhaseRecord, phase: Phase) -> views.GateView:
        d = self._decide(rec, p, phase)
        policy = self._policy(rec, phase)
        reasons = list(d.reasons)
        if p.state == "active":
            reasons.insert(0, "the phase's checkpoint has not passed yet")
        return views.GateView(
            phase=p.number, phase_title=p.title, required_approvals=policy.approvals,
            approvals=[views.ApprovalView(reviewer=a.reviewer, at=a.at, source=a.source) for a in d.approvals],
            blocking=list(d.blocking), ignored=list(d.ignored), unresolved_threads=self._unresolved_threads(rec.id),
            satisfied=p.state == "complete" or (d.satisfied and p.state == "awaiting_approval"),
            reasons=[] if p.state == "complete" else reasons, policy=policy.describe(),
        )

    def gate(self, session_id: str) -> views.GateView | None:
        """The gate of the phase waiting for approval, else of the next gated phase (None if none)."""
        rec = self._session(session_id)
        for p in self.store.phases(rec.id):
            phase = Phase.model_validate(p.definition["phase"])
            if phase.gate and p.state != "complete":
                return self._gate_view(rec, p, phase)
        return None

    def _settle_gate(self, session_id: str) -> bool:
        """Pass the waiting gate if its policy is met (inside the caller's transaction)."""
        rec = self.store.session(session_id)
        waiting = next((p for p in self.store.phases(session_id) if p.state == "awaiting_approval"), None)
        if rec is None or waiting is None:
            return False
        phase = Phase.model_validate(waiting.definition["phase"])
        decision = self._decide(rec, waiting, phase)
        if not decision.satisfied:
            return False
        self._bump(rec)
        self.store.add_event(session_id, "gate_passed", waiting.number,
                             approvals=[f"{a.reviewer} ({a.source})" for a in decision.approvals])
        self._advance(session_id, waiting.number)
        return True

    def approve(self, session_id: str, *, by: str, source: str = "cli", note: str = "") -> views.GateView:
        """A person's approval of the phase waiting at its gate (solo mode, from the terminal).

        No MCP tool calls this: only people approve.
        """
        rec = self._session(session_id)
        if not isinstance(by, str) or not by.strip():
            raise InputError("Say who approves: --by NAME.")
        by = by.strip()
        phases = self.store.phases(rec.id)
        waiting = next((p for p in phases if p.state == "awaiting_approval"), None)
        if waiting is None:
            cur = _current(phases)
            where = f"phase {cur.number} ({cur.title}) is {cur.state}" if cur else "the session is complete"
            raise Refused(f"Nothing in session {rec.id} waits for approval: {where}.",
                          hint="A gate opens for approval once its phase's checkpoint has passed.")
        if same_login(by, rec.author):
            raise Refused(f"{by} is the session's author and cannot approve their own work.",
                          hint="Ask another person to approve.")
        with self.store.transaction(rec.id):
            self.store.add_review(rec.id, Review(by, "approved", now(), source), None)
            self.store.add_event(rec.id, "approval", waiting.number, reviewer=by, source=source, note=note)
            self._settle_gate(rec.id)
        self._notify(rec.id, "approval")
        phase = Phase.model_validate(waiting.definition["phase"])
        fresh_rec = self._session(rec.id)
        fresh = next(p for p in self.store.phases(rec.id) if p.number == waiting.number)
        return self._gate_view(fresh_rec, fresh, phase)

    def record_review(self, session_id: str, review: views.ReviewInput) -> views.SessionState:
        """Record a pull-request review and pass the waiting gate if its policy is now met."""
        rec = self._session(session_id)
        # Reviews count from when we learn of them: a redelivered old review must not
        # predate the phase it would approve.
        with self.store.transaction(rec.id):
            added = self.store.add_review(
                rec.id, Review(review.reviewer, review.state, now(), review.source, review.commit_id,
                               review.is_bot), review.review_id)
            if added:
                self.store.add_event(rec.id, f"review_{review.state}", None, reviewer=review.reviewer,
                                     source=review.source, commit_id=review.commit_id, is_bot=review.is_bot)
                self._settle_gate(rec.id)
        if added:
            self._notify(rec.id, "review")
        return self.state(rec.id)

    def set_gate_policy(self, session_id: str, policy: GatePolicyConfig | None) -> None:
        """Set the team's gate policy for this session (read by the bot from the PR's base branch)."""
        rec = self._session(session_id)
        value = policy.model_dump(exclude_none=True) if policy else None
        if value == rec.gate_policy:
            return
        with self.store.transaction(rec.id):
            self._bump(self.store.session(rec.id), gate_policy=value)
            self.store.add_event(rec.id, "gate_policy", None, policy=value)
            self._settle_gate(rec.id)
        self._notify(rec.id, "gate_policy")

    def set_head(self, session_id: str, head_sha: str) -> None:
        """Record the PR's current head commit; stale approvals then stop counting if the policy says so."""
        rec = self._session(session_id)
        _check_sha(head_sha)
        with self.store.transaction(rec.id):
            moved = self._move_head(rec.id, head_sha)
        if moved:
            self._notify(rec.id, "head_changed")

    def _move_head(self, session_id: str, head_sha: str) -> bool:
        """The one way a session's head moves (inside its transaction): recorded, and the gate re-settled.

        A new head can open a gate (an approval of that commit, with dismiss_stale_on_push,
        arrived before the push did); False if the head was already `head_sha`.
        """
        rec = self.store.session(session_id)
        if rec.head_sha == head_sha:
            return False
        self._bump(rec, head_sha=head_sha)
        self.store.add_event(session_id, "head_changed", None, head_sha=head_sha)
        self._settle_gate(session_id)
        return True

    # pull requests and review feedback ---------------------------------------------------

    def _pr_view(self, pr: PullRequestRecord) -> views.PullRequestView:
        return views.PullRequestView(repository=pr.repository, number=pr.number,
                                     url=f"https://github.com/{pr.repository}/pull/{pr.number}",
                                     head_sha=pr.head_sha, author=pr.author, source=pr.source)

    def link_pull_request(self, session_id: str, repository: str, number: int, *, author: str | None = None,
                          head_sha: str | None = None, source: str = "tool") -> views.PullRequestView:
        """Link a pull request to the session (idempotent), or refresh the link on a push.

        Its author becomes the session's author if unset; a `head_sha` that differs from
        the session's moves the head as `set_head` does (event, gate re-settled).
        """
        rec = self._session(session_id)
        if not isinstance(repository, str) or not _REPOSITORY.match(repository.strip()):
            raise InputError(f"repository {repository!r} is not 'owner/name'.", hint="e.g. 'acme/webapp'.")
        if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 10**9:
            raise InputError(f"number {number!r} is not a pull request number.")
        if head_sha is not None:
            _check_sha(head_sha)
        pr = PullRequestRecord(rec.id, repository.strip(), number, head_sha, author, source, now())
        with self.store.transaction(rec.id):
            new = self.store.upsert_pull_request(pr)
            fresh = self.store.session(rec.id)
            changes: dict[str, Any] = {}
            if author and not fresh.author:
                changes["author"] = author
            if new and not fresh.repository:
                changes["repository"] = pr.repository
            if changes or new:
                self._bump(fresh, **changes)
            if new:
                self.store.add_event(rec.id, "pull_request_linked", None, repository=pr.repository,
                                     number=number, source=source)
            moved = head_sha is not None and self._move_head(rec.id, head_sha)
        if new or moved:
            self._notify(rec.id, "pull_request_linked" if new else "head_changed")
        stored = next(p for p in self.store.pull_requests(rec.id) if p.repository == pr.repository and p.number == number)
        return self._pr_view(stored)

    def sessions_for_pull_request(self, repository: str, number: int) -> list[str]:
        """Sessions linked to a pull request."""
        return self.store.sessions_for_pull_request(repository, number)

    def session_for_spec_dir(self, spec_dir: str) -> str | None:
        """The most recent session working in `spec_dir` (relative to the project root)."""
        found = self.store.sessions_for_spec_dir(spec_dir.strip().strip("/"))
        return found[0].id if found else None

    def record_review_comment(self, session_id: str, comment: views.ReviewCommentInput) -> bool:
        """Record a review comment (or its edit or deletion) on one of the session's spec files.

        Comments on other files of the pull request are code review, not the spec's: they
        are not recorded (False), so they neither reach the agent nor hold a gate.
        """
        rec = self._session(session_id)
        if not _within(comment.path, rec.spec_dir):
            return False
        with self.store.transaction(rec.id):
            self.store.upsert_comment(rec.id, CommentRecord(
                comment.comment_id, comment.thread_id, comment.path, comment.line, comment.body, comment.author,
                comment.url, comment.state, comment.in_reply_to, now()))
            self.store.add_event(rec.id, f"review_comment_{comment.state}", None, path=comment.path,
                                 author=comment.author)
        self._notify(rec.id, "review_comment")
        return True

    def set_thread_resolved(self, session_id: str, thread_id: str, resolved: bool, comment_ids: list[int]) -> bool:
        """Record that a review thread (holding `comment_ids`) was resolved or reopened.

        A thread none of whose comments the session recorded is not about its spec: ignored (False).
        """
        rec = self._session(session_id)
        if not {c.comment_id for c in self.store.comments(rec.id)} & set(comment_ids):
            return False
        with self.store.transaction(rec.id):
            self.store.set_thread(rec.id, thread_id, resolved, comment_ids)
            self.store.add_event(rec.id, "thread_resolved" if resolved else "thread_unresolved", None,
                                 thread_id=thread_id)
            self._settle_gate(rec.id)
        self._notify(rec.id, "review_thread")
        return True

    def review_feedback(self, session_id: str) -> views.ReviewFeedback:
        """Open review threads on the session's spec files, and who requested changes."""
        rec = self._session(session_id)
        threads = self._threads(rec.id)
        open_threads = [
            views.ReviewThread(
                thread_id=t.thread_id or f"comment-{t.root.comment_id}", path=t.root.path, line=t.root.line,
                resolved=False,
                comments=[views.ReviewComment(comment_id=c.comment_id, author=c.author, body=c.body, url=c.url,
                                              line=c.line, at=c.at) for c in t.comments])
            for t in threads if not t.resolved]
        resolved = len(threads) - len(open_threads)
        # The same verdicts the gate reads: since the current phase opened, author and bots left out.
        current = _current(self.store.phases(rec.id))
        requested = list(latest_verdicts(self.store.reviews(rec.id), author=rec.author,
                                         since=current.started_at if current else None).changes_requested_by)
        prs = [self._pr_view(p) for p in self.store.pull_requests(rec.id)]
        if not prs:
            message = "No pull request is linked yet, so there is no review feedback. Link one with link_pull_request."
        elif not open_threads and not requested:
            message = "No open review feedback on the spec."
        else:
            message = (f"{len(open_threads)} open review thread(s)"
                       + (f"; changes requested by {', '.join(requested)}" if requested else "")
                       + ". Revise the spec files to address them; reviewers resolve the threads.")
        return views.ReviewFeedback(session_id=rec.id, pull_requests=prs, open_threads=open_threads,
                                    resolved_threads=resolved, changes_requested_by=requested, message=message)


def _current(phases: list[PhaseRecord]) -> PhaseRecord | None:
    return next((p for p in phases if p.state != "complete"), None)


def _submission_view(s: Any) -> views.SubmissionView:
    return views.SubmissionView(id=s.id, phase=s.phase, accepted=s.accepted, evidence=s.evidence,
                                failures=[views.FailureView.model_validate(f) for f in s.failures],
                                verified=s.verified, at=s.at)


def _jsonable(value: Any) -> Any:
    import json

    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)[:2000]


def _next_step(rec: SessionRecord, current: PhaseRecord | None, phases: list[views.PhaseSummary]) -> str:
    if current is None:
        return "Every phase is complete."
    if current.state == "awaiting_approval":
        summary_ = next(p for p in phases if p.number == current.number)
        why = "; ".join(summary_.gate.reasons) if summary_.gate else "waiting for approval"
        return (f"Phase {current.number} ({current.title}) waits for a person's approval ({why}). "
                f"A reviewer approves the pull request, or someone runs `agent-os approve {rec.id} --by NAME`.")
    return (f"Work on phase {current.number} ({current.title}): read get_current_phase('{rec.id}'), do the work, "
            f"then call complete_phase with the evidence it asks for.")


def _check_sha(head_sha: Any) -> None:
    if not isinstance(head_sha, str) or not re.fullmatch(r"[0-9a-fA-F]{7,64}", head_sha):
        raise InputError(f"head_sha {head_sha!r} is not a commit id.")


def _within(path: str, directory: str) -> bool:
    """Whether repository path `path` lies inside `directory` (both relative, POSIX)."""
    return path.startswith(directory.strip("/") + "/")
