"""The index file: one SQLite database holding documents, chunks, their vectors (sqlite-vec)
and their words (FTS5), and the chunks still waiting for a vector.

The file is disposable: a damaged one, another schema version or another embedder means it
is thrown away and built again, never an error the user has to repair by hand. This class
does no locking; `StandardsIndex` serialises its use.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from .. import sqlite as db
from ..errors import StoreError
from .models import Chunk

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""2: chunks waiting for a vector are listed in `pending_vectors` (keyword search sees them
at once; vectors follow)."""
TABLES = ("pending_vectors", "chunk_vectors", "chunk_fts", "chunks", "documents", "files")


class IndexStorage:
    """The open index file, its schema and its recovery; rows in, rows out."""

    def __init__(self, path: Path, wanted_meta: dict[str, str]) -> None:
        self.path = Path(path)
        self.wanted_meta = wanted_meta
        self.notices: list[str] = []
        """Rebuilds the caller has not reported yet."""
        self.rebuilt = False
        self.conn: Any = None
        self.connect()

    # -- opening, schema, recovery ---------------------------------------------------------

    def connect(self) -> None:
        """Open the file (creating or rebuilding the schema as needed)."""
        try:
            self.conn = db.connect(self.path, vec=True)
            self._ensure_schema()
        except db.DatabaseError as exc:
            # Not a database (or a damaged one): the index is derived data, so start over.
            self._discard_file(exc)
            self.conn = db.connect(self.path, vec=True)
            self._ensure_schema()
        except OSError as exc:
            raise StoreError(
                f"Cannot open the standards index {self.path}: {exc}",
                hint="Pass --index FILE with a writable location.",
            ) from exc

    def recover(self, exc: BaseException) -> None:
        """The file went bad under us: throw it away and start an empty one."""
        self._discard_file(exc)
        self.connect()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def db(self) -> Any:
        """The open connection; a clear error once closed."""
        if self.conn is None:
            raise StoreError("The standards index is closed.")
        return self.conn

    def _discard_file(self, exc: BaseException) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except db.Error:
                pass
            self.conn = None
        try:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        except OSError as err:
            raise StoreError(
                f"The standards index {self.path} is damaged ({exc}) and could not be removed "
                f"({err}).",
                hint="Delete the file, or run `agent-os index --rebuild --index FILE` elsewhere.",
            ) from err
        self.rebuilt = True
        log.warning("standards index %s was damaged (%s); rebuilding", self.path, exc)
        self.notices.append(
            f"The index file {self.path} was damaged ({exc}); it was rebuilt from the standards."
        )

    def meta(self) -> dict[str, str]:
        """The index's key/value facts: schema version, embedder, chunking, last sync."""
        rows = self.db().execute("SELECT key, value FROM meta").fetchall()
        return {r["key"]: r["value"] for r in rows}

    def _ensure_schema(self) -> None:
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = self.meta()
        wanted = self.wanted_meta
        if meta and all(meta.get(k) == v for k, v in wanted.items()):
            return
        if meta.get("schema_version"):
            if meta.get("embedder") != wanted["embedder"] or meta.get("dim") != wanted["dim"]:
                why = (
                    f"it was built with embedder {meta.get('embedder')} "
                    f"(dim {meta.get('dim')}), now {wanted['embedder']} (dim {wanted['dim']})"
                )
            else:
                why = "its format or chunking changed"
            self.notices.append(f"Rebuilt the standards index: {why}.")
            self.rebuilt = True
        self.create_schema()

    def create_schema(self) -> None:
        """Drop every table and create them empty (a full rebuild follows)."""
        conn = self.db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute("DELETE FROM meta")
            conn.execute(
                """CREATE TABLE files (
                    root TEXT NOT NULL, rel_path TEXT NOT NULL,
                    mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL,
                    content_hash TEXT, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (root, rel_path))"""
            )
            conn.execute(
                """CREATE TABLE documents (
                    id INTEGER PRIMARY KEY, root TEXT NOT NULL, root_path TEXT NOT NULL,
                    rel_path TEXT NOT NULL UNIQUE, content_hash TEXT NOT NULL,
                    title TEXT NOT NULL, tags TEXT NOT NULL, summary TEXT NOT NULL)"""
            )
            conn.execute(
                """CREATE TABLE chunks (
                    id INTEGER PRIMARY KEY,
                    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
                    ord INTEGER NOT NULL, heading TEXT NOT NULL,
                    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
                    text TEXT NOT NULL, text_hash TEXT NOT NULL)"""
            )
            conn.execute("CREATE INDEX chunks_doc ON chunks(doc_id)")
            conn.execute("CREATE INDEX chunks_hash ON chunks(text_hash)")
            conn.execute(
                "CREATE VIRTUAL TABLE chunk_vectors USING vec0("
                f"embedding float[{int(self.wanted_meta['dim'])}] distance_metric=cosine)"
            )
            conn.execute(
                "CREATE VIRTUAL TABLE chunk_fts USING fts5("
                "title, heading, tags, body, tokenize='porter unicode61')"
            )
            conn.execute(
                "CREATE TABLE pending_vectors (chunk_id INTEGER PRIMARY KEY, text_hash TEXT NOT NULL)"
            )
            conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)",
                             list(self.wanted_meta.items()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def transaction(self) -> _Transaction:
        """`with storage.transaction():` — BEGIN IMMEDIATE, COMMIT, or ROLLBACK on error."""
        return _Transaction(self.db())

    # -- documents ---------------------------------------------------------------------------

    def files(self) -> dict[tuple[str, str], Any]:
        """What the last sync saw of each file: stat, hash, status."""
        return {(r["root"], r["rel_path"]): r for r in self.db().execute("SELECT * FROM files")}

    def stored_fingerprint(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(root, path) -> (mtime_ns, size) as of the last sync."""
        return {
            (r[0], r[1]): (r[2], r[3])
            for r in self.db().execute("SELECT root, rel_path, mtime_ns, size FROM files")
        }

    def replace_files(self, rows: list[tuple[Any, ...]]) -> None:
        """Record what this sync saw of each file, and when (inside a transaction)."""
        conn = self.db()
        conn.execute("DELETE FROM files")
        conn.executemany(
            "INSERT INTO files(root, rel_path, mtime_ns, size, content_hash, status, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('synced_at', ?)",
                     (str(time.time()),))

    def synced(self) -> bool:
        """Whether a sync ever finished writing this index."""
        return self.db().execute("SELECT 1 FROM meta WHERE key = 'synced_at'").fetchone() is not None

    def documents(self) -> dict[str, Any]:
        """rel_path -> (id, root, rel_path, content_hash) of every indexed document."""
        return {
            r["rel_path"]: r
            for r in self.db().execute("SELECT id, root, rel_path, content_hash FROM documents")
        }

    def delete_document(self, rel_path: str) -> None:
        """Remove a document with its chunks, vectors and words (inside a transaction)."""
        conn = self.db()
        row = conn.execute("SELECT id FROM documents WHERE rel_path = ?", (rel_path,)).fetchone()
        if row is None:
            return
        ids = [(r[0],) for r in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (row[0],))]
        conn.executemany("DELETE FROM chunk_vectors WHERE rowid = ?", ids)
        conn.executemany("DELETE FROM chunk_fts WHERE rowid = ?", ids)
        conn.executemany("DELETE FROM pending_vectors WHERE chunk_id = ?", ids)
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (row[0],))
        conn.execute("DELETE FROM documents WHERE id = ?", (row[0],))

    def write_document(
        self, root: Any, rel_path: str, content_hash: str, title: str, tags: tuple[str, ...],
        summary: str, chunks: list[Chunk], hashes: list[str], vectors: dict[str, bytes],
    ) -> None:
        """(Re)write one document; chunks without a vector in `vectors` wait in
        `pending_vectors` (inside a transaction)."""
        conn = self.db()
        self.delete_document(rel_path)
        cur = conn.execute(
            "INSERT INTO documents(root, root_path, rel_path, content_hash, title, tags, summary) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (root.label, str(root.path), rel_path, content_hash, title, json.dumps(list(tags)), summary),
        )
        doc_id = cur.lastrowid
        words = " ".join(tags)
        for ord_, (chunk, h) in enumerate(zip(chunks, hashes)):
            chunk_id = conn.execute(
                "INSERT INTO chunks(doc_id, ord, heading, start_line, end_line, text, text_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc_id, ord_, chunk.heading, chunk.start_line, chunk.end_line, chunk.text, h),
            ).lastrowid
            if h in vectors:
                conn.execute("INSERT INTO chunk_vectors(rowid, embedding) VALUES (?, ?)",
                             (chunk_id, vectors[h]))
            else:
                conn.execute("INSERT INTO pending_vectors(chunk_id, text_hash) VALUES (?, ?)",
                             (chunk_id, h))
            conn.execute(
                "INSERT INTO chunk_fts(rowid, title, heading, tags, body) VALUES (?, ?, ?, ?, ?)",
                (chunk_id, title, chunk.heading, words, chunk.text),
            )

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) in the index."""
        conn = self.db()
        return (conn.execute("SELECT count(*) FROM documents").fetchone()[0],
                conn.execute("SELECT count(*) FROM chunks").fetchone()[0])

    # -- vectors -----------------------------------------------------------------------------

    def known_vectors(self, hashes: list[str]) -> dict[str, bytes]:
        """Vectors already stored for any of these chunk text hashes."""
        known: dict[str, bytes] = {}
        for start in range(0, len(hashes), 500):
            batch = hashes[start : start + 500]
            for row in self.db().execute(
                "SELECT c.text_hash, v.embedding FROM chunks c JOIN chunk_vectors v "
                f"ON v.rowid = c.id WHERE c.text_hash IN ({','.join('?' * len(batch))})",
                batch,
            ):
                known.setdefault(row[0], bytes(row[1]))
        return known

    def pending(self) -> dict[str, str]:
        """Text hash -> the text to embed, for every chunk still waiting for a vector."""
        rows = self.db().execute(
            "SELECT p.text_hash, c.heading, c.start_line, c.end_line, c.text FROM pending_vectors p "
            "JOIN chunks c ON c.id = p.chunk_id ORDER BY p.chunk_id"
        ).fetchall()
        return {r[0]: Chunk(r[1], r[2], r[3], r[4]).embedding_text() for r in rows}

    def pending_count(self) -> int:
        """How many chunks still wait for a vector."""
        return self.db().execute("SELECT count(*) FROM pending_vectors").fetchone()[0]

    def add_vectors(self, vectors: dict[str, bytes]) -> None:
        """Give every waiting chunk of these text hashes its vector (one transaction)."""
        conn = self.db()
        with self.transaction():
            for h, blob in vectors.items():
                ids = [r[0] for r in conn.execute(
                    "SELECT chunk_id FROM pending_vectors WHERE text_hash = ?", (h,))]
                conn.executemany("INSERT INTO chunk_vectors(rowid, embedding) VALUES (?, ?)",
                                 [(i, blob) for i in ids])
                conn.execute("DELETE FROM pending_vectors WHERE text_hash = ?", (h,))

    def all_vectors(self) -> list[tuple[str, bytes]]:
        """(text hash, vector) of every stored chunk, by hash."""
        return [(r[0], bytes(r[1])) for r in self.db().execute(
            "SELECT c.text_hash, v.embedding FROM chunks c JOIN chunk_vectors v ON v.rowid = c.id "
            "ORDER BY c.text_hash")]


class _Transaction:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
