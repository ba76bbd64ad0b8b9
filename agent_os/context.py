"""What every part of the engine works with: the project, its session store, where its
files are read, its workflows, and who listens for changes."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .definitions import Phase
from .errors import Conflict, InputError, NotFoundError
from .files import FileSource, StandardsLookup
from .paths import is_session_id
from .project import Project
from .records import PhaseRecord, SessionRecord
from .registry import Registry
from .store import SessionStore
from .testrun import CommandRunner

if TYPE_CHECKING:
    from .repo_library import RepositoryLibraries

log = logging.getLogger(__name__)

Listener = Callable[[str, str], None]
"""Called with (session_id, change kind) for each change to a session."""


@dataclass
class Context:
    """The engine's shared parts; every engine module takes one as its first argument."""

    project: Project
    store: SessionStore
    files: FileSource
    """Where the project's files are read unless a call brings its own (a snapshot, a commit)."""
    registry: Registry
    runner: CommandRunner | None = None
    """Runs the test commands tasks.md names (solo mode); None runs nothing."""
    standards: StandardsLookup | None = None
    """Which standards documents exist, for standards paths named in evidence."""
    libraries: RepositoryLibraries | None = None
    """A team server's view of each repository's default branch (its own workflows and
    standards); None when the project's own folders are all there is (solo)."""
    _listeners: list[Listener] = field(default_factory=list)
    _in_transaction: list[Listener] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def registry_for(self, repository: str | None, *, max_age: float = 0.0) -> Registry:
        """The workflows a session of `repository` may run: shipped plus the repository's own
        on a team server; the project's registry otherwise."""
        if repository and self.libraries is not None:
            return self.libraries.registry(repository, max_age=max_age)
        return self.registry

    def standards_for(self, repository: str | None) -> StandardsLookup | None:
        """Which standards documents a session of `repository` may cite."""
        if repository and self.libraries is not None:
            from .repo_library import CombinedStandards, RepositoryUnavailable

            try:
                return CombinedStandards(self.standards, self.libraries.standards(repository, max_age=60.0))
            except RepositoryUnavailable as exc:  # a checkpoint does not wait on GitHub: shipped ones only
                log.warning("%s; standards cited are checked against the shipped library only", exc.message)
        return self.standards

    def subscribe(self, callback: Listener, *, in_transaction: bool = False) -> None:
        """Call `callback(session_id, kind)` for each change to a session.

        By default after the commit (for work outside the database: waking a worker).
        With `in_transaction`, inside the change's transaction just before its commit, on
        the same connection: what it writes commits with the change or not at all (a queue
        of writes the change calls for), and its failure rolls the change back.
        """
        with self._lock:
            (self._in_transaction if in_transaction else self._listeners).append(callback)

    def changed(self, session_id: str, kind: str) -> None:
        """Tell the in-transaction listeners (call inside the change's transaction, last)."""
        with self._lock:
            listeners = list(self._in_transaction)
        for callback in listeners:
            callback(session_id, kind)

    def notify(self, session_id: str, kind: str) -> None:
        """Tell the after-commit listeners (a listener's failure never undoes the change)."""
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(session_id, kind)
            except Exception:
                log.exception("session listener failed", extra={"session_id": session_id})

    def load(self, session_id: Any) -> SessionRecord:
        """The session `session_id` names, or a clear refusal."""
        if not isinstance(session_id, str) or not session_id.strip():
            raise InputError("session_id must be a non-empty string such as 'ses_3f9a1c2b7d4e'.")
        sid = session_id.strip()
        rec = self.store.session(sid) if is_session_id(sid) else None
        if rec is None:
            raise NotFoundError(f"No session {session_id!r}.",
                                hint="list_sessions shows the sessions; start_workflow starts one.")
        return rec

    def bump(self, rec: SessionRecord, **changes: Any) -> None:
        """Advance the session's revision from `rec.rev` (inside its locked transaction), or refuse.

        Under the session's row lock nobody else can have moved it; if the
        compare-and-set still fails, the whole transaction is rolled back.
        """
        if not self.store.bump(rec.id, rec.rev, **changes):
            raise Conflict(f"Session {rec.id} was changed by another call at the same moment; nothing was written.",
                           hint="Read the session again (get_workflow_state) and retry if still needed.")


def current(phases: list[PhaseRecord]) -> PhaseRecord | None:
    """The first phase not complete: the one the session is on (None when all are)."""
    return next((p for p in phases if p.state != "complete"), None)


def definition(p: PhaseRecord) -> Phase:
    """The phase's definition, as snapshotted when the session started."""
    if p.stored is None:  # a record made here, not read from the store
        return Phase.model_validate(p.definition["phase"])
    return _stored_phase(p.stored)


@functools.lru_cache(maxsize=512)
def _stored_phase(stored: str) -> Phase:
    # Validating the models was ~60 % of a state read for the shipped workflows (six
    # phases, each read twice a call: spec_creation_v1's state 0.79 -> 0.30 ms in
    # bench_engine). The store's own text is a key that costs nothing to make. Safe to
    # share: Phase models are frozen.
    return Phase.model_validate(json.loads(stored)["phase"])
