"""Re-verification: a completed phase checked again at a later commit, reading only what changed."""

from __future__ import annotations

from agent_os.engine import Engine
from agent_os.files import Snapshot, blob_sha
from support import GOOD_WRITE, write_notes


class CountingSnapshot(Snapshot):
    """A snapshot that counts the files read from it (what a commit would download)."""

    def __init__(self, files, directories=()):
        super().__init__(files, directories)
        self.reads: list[str] = []

    def read_bytes(self, path):
        self.reads.append(path)
        return super().read_bytes(path)

    def blob_sha(self, path):  # from the tree, as a commit knows it: no download
        if path not in self.shas:
            return super().blob_sha(path)
        return self.shas[path]


def notes(items: int) -> bytes:
    lines = "\n".join(f"- NOTE-{i} something worth noting" for i in range(1, items + 1))
    return f"# Notes file\n\n## Notes\n\n{lines}\n".encode()


def test_a_checkpoint_keeps_the_blob_shas_of_what_it_read(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    spec = engine.state(sid).spec_dir
    accepted = [e for e in engine.store.events(sid) if e.kind == "evidence_accepted"]
    assert accepted[0].data["files"] == {f"{spec}/notes.md": blob_sha(notes(2))}


def test_a_push_that_breaks_a_checked_file_fails_the_phase_and_the_fix_passes_it(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    spec = engine.state(sid).spec_dir
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.complete_phase(sid, 1, {"summary": "Checked every note against the source."})

    same = CountingSnapshot({f"{spec}/notes.md": notes(2), "src/app.py": b"x = 1\n"})
    assert engine.reverify(sid, same, "a" * 40) == []
    v = engine.state(sid).phases[0].verification
    assert (v.commit, v.passed, v.rechecked) == ("a" * 40, True, False) and same.reads == []

    broken = CountingSnapshot({f"{spec}/notes.md": notes(1)})
    assert engine.reverify(sid, broken, "b" * 40) == [0]
    v = engine.state(sid).phases[0].verification
    assert not v.passed and v.changed == [f"{spec}/notes.md"]
    assert [(f.field, f.rule, f.found) for f in v.failures] == [("items", "count", "1")]

    gone = CountingSnapshot({})
    engine.reverify(sid, gone, "c" * 40)
    v = engine.state(sid).phases[0].verification
    assert v.missing == [f"{spec}/notes.md"] and any(f.field == "notes.md" and f.rule == "exists" for f in v.failures)

    fixed = CountingSnapshot({f"{spec}/notes.md": notes(2)})
    assert engine.reverify(sid, fixed, "d" * 40) == []
    assert engine.state(sid).phases[0].verification.passed
    # The phase without files (a summary only) passes at every commit.
    assert engine.state(sid).phases[1].verification.passed


def test_the_same_commit_is_verified_once(engine: Engine):
    sid = engine.start("notes_v1", "notes").session.session_id
    spec = engine.state(sid).spec_dir
    write_notes(engine, sid)
    engine.complete_phase(sid, 0, GOOD_WRITE)
    engine.reverify(sid, Snapshot({f"{spec}/notes.md": notes(1)}), "e" * 40)
    engine.reverify(sid, Snapshot({f"{spec}/notes.md": notes(1)}), "e" * 40)
    assert sum(e.kind == "phase_verified" for e in engine.store.events(sid)) == 1
