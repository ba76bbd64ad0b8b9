"""Answering a query from the index: filters, the vector (sqlite-vec KNN) and keyword (FTS5
BM25) retrievers, and turning fused chunk ids into cited results. Pure reads; the caller
holds the index's lock around each call that touches the connection.
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

def knn(conn: Any, qvec: np.ndarray, k: int, allowed: list[int] | None) -> list[Any]:
    """(chunk id, cosine distance) of the `k` nearest chunks that have a vector."""
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

def results(
    conn: Any,
    fused: list[tuple[int, float]],
    vector_ids: list[int],
    keyword_ids: list[int],
    n_results: int,
) -> list[SearchResult]:
    """The best `n_results` of the fused chunk ids as cited results, at most
    MAX_PER_DOCUMENT per document while other documents have hits."""
    if not fused:
        return []
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
                text=shorten(row["text"]),
                score=round(score, 6) if math.isfinite(score) else 0.0,
                retriever="both" if v and k else ("vector" if v else "keyword"),
                vector_rank=v,
                keyword_rank=k,
                tags=json.loads(row["tags"]),
            )
        )
    return results
