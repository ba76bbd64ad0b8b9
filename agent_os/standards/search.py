"""Answering a query from the index: filters, the vector (cosine KNN over the stored
vectors, held in memory) and keyword (FTS5 BM25) retrievers, and turning fused chunk ids
into cited results. Pure reads; the caller holds the index's lock around each call that
touches the connection.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import sqlite as db
from ..errors import InputError
from .fusion import fts_query
from .models import MAX_RESULTS, MODES, SearchResult

log = logging.getLogger(__name__)

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


def shorten(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """`text` cut at a line or word boundary before `limit`, with a trailing '…'."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    if cut < limit // 2:
        cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip() + "\n…"


def check_query(query: str, n_results: int, mode: str) -> str:
    """The query with its whitespace collapsed; InputError for bad arguments."""
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

def allowed_chunks(
    conn: Any, folder: str | None, tag: str | None, documents: Callable[[], list[Any]]
) -> list[int] | None:
    """Chunk ids passing the filters, or None when there is no filter."""
    if folder is None and tag is None:
        return None
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
        explain_empty_filter(documents(), folder, tag)
    ids = [d[0] for d in docs]
    marks = ",".join("?" * len(ids))
    return [
        r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", ids)
    ]

def explain_empty_filter(infos: list[Any], folder: str | None, tag: str | None) -> None:
    """Raise an InputError listing the folders or tags there are."""
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

