"""Where files are read is a parameter: the working tree (confined to its root) and a
snapshot sent with a checkpoint answer the same questions, and the engine's checks,
spec-directory lookup and tasks.md expansion read only through them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agent_os.engine import Engine
from agent_os.errors import EvidenceRejected, InputError
from agent_os.files import FileMissing, PathOutside, Snapshot, WorkingTree, blob_sha, normalise, snapshot_of
from support import GOOD_WRITE, TASKS_MD, approved_spec


@pytest.fixture
def tree(tmp_path: Path) -> WorkingTree:
    root = tmp_path / "project"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.md").write_text("# A\n", encoding="utf-8")
    (root / "README.md").write_bytes(b"hello\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours", encoding="utf-8")
    (root / "leak.txt").symlink_to(outside)
    (root / "leakdir").symlink_to(tmp_path)
    (root / "nested").mkdir()
    (root / "nested" / "out").symlink_to(tmp_path)  # a link below the root, not at it
    (root / "alias.md").symlink_to(root / "README.md")
    return WorkingTree(root)


def test_blob_sha_is_gits(tmp_path: Path):
    data = b"some content\n\x00binary"
    (tmp_path / "f").write_bytes(data)
    git = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True)
    assert blob_sha(data) == git.stdout.strip()
    assert blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@pytest.mark.parametrize("hostile", ["../x", "/etc/passwd", "docs/../../x", "a\x00b", "C:/Windows", "..\\x"])
def test_paths_leaving_the_root_are_refused_in_every_source(tree: WorkingTree, hostile: str):
    for source in (tree, Snapshot({"README.md": b"x"})):
        with pytest.raises(PathOutside):
            source.exists(hostile)
        with pytest.raises(PathOutside):
            source.read_bytes(hostile)


def test_symlinks_leading_out_are_refused_and_inside_ones_followed(tree: WorkingTree):
    for path in ("leak.txt", "leakdir", "leakdir/secret.txt", "nested/out/secret.txt", "nested/out"):
        with pytest.raises(PathOutside, match="outside"):
            tree.read_bytes(path) if path.endswith(".txt") else tree.list_dir(path)
    assert tree.read_bytes("alias.md") == b"hello\n" and tree.is_symlink("alias.md")


def test_working_tree_answers(tree: WorkingTree):
    assert tree.is_dir("") and tree.is_dir(".") and tree.is_dir("docs") and not tree.is_file("docs")
    assert tree.is_file("./docs/a.md") and tree.read_text("docs/a.md") == "# A\n"
    assert tree.size("README.md") == 6 and tree.blob_sha("README.md") == blob_sha(b"hello\n")
    assert "docs" in tree.list_dir("") and tree.list_dir("docs") == ["a.md"]
    assert not tree.exists("nope.md")
    with pytest.raises(FileMissing):
        tree.read_bytes("docs")
    with pytest.raises(FileMissing):
        tree.list_dir("README.md")


def test_snapshot_answers_the_same_questions():
    snap = Snapshot({"docs/a.md": b"# A\n", "./README.md": b"hello\n", "docs/deep/b.md": b"b"})
    assert snap.is_dir("") and snap.is_dir("docs") and snap.is_dir("docs/deep") and not snap.is_dir("README.md")
    assert snap.is_file("README.md") and not snap.exists("doc") and not snap.is_symlink("README.md")
    assert snap.list_dir("") == ["README.md", "docs"] and snap.list_dir("docs") == ["a.md", "deep"]
    assert snap.blob_sha("README.md") == blob_sha(b"hello\n") and snap.size("docs/deep/b.md") == 1
    with pytest.raises(FileMissing, match="snapshot"):
        snap.read_text("missing.md")
    with pytest.raises(PathOutside):
        Snapshot({"../up": b""})


def test_snapshot_of_a_tree_takes_folders_whole_and_is_capped(tree: WorkingTree):
    snap = snapshot_of(tree, ["docs", "README.md", "absent.md"], max_bytes=100)
    assert sorted(snap.files) == ["README.md", "docs/a.md"]
    assert snap.shas["README.md"] == tree.blob_sha("README.md")
    with pytest.raises(Exception, match="exceed"):
        snapshot_of(tree, ["README.md", "docs"], max_bytes=6)


def _notes_snapshot(spec_dir: str, items: int) -> Snapshot:
    lines = "\n".join(f"- NOTE-{i} something worth noting" for i in range(1, items + 1))
    return Snapshot({f"{spec_dir}/notes.md": f"# Notes file\n\n## Notes\n\n{lines}\n".encode()})


def test_a_checkpoint_is_checked_against_the_snapshot_not_the_disk(engine: Engine):
    sid = engine.start("notes_v1", "login").session.session_id
    spec_dir = engine.state(sid).spec_dir
    assert not os.listdir(engine.project.root / spec_dir)  # nothing on the engine's disk
    with pytest.raises(EvidenceRejected, match="count"):
        engine.complete_phase(sid, 0, GOOD_WRITE, files=_notes_snapshot(spec_dir, 3))
    assert engine.state(sid).current_phase == 0
    result = engine.complete_phase(sid, 0, GOOD_WRITE, files=_notes_snapshot(spec_dir, 2))
    assert result.phase_state == "complete"


def test_start_and_expansion_read_through_the_given_source(engine: Engine):
    spec_dir = approved_spec(engine, "login")  # approved, its tasks.md only in the snapshot
    snap = Snapshot({f"{spec_dir}/tasks.md": TASKS_MD.encode()})
    sid = engine.start("build_v1", "login", files=snap).session.session_id
    assert engine.state(sid).spec_dir == spec_dir
    assert not (engine.project.root / spec_dir / "tasks.md").exists()  # a snapshot is never written to
    engine.complete_phase(sid, 0, {"read": True}, files=snap)
    assert [p.title for p in engine.state(sid).phases][1:3] == ["Data model", "Login endpoint"]


def test_normalise():
    assert normalise("./a//b/../c.md") == "a/c.md" and normalise(".") == "" and normalise("a\\b") == "a/b"


def test_evidence_naming_a_symlink_out_of_the_project_is_refused(engine: Engine, tmp_path_factory):
    sid = engine.start("notes_v1", "login").session.session_id
    spec = engine.project.root / engine.state(sid).spec_dir
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "notes.md"
    elsewhere.write_text("# Notes file\n\n## Notes\n\n- NOTE-1 a\n- NOTE-2 b\n", encoding="utf-8")
    (spec / "notes.md").symlink_to(elsewhere)
    with pytest.raises(EvidenceRejected) as refused:
        engine.complete_phase(sid, 0, GOOD_WRITE)
    assert {(f["field"], f["rule"]) for f in refused.value.data["failures"]} >= {("notes_file", "path"), ("notes.md", "path")}
    assert engine.state(sid).current_phase == 0


def test_a_snapshot_knows_the_folders_named_even_when_empty():
    snap = Snapshot({"a/b.md": b"x"}, directories=["empty/dir"])
    assert snap.is_dir("empty") and snap.is_dir("empty/dir") and snap.list_dir("empty/dir") == []
    assert snap.list_dir("") == ["a", "empty"]


def test_a_file_past_the_cap_travels_as_its_size_and_reads_as_too_large(tmp_path: Path):
    from agent_os.files import FileTooLarge
    from agent_os.snapshot import Snapshot as Wire, read_snapshot

    (tmp_path / "small.md").write_text("# ok\n")
    (tmp_path / "big.bin").write_bytes(b"x" * 3_100_000)
    sent = read_snapshot(tmp_path, ["small.md", "big.bin", "absent.md"])
    assert set(sent.files) == {"small.md"} and sent.too_large == {"big.bin": 3_100_000}
    source = Wire.from_wire(sent.to_wire()).source()
    assert source.is_file("big.bin") and source.size("big.bin") == 3_100_000 and not source.exists("absent.md")
    with pytest.raises(FileTooLarge, match=r"big.bin is too large \(3.1 MB; the cap is 2 MB\)"):
        source.read_bytes("big.bin")
    for bad in ([{"path": "../x", "size": 1}], [{"path": "x", "size": -1}], [{"path": "x", "size": True}], "x"):
        with pytest.raises(InputError):
            Wire.from_wire({**sent.to_wire(), "too_large": bad})
