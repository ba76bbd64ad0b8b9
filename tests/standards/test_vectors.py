"""The in-memory copy of the stored vectors: it ranks as sqlite-vec's KNN does, and it sees
every write to the index, this connection's and another's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from agent_os.standards.search import StoredVectors
from agent_os.standards.storage import IndexStorage

DIM = 16
META = {"schema_version": "test", "embedder": "test", "dim": str(DIM), "max_tokens": "64"}


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def add_chunk(conn, chunk_id: int, doc_id: int, vector: np.ndarray | None) -> None:
    conn.execute(
        "INSERT INTO chunks(id, doc_id, ord, heading, start_line, end_line, text, text_hash) "
        "VALUES (?, ?, 0, 'h', 1, 1, 't', ?)", (chunk_id, doc_id, f"hash{chunk_id}"),
    )
    if vector is not None:
        conn.execute("INSERT INTO chunk_vectors(rowid, embedding) VALUES (?, ?)",
                     (chunk_id, vector.tobytes()))


def test_nearest_ranks_as_sqlite_vec_does(tmp_path: Path):
    store = IndexStorage(tmp_path / "v.db", META)
    conn = store.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # chunks without documents: only vectors matter here
    rng = np.random.default_rng(7)
    ids = rng.permutation(np.arange(1, 400))[:250]
    for chunk_id, vector in zip(ids, unit(rng, len(ids))):
        add_chunk(conn, int(chunk_id), 1, vector)
    copy = StoredVectors().refresh(conn)
    allowed = sorted(int(i) for i in ids[::3])
    for query, sort_all in zip(unit(rng, 20), [StoredVectors.SORT_ALL, 0] * 10):
        copy.SORT_ALL = sort_all  # one sort of all, or a partition first (large libraries)
        for k, only in ((30, None), (5, None), (10, allowed), (500, allowed[:7])):
            sql = "SELECT rowid, distance FROM chunk_vectors WHERE embedding MATCH ? AND k = ?"
            args: list = [query.tobytes(), min(k, len(only)) if only else k]
            if only:
                sql += f" AND rowid IN ({','.join('?' * len(only))})"
                args += only
            expected = conn.execute(sql + " ORDER BY distance", args).fetchall()
            got = copy.nearest(query, k, only)
            assert [r[0] for r in got] == [r[0] for r in expected]
            assert np.allclose([r[1] for r in got], [r[1] for r in expected], atol=1e-6)
    store.close()


def test_copy_sees_writes_of_this_and_another_connection(tmp_path: Path):
    ours, theirs = IndexStorage(tmp_path / "v.db", META), IndexStorage(tmp_path / "v.db", META)
    for store in (ours, theirs):
        store.conn.execute("PRAGMA foreign_keys = OFF")
    a, b = unit(np.random.default_rng(1), 2)
    copy = StoredVectors()
    assert copy.refresh(ours.conn).nearest(a, 3, None) == []

    add_chunk(theirs.conn, 5, 50, a)  # another connection (process) commits
    assert [r[0] for r in copy.refresh(ours.conn).nearest(a, 3, None)] == [5]
    assert copy.doc_of == {5: 50}

    add_chunk(ours.conn, 6, 60, b)  # our own write
    add_chunk(ours.conn, 7, 70, None)  # a chunk still waiting for its vector
    assert [r[0] for r in copy.refresh(ours.conn).nearest(b, 3, None)] == [6, 5]
    assert copy.doc_of == {5: 50, 6: 60, 7: 70}

    theirs.conn.execute("DELETE FROM chunk_vectors WHERE rowid = 6")
    assert [r[0] for r in copy.refresh(ours.conn).nearest(b, 3, None)] == [5]
    ours.close()
    theirs.close()
