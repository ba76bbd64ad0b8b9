"""The standards index: markdown standards from several roots, chunked, embedded and stored
in one SQLite file (storage.py), kept up to date with the files (sync.py) and searched by
vector, keyword or both fused by reciprocal rank (search.py).

A search never waits for a build it did not ask to wait for: while chunks are still being
embedded it answers from the keywords and the vectors that exist, and says so (`partial`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, NamedTuple, Self

import numpy as np

from .. import sqlite as db
from ..errors import InputError, StoreError
from ..project import Project
from . import search as q
from .chunking import DEFAULT_MAX_TOKENS
from .embedder import Embedder, default_embedder
from .fusion import RRF_K, reciprocal_rank_fusion
from .models import SearchResponse, SyncReport
from .scan import DiskWatch, Root, root_labels
from .storage import SCHEMA_VERSION, IndexStorage
from .sync import Progress, embed_waiting, sync_text

log = logging.getLogger(__name__)


class DocumentInfo(NamedTuple):
    """An indexed document: which root it came from, its path there, its title and tags."""

    root: str
    path: str
    title: str
    tags: tuple[str, ...] = ()


class BuildStatus(NamedTuple):
    """How far the vectors are: `embedded` of `chunks` have one."""

    chunks: int
    embedded: int
    building: bool

    @property
    def complete(self) -> bool:
        return self.embedded >= self.chunks


class StandardsIndex:
    """Search over a project's standards; open with `StandardsIndex.open(project)`.

    Thread-safe. `_lock` guards the connection and is held briefly; `_build` is held by
    whoever is syncing, through the embedding, so two syncs never overlap while searches
    run between the batches of one.
    """

    def __init__(
        self,
        path: Any,
        roots: list[Root],
        embedder: Embedder,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.roots = roots
        self.embedder = embedder
        self.max_tokens = max_tokens
        self.use_pack = True
        """Take the shipped standards' vectors from their pack (off to rebuild the pack)."""
        self._lock = threading.RLock()
        self._build = threading.Lock()
        self._texts = threading.Event()
        """Set once every document's text is in the index (keyword search can answer)."""
        self._seen: dict[tuple[str, str], tuple[int, int]] | None = None
        self._warned: set[str] = set()
        self._vectors = q.StoredVectors()
        self._disk = DiskWatch()
        self._store = IndexStorage(path, {
            "schema_version": str(SCHEMA_VERSION),
            "embedder": embedder.name,
            "dim": str(embedder.dim),
            "max_tokens": str(max_tokens),
        })
        self.path = self._store.path
        if self._store.synced():
            self._texts.set()

    @classmethod
    def open(
        cls, project: Project, embedder: Embedder | None = None, *, index_path: Any = None
    ) -> StandardsIndex:
        """Open (creating if needed) the index of `project`'s standards roots.

        `embedder=None` uses the process-wide one AGENT_OS_EMBEDDER names, loaded on first
        use. Roots given explicitly (`--standards`) must exist; the default ones may not.
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

    def close(self) -> None:
        """Close the database connection; a build in progress stops at its next batch."""
        with self._lock:
            self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sync --------------------------------------------------------------------------

    def sync(self, progress: Progress | None = None, *, rebuild: bool = False) -> SyncReport:
        """Bring the index up to date with the files on disk, vectors included; return what
        changed. Waits for a build another thread is running, then checks again.

        Only files whose stat changed are read; only chunks whose text is new are embedded
        (vectors of unchanged chunk texts are reused). A later root's document replaces an
        earlier root's of the same relative path. Non-UTF-8 files are skipped with a warning.
        """
        with self._build:
            report = self._sync_text(progress, rebuild)
            started = time.perf_counter()
            report.chunks_embedded = self._embed(progress)
            report.seconds = round(report.seconds + time.perf_counter() - started, 3)
            return report

    def _sync_text(self, progress: Progress | None, rebuild: bool) -> SyncReport:
        """Step 1 of a sync (the caller holds `_build`)."""
        with self._lock:
            try:
                report, seen = self._run_sync_text(progress, rebuild)
            except db.DatabaseError as exc:
                if isinstance(exc, db.OperationalError) and "locked" in str(exc):
                    raise StoreError(
                        f"The standards index {self.path} is busy: {exc}",
                        hint="Another process is writing it; retry in a moment.",
                    ) from exc
                self._store.recover(exc)
                report, seen = self._run_sync_text(progress, True)
            self._seen = seen
            self._texts.set()
            return report

    def _run_sync_text(self, progress: Progress | None, rebuild: bool) -> Any:
        return sync_text(self._store, self.roots, self.embedder, max_tokens=self.max_tokens,
                         use_pack=self.use_pack, rebuild=rebuild, progress=progress)

    def _embed(self, progress: Progress | None = None) -> int:
        """Step 2 of a sync (the caller holds `_build`)."""
        return embed_waiting(self._store, self.embedder, self._lock, progress)

    def _embed_in_background(self) -> None:
        """Step 2 in a daemon thread, which releases `_build` when done (the caller holds it)."""

        def run() -> None:
            try:
                self._embed()
            except StoreError:
                log.info("the standards index was closed while embedding; the next sync resumes")
            except Exception:  # noqa: BLE001 - the next search retries, and reports a failure
                log.warning("embedding the standards in the background failed", exc_info=True)
            finally:
                self._build.release()

        threading.Thread(target=run, name="agent-os-index-embed", daemon=True).start()

    def build_status(self) -> BuildStatus:
        """How many chunks have vectors, and whether a build is running now."""
        with self._lock:
            _, chunks = self._store.counts()
            waiting = self._store.pending_count()
        return BuildStatus(chunks, chunks - waiting, self._build.locked())

    # -- freshness ---------------------------------------------------------------------

    def _refresh(self, wait: bool) -> tuple[bool, list[str]]:
        """Sync when files changed on disk (or vectors are missing); (refreshed, notices).

        With `wait=False` only the text is brought up to date before answering, and the
        vectors are embedded in the background; a build already running is not waited for.
        """
        if not self._build.acquire(blocking=wait):
            # Another thread is building: answer once the text is in (keyword-first).
            self._texts.wait(60)
            return False, []
        handed_off = False
        try:
            with self._lock:
                never_built = not self._store.synced()
                if self._seen is None and not never_built:
                    self._seen = self._store.stored_fingerprint()
                stale = never_built or self._disk.fingerprint(self.roots) != self._seen
                waiting = self._store.pending_count() if not stale else 0
            if not stale and not waiting:
                return False, []
            notices: list[str] = []
            report: SyncReport | None = None
            if stale:
                try:
                    report = self._sync_text(None, False)
                except Exception as exc:  # noqa: BLE001 - answer from the index we have, and say so
                    log.warning("refreshing the standards index failed: %s", exc)
                    return False, [(
                        f"Standards changed on disk but the index could not be refreshed ({exc}); "
                        "results may be stale. Run `agent-os index`."
                    )]
            if wait:
                embedded = self._embed()
                if report is not None:
                    report.chunks_embedded = embedded
            else:
                self._embed_in_background()
                handed_off = True
            if report is not None:
                notices += self._describe(report, never_built)
            return report is not None and (report.changed or never_built), notices
        finally:
            if not handed_off:
                self._build.release()

    def _describe(self, report: SyncReport, never_built: bool) -> list[str]:
        notices = list(report.notices)
        if never_built:
            notices.append(f"Built the standards index ({report.documents} documents, "
                           f"{report.chunks} chunks) in {report.seconds:.1f} s.")
        elif report.changed:
            notices.append(
                f"Re-indexed standards changed on disk before answering ({report.added} added, "
                f"{report.updated} updated, {report.removed} removed)."
            )
        for warning in report.warnings:
            if warning not in self._warned:  # say it once per process, not on every search
                self._warned.add(warning)
                notices.append(f"Skipped {warning}")
        return notices

    # -- search ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        n_results: int = 3,
        folder: str | None = None,
        tag: str | None = None,
        mode: str = "hybrid",
        *,
        wait: bool = True,
    ) -> SearchResponse:
        """The `n_results` passages that best answer `query`, best first.

        `mode` is "hybrid" (default: vector and keyword fused by reciprocal rank),
        "vector" or "keyword". `folder` keeps documents under that path prefix
        ("security"); `tag` keeps documents carrying that front-matter tag. Files changed
        on disk since the last sync are re-indexed first (the response says so).
        With `wait=False` a search never waits for embedding: while chunks still lack
        vectors it answers from keywords and the vectors there are, marked `partial`.
        """
        started = time.perf_counter()
        query = q.check_query(query, n_results, mode)
        try:
            refreshed, notices = self._refresh(wait)
            with self._lock:
                allowed = q.allowed_chunks(self._store.db(), folder, tag, self._documents)
        except db.DatabaseError as exc:
            with self._lock:
                self._store.recover(exc)
            self.sync()
            refreshed, notices = True, [f"The index was damaged ({exc}) and was rebuilt."]
            with self._lock:
                allowed = q.allowed_chunks(self._store.db(), folder, tag, self._documents)
        pool = max(q.CANDIDATES, n_results)
        vector_ids: list[int] = []
        keyword_ids: list[int] = []
        scores: dict[str, dict[int, float]] = {"vector": {}, "keyword": {}}
        searchable = allowed is None or bool(allowed)
        # Whatever reads the index comes before the model's run, which evicts the caches
        # (each read costs 2-5x as much after it): the keyword hits, the check that the
        # vectors' copy is current, and whether chunks still wait for a vector (the chunk
        # counts are only for the notice: not read on every search).
        with self._lock:
            conn = self._store.db()
            vectors = self._vectors.refresh(conn)
            partial = mode != "keyword" and self._store.pending_count() > 0
            if searchable and mode in ("keyword", "hybrid"):
                rows = q.bm25(conn, query, pool, allowed)
                keyword_ids = [r[0] for r in rows]
                scores["keyword"] = {r[0]: -float(r[1]) for r in rows}
        if searchable and mode in ("vector", "hybrid"):
            qvec = self.embedder.embed([query])[0]  # outside the lock: it is the slow part
            with self._lock:
                rows = vectors.nearest(qvec, pool, allowed)
            vector_ids = [r[0] for r in rows]
            scores["vector"] = {r[0]: 1.0 - r[1] for r in rows}
        if mode == "hybrid":
            fused = reciprocal_rank_fusion([vector_ids, keyword_ids], k=RRF_K)
        elif mode == "vector":
            fused = [(i, scores["vector"][i]) for i in vector_ids]
        else:
            fused = [(i, scores["keyword"][i]) for i in keyword_ids]
        with self._lock:
            results = q.results(self._store.db(), fused, vector_ids, keyword_ids, n_results,
                                vectors.doc_of)
        if partial:
            status = self.build_status()
            notices.append(
                f"Partial results: the standards index is still being built ({status.embedded} of "
                f"{status.chunks} passages embedded), so these lean on keyword matches. Search "
                "again in a few seconds for complete results."
            )
        return SearchResponse(
            query=query,
            mode=mode,  # type: ignore[arg-type]
            results=results,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            refreshed=refreshed,
            partial=partial,
            notices=notices,
        )

    # -- listing -----------------------------------------------------------------------

    def vectors(self) -> tuple[list[str], list[np.ndarray]]:
        """Every stored chunk's text hash and vector (for building the shipped pack)."""
        with self._lock:
            rows = self._store.all_vectors()
        seen: dict[str, np.ndarray] = {}
        for h, blob in rows:
            seen.setdefault(h, np.frombuffer(blob, dtype=np.float32))
        return list(seen), list(seen.values())

    def documents(self) -> list[DocumentInfo]:
        """Every indexed document as (root label, path, title, tags), sorted by path."""
        with self._lock:
            return self._documents()

    def _documents(self) -> list[DocumentInfo]:
        return [
            DocumentInfo(r["root"], r["rel_path"], r["title"], tuple(json.loads(r["tags"])))
            for r in self._store.db().execute(
                "SELECT root, rel_path, title, tags FROM documents ORDER BY rel_path"
            )
        ]