class StoredVectors:
    """The index's chunk vectors (and every chunk's document) held in memory for the KNN.

    sqlite-vec's KNN reads and compares every stored vector on each query: 0.2–0.3 ms for
    the shipped library's 311 chunks, as much as the rest of a search without the model. A
    product with a copy of the vectors, normalised once, takes ~20 µs and ranks the same
    (the labelled queries' top 30 in the same order; distances agree to 1e-6). A vector of
    length zero (no embedder makes one) is left out. The copy is read again whenever the
    index changed: this connection's own writes move `total_changes`, another connection's
    commits move `PRAGMA data_version`, so a write by anyone is seen by the next query.
    Not thread-safe: the caller holds the index's lock.
    """

    SORT_ALL = 2048
    """Up to this many vectors one stable sort ranks them all; beyond, a partition first."""

    def __init__(self) -> None:
        self._key: tuple[Any, int, int] | None = None
        self._ids = np.empty(0, dtype=np.int64)
        self._unit = np.empty((0, 0), dtype=np.float32)
        self.doc_of: dict[int, int] = {}
        """Chunk id -> document id, for every chunk (with a vector or not)."""

    def refresh(self, conn: Any) -> StoredVectors:
        """Re-read the vectors if the index changed since the last call; returns self."""
        key = (conn, conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0])
        if self._key is not None and self._key[0] is key[0] and self._key[1:] == key[1:]:
            return self
        rows = conn.execute("SELECT rowid, embedding FROM chunk_vectors ORDER BY rowid").fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = (np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
                  if rows else np.empty((0, 0), dtype=np.float32))
        norms = np.linalg.norm(matrix.astype(np.float64), axis=1)
        keep = norms > 0
        self._ids = ids[keep]
        self._unit = (matrix[keep] / norms[keep, None]).astype(np.float32)
        self.doc_of = dict(conn.execute("SELECT id, doc_id FROM chunks").fetchall())
        self._key = key
        return self

    def nearest(self, qvec: np.ndarray, k: int, allowed: list[int] | None) -> list[tuple[int, float]]:
        """(chunk id, cosine distance) of the `k` nearest chunks that have a vector, nearest
        first, ties by chunk id: what sqlite-vec's `embedding MATCH ? AND k = ?` answers
        (distance_metric=cosine)."""
        ids, unit = self._ids, self._unit
        if allowed is not None and len(ids):
            keep = np.isin(ids, np.asarray(allowed, dtype=np.int64))
            ids, unit = ids[keep], unit[keep]
        qvec = np.asarray(qvec, dtype=np.float32)
        length = float(np.linalg.norm(qvec))
        if not len(ids) or k <= 0 or not length:
            return []
        distance = 1.0 - unit @ (qvec / length)
        if len(ids) <= self.SORT_ALL:
            picked = np.argsort(distance, kind="stable")[:k]  # ids ascend: ties by chunk id
        else:
            picked = np.argpartition(distance, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
            picked = picked[np.lexsort((ids[picked], distance[picked]))]
        return list(zip(ids[picked].tolist(), distance[picked].tolist()))


def bm25(conn: Any, query: str, limit: int, allowed: list[int] | None) -> list[Any]:
    """(chunk id, BM25 score: lower is better) of the best keyword matches."""
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
        return conn.execute(sql, args).fetchall()
    except db.OperationalError as exc:
        # Our query is quoted words, so this should not happen; never show FTS syntax.
        log.warning("FTS query %r failed: %s", match, exc)
        return []

ROW_SQL = ("SELECT c.id, c.heading, c.start_line, c.end_line, c.text, d.id AS doc_id, d.rel_path, "
           "d.root, d.title, d.tags FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ")


def spread(ids: list[int], doc_of: dict[int, int]) -> list[int]:
    """`ids` (best first) with at most MAX_PER_DOCUMENT of one document before the passages
    of other documents; the ones held back follow, in their order. Ids not in `doc_of`
    are dropped."""
    picked: list[int] = []
    overflow: list[int] = []
    per_doc: dict[int, int] = {}
    for cid in ids:
        doc = doc_of.get(cid)
        if doc is None:  # another process rewrote the document meanwhile
            continue
        # Several passages of one document crowd out other documents that answer too;
        # they come back only when there is nothing else to show.
        count = per_doc.get(doc, 0)
        if MAX_PER_DOCUMENT and count >= MAX_PER_DOCUMENT:
            overflow.append(cid)
            continue
        per_doc[doc] = count + 1
        picked.append(cid)
    return picked + overflow


def fetch_rows(conn: Any, ids: list[int]) -> dict[int, Any]:
    """Chunk id -> its row with its document's fields, for those of `ids` that exist."""
    if not ids:
        return {}
    return {r["id"]: r for r in conn.execute(ROW_SQL + f"({','.join('?' * len(ids))})", ids)}


def results(
    conn: Any,
    fused: list[tuple[int, float]],
    vector_ids: list[int],
    keyword_ids: list[int],
    n_results: int,
    doc_of: dict[int, int],
) -> list[SearchResult]:
    """The best `n_results` of the fused chunk ids as cited results, at most
    MAX_PER_DOCUMENT per document while other documents have hits.

    `doc_of` (chunk id -> document id, as StoredVectors reads it) picks them, so only the
    rows shown are read. If one of them is gone (another process rewrote its document
    since), every fused row is read and the pick made from what exists.
    """
    if not fused:
        return []
    ids = [cid for cid, _ in fused]
    picked = spread(ids, doc_of)[:n_results]
    rows = fetch_rows(conn, picked)
    if len(rows) < len(picked):
        rows = fetch_rows(conn, ids)
        picked = spread(ids, {cid: row["doc_id"] for cid, row in rows.items()})[:n_results]
    score_of = dict(fused)
    vrank = {cid: r for r, cid in enumerate(vector_ids, start=1)}
    krank = {cid: r for r, cid in enumerate(keyword_ids, start=1)}
    results: list[SearchResult] = []
    for cid in picked:
        row, score = rows[cid], score_of[cid]
        v, k = vrank.get(cid), krank.get(cid)
        results.append(
            SearchResult(
                path=row["rel_path"],
                root=row["root"],
                title=row["title"],
                heading=row["heading"],
                start_line=row["start_line"],
                end_line=row["end_line"],
                text=shorten(row["text"]),
                score=round(score, 6) if math.isfinite(score) else 0.0,
                retriever="both" if v and k else ("vector" if v else "keyword"),
                vector_rank=v,
                keyword_rank=k,
                tags=json.loads(row["tags"]),
            )
        )
    return results
