"""The standards index: markdown standards from several roots, chunked, embedded and stored
in one SQLite file (sqlite-vec for vectors, FTS5 for BM25), searched by vector, keyword or
both fused by reciprocal rank.

The index is disposable: a corrupt file, another schema version or another embedder means
a rebuild, never an error the user has to repair by hand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np

from .. import sqlite as db
from ..errors import InputError, StoreError
from ..project import Project
from ..resources import shipped_standards_dir
from .chunking import DEFAULT_MAX_TOKENS, parse_document
from .embedder import Embedder, default_embedder, embed_batches
from .fusion import RRF_K, fts_query, reciprocal_rank_fusion
from .pack import load_pack
from .models import MAX_RESULTS, MODES, ParsedDocument, SearchResponse, SearchResult, SyncReport
from .scan import FoundFile, Root, fingerprint, root_labels, scan

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_QUERY_CHARS = 2000
CANDIDATES = 30
"""How many hits each retriever hands to the fusion; deeper pools add noise, not recall."""
MAX_RESULT_CHARS = 900
"""A passage longer than this is shortened in results: three results stay a few hundred tokens."""
MAX_PER_DOCUMENT = 2
"""Passages of one document before other documents get their turn (0: no limit). Lifted the
benchmark's hybrid hit@3 from 0.948 to 0.974: the second-best document often answers too."""
# BM25 column weights: title, heading path, tags, body. A word in a document's title or a
# section heading says more about the passage than the same word in running text.
FTS_WEIGHTS = (4.0, 2.0, 2.0, 1.0)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "reading" or "embedding"."""


class DocumentInfo(NamedTuple):
    """An indexed document: which root it came from, its path there, its title and tags."""

    root: str
    path: str
    title: str
    tags: tuple[str, ...] = ()


def _sha(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _shorten(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip() + "\n…"


@dataclass
class _Pending:
    """A document to (re)write, with its chunks' vectors once embedded."""

    file: FoundFile
    content_hash: str
    doc: ParsedDocument
    hashes: list[str]
    vectors: dict[str, bytes] = field(default_factory=dict)


