"""The one shape of a change to a session: load it, lock it, write, re-settle its gate (and
a phase waiting for CI: a new head changes what it waits for), tell the in-transaction
listeners, commit, then tell the others.

    with changing(ctx, session_id, "review") as change:
        change.event("review_approved", reviewer="bob")

Listeners hear of the change only if something was recorded. In-transaction listeners
(`Context.subscribe(..., in_transaction=True)`) write in the same transaction, so a crash
after the commit cannot lose what they queued; the others hear only after the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .ci import settle_ci
from .context import Context
from .gating import settle_gate
from .records import SessionRecord


class Change:
    """A change in progress to one session, inside its locked transaction."""

    def __init__(self, ctx: Context, rec: SessionRecord) -> None:
        self.ctx = ctx
        self.rec = rec
        self.changed = False
        self.kind: str | None = None
        """What listeners are told changed; `changing`'s `kind` unless set here."""

    def bump(self, **changes: Any) -> None:
        """Change session fields and advance its revision (refused if another writer got there first)."""
        self.ctx.bump(self.rec, **changes)
        self.rec = self.ctx.store.session(self.rec.id)
        self.changed = True

    def event(self, kind: str, phase: int | None = None, **data: Any) -> None:
        """Append to the session's timeline."""
        self.ctx.store.add_event(self.rec.id, kind, phase, **data)
        self.changed = True


@contextmanager
def changing(ctx: Context, session_id: str, kind: str, *, settle: bool = True) -> Iterator[Change]:
    """Load → lock → (the caller writes) → re-settle the gate → in-transaction listeners →
    commit → after-commit listeners, told `kind`.

    An exception inside (an in-transaction listener's too) rolls everything back and the
    after-commit listeners are not told.
    """
    rec = ctx.load(session_id)
    with ctx.store.transaction(rec.id):
        change = Change(ctx, ctx.store.session(rec.id))
        yield change
        if change.changed and settle:
            settle_ci(ctx, rec.id)
            settle_gate(ctx, rec.id)
        if change.changed:
            ctx.changed(rec.id, change.kind or kind)
    if change.changed:
        ctx.notify(rec.id, change.kind or kind)
