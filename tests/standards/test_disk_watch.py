"""The freshness check's shortcut: stat-ing the directories and files a walk found tells
every change a new walk would, once the directories are old enough to trust."""

from __future__ import annotations

import os
from pathlib import Path

from agent_os.standards.scan import DiskWatch, Root, fingerprint, scan


LONG_AGO_NS = 1_577_836_800 * 10**9  # 2020-01-01


def age(root: Path) -> None:
    """Date every directory under `root` (and it) long ago, as if untouched since."""
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(directory, ns=(LONG_AGO_NS, LONG_AGO_NS))


def test_watch_sees_every_change_a_walk_sees(tmp_path: Path):
    lib, other = tmp_path / "lib", tmp_path / "own"
    (lib / "api").mkdir(parents=True)
    (lib / "api" / "errors.md").write_text("# Errors\n", encoding="utf-8")
    (lib / "retries.md").write_text("# Retries\n", encoding="utf-8")
    roots = [Root("shipped", lib), Root("project", other)]  # the second one does not exist yet
    watch = DiskWatch()

    def check() -> None:
        assert watch.fingerprint(roots) == fingerprint(scan(roots))
        age(lib)  # time passes: the walk after this trusts the directories again
        watch.fingerprint(roots)

    age(lib)
    check()
    (lib / "api" / "errors.md").write_text("# Errors\n\nMore.\n", encoding="utf-8")  # edited in place
    check()
    (lib / "api" / "pagination.md").write_text("# Pages\n", encoding="utf-8")  # added
    assert ("shipped", "api/pagination.md") in watch.fingerprint(roots)
    check()
    (lib / "retries.md").unlink()
    assert ("shipped", "retries.md") not in watch.fingerprint(roots)
    check()
    (lib / "data").mkdir()
    (lib / "data" / "indexing.md").write_text("# Indexing\n", encoding="utf-8")
    check()
    (lib / "api" / "errors.md").rename(lib / "api" / "problems.md")
    check()
    (other / "own.md").parent.mkdir()
    (other / "own.md").write_text("# Ours\n", encoding="utf-8")  # the missing root appears
    assert ("project", "own.md") in watch.fingerprint(roots)
    check()


def test_directories_changed_just_now_are_walked_again(tmp_path: Path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "a.md").write_text("# A\n", encoding="utf-8")
    roots = [Root("shipped", lib)]
    watch = DiskWatch()
    first = watch.fingerprint(roots)
    # Added within the same clock tick as the directory's last change: its mtime may not move.
    st = lib.stat()
    (lib / "b.md").write_text("# B\n", encoding="utf-8")
    os.utime(lib, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert set(watch.fingerprint(roots)) == set(first) | {("shipped", "b.md")}
