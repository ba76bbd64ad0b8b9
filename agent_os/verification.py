"""Re-verification: does a phase that passed still pass at a later commit?

"The PR is the truth at merge time." A checkpoint keeps the git blob SHA of every file its
check read; when the pull request moves, each completed phase is checked again against
the new head. If every kept file still has the same SHA (known from git trees, without
downloading anything) the verdict stands as it was; otherwise the same core check runs
again, reading the commit. The rules are the checkpoint's own (`evidence.check_evidence`):
nothing here decides what passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import files as filesource
from . import views
from .records import Failure
from .definitions import Checkpoint
from .evidence import CheckContext, CheckResult, check_evidence

if TYPE_CHECKING:
    from .context import Context


class Recording:
    """A FileSource that notes which files were read through it (to keep their SHAs)."""

    def __init__(self, inner: filesource.FileSource) -> None:
        self.inner = inner
        self.read: list[str] = []

    def _note(self, path: str) -> None:
        rel = filesource.normalise(path)
        if rel not in self.read:
            self.read.append(rel)

    def exists(self, path: str) -> bool:
        return self.inner.exists(path)

    def is_file(self, path: str) -> bool:
        return self.inner.is_file(path)

    def is_dir(self, path: str) -> bool:
        return self.inner.is_dir(path)

    def is_symlink(self, path: str) -> bool:
        return self.inner.is_symlink(path)

    def read_bytes(self, path: str) -> bytes:
        data = self.inner.read_bytes(path)
        self._note(path)
        return data

    def read_text(self, path: str) -> str:
        text = self.inner.read_text(path)
        self._note(path)
        return text

    def list_dir(self, path: str) -> list[str]:
        return self.inner.list_dir(path)

    def size(self, path: str) -> int:
        return self.inner.size(path)

    def blob_sha(self, path: str) -> str:
        return self.inner.blob_sha(path)

    def hashes(self) -> dict[str, str]:
        """{path: blob SHA} of every file read, as the source holds it now."""
        out = {}
        for rel in self.read:
            try:
                out[rel] = self.inner.blob_sha(rel)
            except (filesource.FileMissing, OSError):
                continue
        return out


@dataclass(frozen=True)
class Verdict:
    """A completed phase checked again at a commit."""

    passed: bool
    failures: tuple[Failure, ...] = ()
    rechecked: bool = False  # False: every kept file was unchanged, nothing was read
    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    hashes: dict[str, str] = field(default_factory=dict)


def changed_files(kept: dict[str, str], source: filesource.FileSource) -> tuple[list[str], list[str]]:
    """(changed, missing): the kept files whose blob SHA differs in `source`, and those it lacks."""
    changed, missing = [], []
    for path, sha in kept.items():
        try:
            now = source.blob_sha(path) if source.is_file(path) else None
        except (filesource.FileMissing, OSError):
            now = None
        if now is None:
            missing.append(path)
        elif now != sha:
            changed.append(path)
    return changed, missing


def reverify(checkpoint: Checkpoint, evidence: Any, spec_dir: str, tasks_section: str | None,
             kept: dict[str, str] | None, source: filesource.FileSource) -> Verdict:
    """Check a completed phase's accepted `evidence` again, reading `source` (a commit).

    With `kept` hashes and none of those files changed, the earlier verdict (passed)
    stands without reading a byte. Otherwise the checkpoint runs again.
    """
    if kept:
        changed, missing = changed_files(kept, source)
        if not changed and not missing:
            return Verdict(True, hashes=dict(kept))
    else:
        changed, missing = [], []
    recording = Recording(source)
    result: CheckResult = check_evidence(checkpoint, evidence,
                                         CheckContext(files=recording, spec_dir=spec_dir, tasks_section=tasks_section))
    return Verdict(result.passed, tuple(result.failures), True, tuple(changed), tuple(missing), recording.hashes())


# -- sessions ----------------------------------------------------------------------------------

VERIFIED = "phase_verified"


def latest_verifications(events: list[Any]) -> dict[int, Any]:
    """The latest `phase_verified` event of each phase, by phase number."""
    return {e.phase: e for e in events if e.kind == VERIFIED and e.phase is not None}


def verification_view(event: Any) -> views.VerificationView | None:
    """A `phase_verified` event as the session's state shows it."""
    if event is None:
        return None
    d = event.data
    return views.VerificationView(commit=d["commit"], passed=d["passed"],
                                  failures=[Failure(**f) for f in d.get("failures", [])],
                                  rechecked=d.get("rechecked", False), changed=d.get("changed", []),
                                  missing=d.get("missing", []), at=event.at)


def _kept_hashes(events: list[Any]) -> dict[int, dict[str, str]]:
    """Per phase, the blob SHAs of the files its check last passed on."""
    kept: dict[int, dict[str, str]] = {}
    for e in events:
        if e.phase is None:
            continue
        if e.kind == "evidence_accepted" or (e.kind == VERIFIED and e.data.get("passed")):
            if e.data.get("files"):
                kept[e.phase] = dict(e.data["files"])
    return kept


def reverify_session(ctx: Context, session_id: str, files: filesource.FileSource, commit: str) -> list[int]:
    """Check every completed phase of the session again at `commit` (read through `files`).

    Each phase's verdict is recorded (event `phase_verified`: the commit, passed, the
    failures) once per commit; returns the numbers of the phases that no longer pass.
    """
    from .context import definition

    rec = ctx.load(session_id)
    events = ctx.store.events(rec.id)
    kept, latest = _kept_hashes(events), latest_verifications(events)
    subs = ctx.store.submissions(rec.id)
    verdicts: list[tuple[int, Verdict]] = []
    for p in ctx.store.phases(rec.id):
        if p.state not in ("complete", "awaiting_approval"):
            continue
        accepted = next((s for s in reversed(subs) if s.phase == p.number and s.accepted), None)
        previous = latest.get(p.number)
        if accepted is None or (previous is not None and previous.data.get("commit") == commit):
            continue
        checkpoint = definition(p).checkpoint
        verdicts.append((p.number, reverify(checkpoint, accepted.evidence, rec.spec_dir, p.tasks_section,
                                            kept.get(p.number), files)))
    if not verdicts:
        return []
    with ctx.store.transaction(rec.id):
        for number, v in verdicts:
            ctx.store.add_event(rec.id, VERIFIED, number, commit=commit, passed=v.passed,
                                   failures=[f.to_dict() for f in v.failures], rechecked=v.rechecked,
                                   changed=list(v.changed), missing=list(v.missing), files=v.hashes)
        ctx.changed(rec.id, VERIFIED)
    ctx.notify(rec.id, VERIFIED)
    return [n for n, v in verdicts if not v.passed]
