"""Starting (or resuming) sessions: the target's slug, the spec directory, the phase records.

A session of a workflow whose target is an existing spec starts only on an approved spec;
otherwise a new spec directory is named after the target, never reusing another session's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from . import files as filesource
from . import views
from .context import Context
from .definitions import Phase, Workflow
from .errors import InputError, NotFoundError, Refused
from .paths import check_repository, new_session_id, slugify, spec_dir_for, spec_dir_named
from .project import SPECS_DIR
from .reading import current_view, state
from .records import PhaseRecord, SessionRecord, now

log = logging.getLogger(__name__)


def start(ctx: Context, workflow: str, target: str, *, author: str | None = None,
          files: filesource.FileSource | None = None, repository: str | None = None) -> views.StartResult:
    """Start `workflow` on `target`, or resume the open session of that workflow and target.

    `files` is where the project is read (default: the context's source); a new spec
    directory is created only in a source that can write (the solo working tree).
    `repository` ("owner/name") is the repository the session works in, when known (a
    team server holds many): the same target in two repositories is two sessions.
    """
    repository = check_repository(repository) if repository is not None else None
    wf = ctx.registry_for(repository).load(workflow)
    source = files if files is not None else ctx.files
    if wf.target == "existing_spec":
        spec_rel, slug = _existing_spec(target, source)
    else:
        slug = slugify(target)
        spec_rel = None
    key = f"{repository.lower()}:{slug}" if repository else slug
    existing = ctx.store.open_session_for(wf.name, key)
    if existing is not None:
        return _resumed(ctx, existing.id)
    if spec_rel is None:
        spec_rel = _new_spec_dir(ctx, slug, source)
    else:
        _require_approved(ctx, spec_rel, wf.name)
    session_id = new_session_id()
    at = now()
    rec = SessionRecord(session_id, wf.name, wf.version, target.strip(), key, spec_rel, "active", author, None,
                        None, 0, at, at, repository=repository)
    phases = [phase_record(session_id, i, wf, p, at) for i, p in enumerate(wf.phases)]
    if isinstance(source, filesource.WritableSource):
        source.make_dir(spec_rel)
    try:
        with ctx.store.transaction():
            ctx.store.insert_session(rec, phases)
            ctx.store.add_event(session_id, "session_started", 0, workflow=wf.name, target=rec.target,
                                spec_dir=spec_rel)
            ctx.store.add_event(session_id, "phase_started", 0, title=phases[0].title)
            ctx.changed(session_id, "session_started")
    except Exception as exc:
        # Lost a race with another start of the same target: resume theirs.
        other = ctx.store.open_session_for(wf.name, key)
        if other is None:
            raise
        log.info("start raced; resuming %s (%s)", other.id, exc)
        return _resumed(ctx, other.id)
    ctx.notify(session_id, "session_started")
    return views.StartResult(resumed=False, session=state(ctx, session_id), phase=current_view(ctx, session_id))


def _resumed(ctx: Context, session_id: str) -> views.StartResult:
    return views.StartResult(resumed=True, session=state(ctx, session_id), phase=current_view(ctx, session_id))


def _new_spec_dir(ctx: Context, slug: str, source: filesource.FileSource) -> str:
    today, attempt = now().date(), 1
    candidate = spec_dir_for(slug, today)
    while source.exists(candidate) and ctx.store.sessions_for_spec_dir(candidate):
        attempt += 1
        candidate = spec_dir_for(slug, today, attempt)
    return candidate


def _existing_spec(target: str, source: filesource.FileSource) -> tuple[str, str]:
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
        candidates.append(spec_dir_named(text))
        if source.is_dir(SPECS_DIR):
            slug = slugify(text)
            candidates += sorted((spec_dir_named(name) for name in source.list_dir(SPECS_DIR)
                                  if name.endswith("-" + slug) and source.is_dir(spec_dir_named(name))), reverse=True)
    for rel in candidates:
        if source.is_dir(rel):
            link = filesource.symlinked_part(source, rel)
            if link is not None:
                raise Refused(f"The spec directory {rel} is reached through a symbolic link ({link}).",
                              hint="A spec must be a real directory inside the project: copy it in, not link it.")
            return rel, rel
    raise NotFoundError(
        f"No spec directory {target!r}.",
        hint="spec_execution_v1 works from an approved spec: pass its directory, e.g. "
        "'.agent-os/specs/2026-11-24-user-authentication' (see `agent-os status`).",
    )


def _require_approved(ctx: Context, spec_rel: str, workflow: str) -> None:
    """Provenance: a spec is approved only if the session that wrote it passed a gate people approved.

    A hand-made directory, or the output of a workflow without a gate, is not.
    """
    writers = [s for s in ctx.store.sessions_for_spec_dir(spec_rel) if s.workflow != workflow]
    for s in writers:
        if s.status != "complete":
            raise Refused(
                f"The spec in {spec_rel} is not approved yet: session {s.id} ({s.workflow}) is still open.",
                hint=f"Finish that session first (get_workflow_state('{s.id}')).",
            )
    if any(_approved(ctx, s.id) for s in writers):
        return
    write_it = ("Write the spec with spec_creation_v1 (or a workflow whose review phase has a gate) and have a "
                "reviewer approve it; then start this workflow on it.")
    if writers:
        names = ", ".join(f"{s.id} ({s.workflow})" for s in writers)
        raise Refused(f"The spec in {spec_rel} is not approved: the session that wrote it, {names}, passed no "
                      "gate a person approved (its workflow has no review gate).", hint=write_it)
    raise Refused(f"The spec in {spec_rel} is not approved: no workflow session wrote it, so nobody reviewed it.",
                  hint=write_it)


def _approved(ctx: Context, session_id: str) -> bool:
    # A gate passes with the approvals that opened it recorded on the event; a gate
    # needing none (approvals: 0) is no person's approval.
    return any(e.kind == "gate_passed" and e.data.get("approvals") for e in ctx.store.events(session_id))


def phase_record(session_id: str, number: int, wf: Workflow, phase: Phase, at: datetime,
                 *, tasks_section: str | None = None) -> PhaseRecord:
    """A phase as stored: its definition and instructions snapshotted, so later edits of the workflow do not move it."""
    instructions = wf.read_text(phase.instructions) if wf.directory else ""
    task_text = {t.id: (wf.read_text(t.instructions) if t.instructions and wf.directory else t.title)
                 for t in phase.tasks}
    definition = {"phase": phase.model_dump(mode="json"), "instructions": instructions,
                  "task_instructions": task_text, "workflow_dir": str(wf.directory)}
    title = phase.title if phase.expand is None else f"{phase.title} (phases from tasks.md)"
    state_ = "active" if number == 0 else "pending"
    return PhaseRecord(session_id, number, phase.id, title, state_, definition, tasks_section,
                       at if number == 0 else None, None)