class StandardsIndex:
    """Search over a project's standards; open with `StandardsIndex.open(project)`.

    Thread-safe: one lock guards the connection, so the MCP server may call `search` from
    worker threads. Query embedding happens outside the lock.
    """

    def __init__(
        self,
        path: Path,
        roots: list[Root],
        embedder: Embedder,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.path = Path(path)
        self.roots = roots
        self.embedder = embedder
        self.max_tokens = max_tokens
        self.use_pack = True
        """Take the shipped standards' vectors from their pack (off to rebuild the pack)."""
        self._lock = threading.RLock()
        self._notices: list[str] = []
        self._rebuilt = False  # the schema was (re)created since the last sync
        self._seen: dict[tuple[str, str], tuple[int, int]] | None = None
        self._conn: Any = None
        self._connect()

    # -- opening, schema, recovery ---------------------------------------------------------

    @classmethod
    def open(
        cls, project: Project, embedder: Embedder | None = None, *, index_path: Path | None = None
    ) -> StandardsIndex:
        """Open (creating if needed) the index of `project`'s standards roots.

        `embedder=None` uses the real model, shared process-wide and loaded on first use.
        Roots given explicitly (`--standards`) must exist; the default ones may not.
        """
        if project.standards_override is not None:
            for raw in project.standards_override:
                path = raw if raw.is_absolute() else project.root / raw
                if not path.is_dir():
                    raise InputError(
                        f"Standards directory {path} does not exist.",
                        hint="Pass --standards with a folder of markdown files.",
                    )
        return cls(
            index_path or project.index_path,
            root_labels(project),
            embedder if embedder is not None else default_embedder(),
        )

    def _connect(self) -> None:
        try:
            self._conn = db.connect(self.path, vec=True)
            self._ensure_schema()
        except db.DatabaseError as exc:
            # Not a database (or a damaged one): the index is derived data, so start over.
            self._discard_file(exc)
            self._conn = db.connect(self.path, vec=True)
            self._ensure_schema()
        except OSError as exc:
            raise StoreError(
                f"Cannot open the standards index {self.path}: {exc}",
                hint="Pass --index FILE with a writable location.",
            ) from exc

    def _discard_file(self, exc: BaseException) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except db.Error:
                pass
            self._conn = None
        try:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        except OSError as err:
            raise StoreError(
                f"The standards index {self.path} is damaged ({exc}) and could not be removed "
                f"({err}).",
                hint="Delete the file, or run `agent-os index --rebuild --index FILE` elsewhere.",
            ) from err
        self._rebuilt = True
        log.warning("standards index %s was damaged (%s); rebuilding", self.path, exc)
        self._notices.append(
            f"The index file {self.path} was damaged ({exc}); it was rebuilt from the standards."
        )

    def _meta(self) -> dict[str, str]:
        rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
        return {r["key"]: r["value"] for r in rows}

    def _ensure_schema(self) -> None:
        conn = self._conn
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = self._meta()
        wanted = {
            "schema_version": str(SCHEMA_VERSION),
            "embedder": self.embedder.name,
            "dim": str(self.embedder.dim),
            "max_tokens": str(self.max_tokens),
        }
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
            self._notices.append(f"Rebuilt the standards index: {why}.")
            self._rebuilt = True
        self._create_schema(wanted)

    def _create_schema(self, meta: dict[str, str]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in ("chunk_vectors", "chunk_fts", "chunks", "documents", "files"):
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
                f"embedding float[{int(meta['dim'])}] distance_metric=cosine)"
            )
            conn.execute(
                "CREATE VIRTUAL TABLE chunk_fts USING fts5("
                "title, heading, tags, body, tokenize='porter unicode61')"
            )
            conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", list(meta.items()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._seen = None

    def _recover(self, exc: BaseException) -> None:
        """The file went bad under us: throw it away and build again."""
        self._discard_file(exc)
        self._connect()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _db(self) -> Any:
        if self._conn is None:
            raise StoreError("The standards index is closed.")
        return self._conn

    # -- sync --------------------------------------------------------------------------

    def sync(self, progress: Progress | None = None, *, rebuild: bool = False) -> SyncReport:
        """Bring the index up to date with the files on disk; return what changed.

        Only files whose stat changed are read; only chunks whose text is new are embedded
        (vectors of unchanged chunk texts are reused). A later root's document replaces an
        earlier root's of the same relative path. Non-UTF-8 files are skipped with a warning.
        """
        with self._lock:
            try:
                return self._sync(progress, rebuild)
            except db.DatabaseError as exc:
                if isinstance(exc, db.OperationalError) and "locked" in str(exc):
                    raise StoreError(
                        f"The standards index {self.path} is busy: {exc}",
                        hint="Another process is writing it; retry in a moment.",
                    ) from exc
                self._recover(exc)
                return self._sync(progress, True)

    def _sync(self, progress: Progress | None, rebuild: bool) -> SyncReport:
        started = time.perf_counter()
        conn = self._db()
        report = SyncReport(documents=0, chunks=0)
        if rebuild:
            self._create_schema(self._meta())
            report.rebuilt = True
        report.notices.extend(self._notices)
        report.rebuilt = report.rebuilt or self._rebuilt
        self._notices.clear()
        self._rebuilt = False

        found = scan(self.roots)
        stored = {
            (r["root"], r["rel_path"]): r
            for r in conn.execute("SELECT * FROM files").fetchall()
        }
        # 1. Read what changed (by stat), hash it, decode it.
        file_rows: list[tuple[Any, ...]] = []
        texts: dict[tuple[str, str], str] = {}
        hashes: dict[tuple[str, str], str] = {}
        ok: dict[tuple[str, str], bool] = {}
        for i, f in enumerate(found):
            old = stored.get(f.key)
            if old is None or (old["mtime_ns"], old["size"]) != (f.mtime_ns, f.size):
                status, note, digest = self._read(f, texts)
                if progress:
                    progress("reading", i + 1, len(found))
            else:
                status, note, digest = old["status"], old["note"], old["content_hash"]
            hashes[f.key] = digest or ""
            ok[f.key] = status == "ok"
            if status != "ok":
                report.warnings.append(f"{f.root.label}:{f.rel_path}: {note}")
            file_rows.append((f.root.label, f.rel_path, f.mtime_ns, f.size, digest, status, note))

        # 2. The winner of each relative path: the last root that has a readable file.
        winners: dict[str, FoundFile] = {}
        for f in found:
            if ok[f.key]:
                winners[f.rel_path] = f
        docs = {
            r["rel_path"]: r
            for r in conn.execute("SELECT id, root, rel_path, content_hash FROM documents")
        }
        removed = [rel for rel in docs if rel not in winners]
        pending: list[_Pending] = []
        for rel, f in winners.items():
            old = docs.get(rel)
            digest = hashes[f.key]
            if old is not None and old["root"] == f.root.label and old["content_hash"] == digest:
                report.unchanged += 1
                continue
            text = texts.get(f.key)
            if text is None:  # stat unchanged but not indexed yet (e.g. it was shadowed)
                status, note, digest = self._read(f, texts)
                text = texts.get(f.key)
                if text is None:
                    report.warnings.append(f"{f.root.label}:{f.rel_path}: {note}")
                    continue
            doc = parse_document(
                text, fallback_title=Path(f.rel_path).stem.replace("-", " ").capitalize(),
                max_tokens=self.max_tokens,
            )
            chunk_hashes = [_sha(c.embedding_text()) for c in doc.chunks]
            pending.append(_Pending(f, digest, doc, chunk_hashes))
            if old is None:
                report.added += 1
            else:
                report.updated += 1
        report.removed = len(removed)

        # 3. Reuse vectors of chunk texts already in the index; embed the rest.
        self._embed_pending(pending, report, progress)

        # 4. Write everything in one transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for rel in removed:
                self._delete_document(rel)
            for p in pending:
                self._write_document(p)
            conn.execute("DELETE FROM files")
            conn.executemany(
                "INSERT INTO files(root, rel_path, mtime_ns, size, content_hash, status, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                file_rows,
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('synced_at', ?)",
                (str(time.time()),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._seen = fingerprint(found)
        report.documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        report.chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    @staticmethod
    def _read(f: FoundFile, texts: dict[tuple[str, str], str]) -> tuple[str, str, str | None]:
        """(status, note, content hash) of one file; its text goes into `texts`."""
        try:
            data = f.abs_path.read_bytes()
        except OSError as exc:
            return "skipped", f"cannot be read ({exc.strerror or exc})", None
        digest = _sha(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return "skipped", f"not UTF-8 (byte {exc.start}); skipped", digest
        texts[f.key] = text.lstrip("\ufeff")
        return "ok", "", digest

    def _embed_pending(
        self, pending: list[_Pending], report: SyncReport, progress: Progress | None
    ) -> None:
        conn = self._db()
        wanted = {h for p in pending for h in p.hashes}
        known: dict[str, bytes] = {}
        hash_list = sorted(wanted)
        for start in range(0, len(hash_list), 500):
            batch = hash_list[start : start + 500]
            marks = ",".join("?" * len(batch))
            for row in conn.execute(
                f"SELECT c.text_hash, v.embedding FROM chunks c JOIN chunk_vectors v "
                f"ON v.rowid = c.id WHERE c.text_hash IN ({marks})",
                batch,
            ):
                known.setdefault(row[0], bytes(row[1]))
        missing = wanted - known.keys()
        if missing and self.use_pack:
            # The shipped library's vectors come precomputed: see pack.py.
            shipped = load_pack(self.embedder.name, self.embedder.dim)
            known.update({h: shipped[h] for h in missing if h in shipped})
        todo: dict[str, str] = {}
        for p in pending:
            for h, chunk in zip(p.hashes, p.doc.chunks):
                if h in known:
                    report.chunks_reused += 1
                elif h not in todo:
                    todo[h] = chunk.embedding_text()
                    report.chunks_embedded += 1
                else:
                    report.chunks_reused += 1
        items = list(todo.items())
        if progress:
            progress("embedding", 0, len(items))
        done = 0
        for picked, vectors in embed_batches(self.embedder, [text for _, text in items]):
            for i, vec in zip(picked, vectors):
                known[items[i][0]] = np.asarray(vec, dtype=np.float32).tobytes()
            done += len(picked)
            if progress:
                progress("embedding", done, len(items))
        for p in pending:
            p.vectors = {h: known[h] for h in p.hashes}

    def _delete_document(self, rel_path: str) -> None:
        conn = self._conn
        row = conn.execute("SELECT id FROM documents WHERE rel_path = ?", (rel_path,)).fetchone()
        if row is None:
            return
        ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (row[0],))]
        conn.executemany("DELETE FROM chunk_vectors WHERE rowid = ?", [(i,) for i in ids])
        conn.executemany("DELETE FROM chunk_fts WHERE rowid = ?", [(i,) for i in ids])
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (row[0],))
        conn.execute("DELETE FROM documents WHERE id = ?", (row[0],))

    def _write_document(self, p: _Pending) -> None:
        conn = self._conn
        self._delete_document(p.file.rel_path)
        doc = p.doc
        cur = conn.execute(
            "INSERT INTO documents(root, root_path, rel_path, content_hash, title, tags, summary) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                p.file.root.label, str(p.file.root.path), p.file.rel_path, p.content_hash,
                doc.title, json.dumps(list(doc.tags)), doc.summary,
            ),
        )
        doc_id = cur.lastrowid
        tags = " ".join(doc.tags)
        for ord_, (chunk, h) in enumerate(zip(doc.chunks, p.hashes)):
            cur = conn.execute(
                "INSERT INTO chunks(doc_id, ord, heading, start_line, end_line, text, text_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc_id, ord_, chunk.heading, chunk.start_line, chunk.end_line, chunk.text, h),
            )
            chunk_id = cur.lastrowid
            conn.execute(
                "INSERT INTO chunk_vectors(rowid, embedding) VALUES (?, ?)",
                (chunk_id, p.vectors[h]),
            )
            conn.execute(
                "INSERT INTO chunk_fts(rowid, title, heading, tags, body) VALUES (?, ?, ?, ?, ?)",
                (chunk_id, doc.title, chunk.heading, tags, chunk.text),
            )

    # -- freshness ---------------------------------------------------------------------

    def _stored_fingerprint(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {
            (r[0], r[1]): (r[2], r[3])
            for r in self._db().execute("SELECT root, rel_path, mtime_ns, size FROM files")
        }

    def _refresh_if_stale(self) -> tuple[bool, list[str]]:
        """Sync when files changed on disk since the last sync; (refreshed, notices)."""
        notices: list[str] = []
        never_built = self._db().execute(
            "SELECT 1 FROM meta WHERE key = 'synced_at'"
        ).fetchone() is None
        if self._seen is None and not never_built:
            self._seen = self._stored_fingerprint()
        current = fingerprint(scan(self.roots))
        if not never_built and current == self._seen:
            return False, notices
        try:
            report = self.sync()
        except Exception as exc:  # noqa: BLE001 - answer from the index we have, and say so
            log.warning("refreshing the standards index failed: %s", exc)
            notices.append(
                f"Standards changed on disk but the index could not be refreshed ({exc}); "
                "results may be stale. Run `agent-os index`."
            )
            return False, notices
        notices.extend(report.notices)
        if never_built:
            notices.append(
                f"Built the standards index ({report.documents} documents, "
                f"{report.chunks} chunks) in {report.seconds:.1f} s."
            )
        elif report.changed:
            notices.append(
                f"Re-indexed standards changed on disk before answering ({report.added} added, "
                f"{report.updated} updated, {report.removed} removed)."
            )
        notices.extend(f"Skipped {w}" for w in report.warnings if self._is_new_warning(w))
        return report.changed or never_built, notices

    def _is_new_warning(self, warning: str) -> bool:
        # Say it once per process, not on every search.
        seen = self.__dict__.setdefault("_warned", set())
        if warning in seen:
            return False
        seen.add(warning)
        return True

    # -- search ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        n_results: int = 3,
        folder: str | None = None,
        tag: str | None = None,
        mode: str = "hybrid",
    ) -> SearchResponse:
        """The `n_results` passages that best answer `query`, best first.

        `mode` is "hybrid" (default: vector and keyword fused by reciprocal rank),
        "vector" or "keyword". `folder` keeps documents under that path prefix
        ("security"); `tag` keeps documents carrying that front-matter tag. Files changed
        on disk since the last sync are re-indexed first (the response says so).
        """
        started = time.perf_counter()
        query = self._check_query(query, n_results, mode)
        with self._lock:
            try:
                refreshed, notices = self._refresh_if_stale()
                allowed = self._allowed_chunks(folder, tag)
            except db.DatabaseError as exc:
                self._recover(exc)
                self.sync()
                refreshed, notices = True, [f"The index was damaged ({exc}) and was rebuilt."]
                allowed = self._allowed_chunks(folder, tag)
        pool = max(CANDIDATES, n_results)
        vector_ids: list[int] = []
        keyword_ids: list[int] = []
        scores: dict[str, dict[int, float]] = {"vector": {}, "keyword": {}}
        if allowed is None or allowed:
            if mode in ("vector", "hybrid"):
                qvec = self.embedder.embed([query])[0]  # outside the lock: it is the slow part
                with self._lock:
                    rows = self._knn(np.asarray(qvec, dtype=np.float32), pool, allowed)
                vector_ids = [r[0] for r in rows]
                scores["vector"] = {r[0]: 1.0 - float(r[1]) for r in rows}
            if mode in ("keyword", "hybrid"):
                with self._lock:
                    rows = self._bm25(query, pool, allowed)
                keyword_ids = [r[0] for r in rows]
                scores["keyword"] = {r[0]: -float(r[1]) for r in rows}
        if mode == "hybrid":
            fused = reciprocal_rank_fusion([vector_ids, keyword_ids], k=RRF_K)
        elif mode == "vector":
            fused = [(i, scores["vector"][i]) for i in vector_ids]
        else:
            fused = [(i, scores["keyword"][i]) for i in keyword_ids]
        with self._lock:
            results = self._results(fused, vector_ids, keyword_ids, n_results)
        return SearchResponse(
            query=query,
            mode=mode,  # type: ignore[arg-type]
            results=results,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            refreshed=refreshed,
            notices=notices,
        )

    @staticmethod
    def _check_query(query: str, n_results: int, mode: str) -> str:
        if not isinstance(query, str) or not query.strip():
            raise InputError("The query is empty.", hint="Describe what you need, e.g. 'retry with backoff'.")
        if len(query) > MAX_QUERY_CHARS:
            raise InputError(
                f"The query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}.",
                hint="Ask about one topic in a sentence or two.",
            )
        if isinstance(n_results, bool) or not isinstance(n_results, int) or not (
            1 <= n_results <= MAX_RESULTS
        ):
            raise InputError(
                f"n_results must be between 1 and {MAX_RESULTS}, got {n_results!r}.",
                hint="Three results are usually enough.",
            )
        if mode not in MODES:
            raise InputError(
                f"Unknown search mode {mode!r}.", hint=f"Use one of: {', '.join(MODES)}."
            )
        return " ".join(query.split())

    def _allowed_chunks(self, folder: str | None, tag: str | None) -> list[int] | None:
        """Chunk ids passing the filters, or None when there is no filter."""
        if folder is None and tag is None:
            return None
        conn = self._db()
        where, args = [], []
        if folder is not None:
            prefix = folder.strip().strip("/").replace("\\", "/")
            if not prefix or ".." in prefix.split("/"):
                raise InputError(f"Invalid folder {folder!r}.", hint="Use e.g. 'security'.")
            where.append("(d.rel_path = ? OR d.rel_path LIKE ? ESCAPE '\\')")
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args += [prefix, escaped + "/%"]
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(d.tags) WHERE value = ?)")
            args.append(tag.strip().lower())
        docs = conn.execute(
            f"SELECT d.id FROM documents d WHERE {' AND '.join(where)}", args
        ).fetchall()
        if not docs:
            self._explain_empty_filter(folder, tag)
        ids = [d[0] for d in docs]
        marks = ",".join("?" * len(ids))
        return [
            r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", ids)
        ]

    def _explain_empty_filter(self, folder: str | None, tag: str | None) -> None:
        infos = self._documents()
        if folder is not None:
            folders = sorted({p.path.split("/")[0] for p in infos if "/" in p.path})
            if not any(
                p.path == folder.strip("/") or p.path.startswith(folder.strip("/") + "/")
                for p in infos
            ):
                raise InputError(
                    f"No standards under folder {folder!r}.",
                    hint=f"Folders: {', '.join(folders) or '(none)'}.",
                )
        if tag is not None:
            tags = sorted({t for p in infos for t in p.tags})
            shown = ", ".join(tags[:40]) + (" …" if len(tags) > 40 else "")
            raise InputError(
                f"No standards tagged {tag!r}" + (f" under {folder!r}." if folder else "."),
                hint=f"Tags: {shown or '(none)'}.",
            )

    def _knn(self, qvec: np.ndarray, k: int, allowed: list[int] | None) -> list[Any]:
        conn = self._db()
        if allowed is None:
            return conn.execute(
                "SELECT rowid, distance FROM chunk_vectors WHERE embedding MATCH ? AND k = ? "
                "ORDER BY distance",
                (qvec.tobytes(), k),
            ).fetchall()
        marks = ",".join("?" * len(allowed))
        return conn.execute(
            "SELECT rowid, distance FROM chunk_vectors WHERE embedding MATCH ? AND k = ? "
            f"AND rowid IN ({marks}) ORDER BY distance",
            (qvec.tobytes(), min(k, len(allowed)), *allowed),
        ).fetchall()

    def _bm25(self, query: str, limit: int, allowed: list[int] | None) -> list[Any]:
        match = fts_query(query)
        if match is None:
            return []
        weights = ", ".join(str(w) for w in FTS_WEIGHTS)
        sql = f"SELECT rowid, bm25(chunk_fts, {weights}) AS s FROM chunk_fts WHERE chunk_fts MATCH ?"
        args: list[Any] = [match]
        if allowed is not None:
            sql += f" AND rowid IN ({','.join('?' * len(allowed))})"
            args += allowed
        sql += " ORDER BY s LIMIT ?"
        args.append(limit)
        try:
            return self._db().execute(sql, args).fetchall()
        except db.OperationalError as exc:
            # Our query is quoted words, so this should not happen; never show FTS syntax.
            log.warning("FTS query %r failed: %s", match, exc)
            return []

    def _results(
        self,
        fused: list[tuple[int, float]],
        vector_ids: list[int],
        keyword_ids: list[int],
        n_results: int,
    ) -> list[SearchResult]:
        if not fused:
            return []
        conn = self._db()
        ids = [i for i, _ in fused]
        rows = {
            r["id"]: r
            for r in conn.execute(
                "SELECT c.id, c.heading, c.start_line, c.end_line, c.text, d.rel_path, d.root, "
                "d.title, d.tags FROM chunks c JOIN documents d ON d.id = c.doc_id "
                f"WHERE c.id IN ({','.join('?' * len(ids))})",
                ids,
            )
        }
        vrank = {cid: r for r, cid in enumerate(vector_ids, start=1)}
        krank = {cid: r for r, cid in enumerate(keyword_ids, start=1)}
        picked: list[tuple[int, float]] = []
        overflow: list[tuple[int, float]] = []
        per_doc: dict[str, int] = {}
        for cid, score in fused:
            row = rows.get(cid)
            if row is None:  # another process rewrote the document meanwhile
                continue
            # Several passages of one document crowd out other documents that answer too;
            # they come back only when there is nothing else to show.
            count = per_doc.get(row["rel_path"], 0)
            if MAX_PER_DOCUMENT and count >= MAX_PER_DOCUMENT:
                overflow.append((cid, score))
                continue
            per_doc[row["rel_path"]] = count + 1
            picked.append((cid, score))
        picked = (picked + overflow)[:n_results]
        results: list[SearchResult] = []
        for cid, score in picked:
            row = rows[cid]
            v, k = vrank.get(cid), krank.get(cid)
            results.append(
                SearchResult(
                    path=row["rel_path"],
                    root=row["root"],
                    title=row["title"],
                    heading=row["heading"],
                    start_line=row["start_line"],
                    end_line=row["end_line"],
                    text=_shorten(row["text"]),
                    score=round(score, 6) if math.isfinite(score) else 0.0,
                    retriever="both" if v and k else ("vector" if v else "keyword"),
                    vector_rank=v,
                    keyword_rank=k,
                    tags=json.loads(row["tags"]),
                )
            )
        return results

    # -- listing -----------------------------------------------------------------------

    def vectors(self) -> tuple[list[str], list[np.ndarray]]:
        """Every stored chunk's text hash and vector (for building the shipped pack)."""
        with self._lock:
            rows = self._db().execute(
                "SELECT c.text_hash, v.embedding FROM chunks c JOIN chunk_vectors v ON v.rowid = c.id "
                "ORDER BY c.text_hash").fetchall()
        seen: dict[str, np.ndarray] = {}
        for h, blob in rows:
            seen.setdefault(h, np.frombuffer(bytes(blob), dtype=np.float32))
        return list(seen), list(seen.values())

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document as (root label, path, title, tags), sorted by path."""
        with self._lock:
            return self._documents()

    def _documents(self) -> list[DocumentInfo]:
        return [
            DocumentInfo(r["root"], r["rel_path"], r["title"], tuple(json.loads(r["tags"])))
            for r in self._db().execute(
                "SELECT root, rel_path, title, tags FROM documents ORDER BY rel_path"
            )
        ]
