"""Bringing the index up to date with the files, in two steps.

1. `sync_text`: read the files whose stat changed, chunk them, and write documents, chunks
   and their words in one transaction. Vectors already known (the same chunk text elsewhere
   in the index, or the shipped pack) are written with them; the other chunks are listed as
   waiting. Keyword search sees every chunk from here on.
2. `embed_waiting`: embed the waiting chunks in batches, writing each batch as it is done,
   so vector search grows while the rest embeds. Each text is tokenised once.

Between the two, a search can already answer (keyword-first, marked partial).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import parse_document
from .embedder import Embedder, embed_batches
from .models import ParsedDocument, SyncReport
from .pack import load_pack
from .scan import FoundFile, Root, fingerprint, scan
from .storage import IndexStorage

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "reading" or "embedding"."""


def sha(data: bytes | str) -> str:
    """Hex SHA-256 of bytes, or of text as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Changed:
    """A document to (re)write."""

    file: FoundFile
    content_hash: str
    doc: ParsedDocument
    hashes: list[str]


def read_file(f: FoundFile, texts: dict[tuple[str, str], str]) -> tuple[str, str, str | None]:
    """(status, note, content hash) of one file; its text goes into `texts`."""
    try:
        data = f.root.documents[f.rel_path] if f.root.documents is not None else f.abs_path.read_bytes()
    except OSError as exc:
        return "skipped", f"cannot be read ({exc.strerror or exc})", None
    digest = sha(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "skipped", f"not UTF-8 (byte {exc.start}); skipped", digest
    texts[f.key] = text.lstrip("\ufeff")
    return "ok", "", digest


def sync_text(
    storage: IndexStorage,
    roots: list[Root],
    embedder: Embedder,
    *,
    max_tokens: int,
    use_pack: bool = True,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> tuple[SyncReport, dict[tuple[str, str], tuple[int, int]]]:
    """Step 1: write what changed on disk, vectors where known; (report, fingerprint seen).

    Only files whose stat changed are read. A later root's document replaces an earlier
    root's of the same relative path. Non-UTF-8 files are skipped with a warning.
    """
    started = time.perf_counter()
    report = SyncReport(documents=0, chunks=0)
    if rebuild:
        storage.create_schema()
        report.rebuilt = True
    report.notices.extend(storage.notices)
    report.rebuilt = report.rebuilt or storage.rebuilt
    storage.notices.clear()
    storage.rebuilt = False

    found = scan(roots)
    stored = storage.files()
    # 1. Read what changed (by stat), hash it, decode it.
    file_rows: list[tuple[Any, ...]] = []
    texts: dict[tuple[str, str], str] = {}
    hashes: dict[tuple[str, str], str] = {}
    ok: dict[tuple[str, str], bool] = {}
    for i, f in enumerate(found):
        old = stored.get(f.key)
        if old is None or (old["mtime_ns"], old["size"]) != (f.mtime_ns, f.size):
            status, note, digest = read_file(f, texts)
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
    docs = storage.documents()
    removed = [rel for rel in docs if rel not in winners]
    changed: list[_Changed] = []
    for rel, f in winners.items():
        old = docs.get(rel)
        digest = hashes[f.key]
        if old is not None and old["root"] == f.root.label and old["content_hash"] == digest:
            report.unchanged += 1
            continue
        text = texts.get(f.key)
        if text is None:  # stat unchanged but not indexed yet (e.g. it was shadowed)
            _, note, digest = read_file(f, texts)
            text = texts.get(f.key)
            if text is None:
                report.warnings.append(f"{f.root.label}:{f.rel_path}: {note}")
                continue
        doc = parse_document(
            text, fallback_title=Path(f.rel_path).stem.replace("-", " ").capitalize(),
            max_tokens=max_tokens,
        )
        changed.append(_Changed(f, digest or "", doc, [sha(c.embedding_text()) for c in doc.chunks]))
        if old is None:
            report.added += 1
        else:
            report.updated += 1
    report.removed = len(removed)

    # 3. Vectors of chunk texts the index already has; the shipped library's from its pack.
    wanted = sorted({h for c in changed for h in c.hashes})
    known = storage.known_vectors(wanted)
    missing = set(wanted) - known.keys()
    if missing and use_pack:
        shipped = load_pack(embedder.name, embedder.dim)
        known.update({h: shipped[h] for h in missing if h in shipped})
    new: set[str] = set()
    for c in changed:
        for h in c.hashes:
            if h in known or h in new:
                report.chunks_reused += 1
            else:
                new.add(h)

    # 4. Write everything in one transaction.
    with storage.transaction():
        for rel in removed:
            storage.delete_document(rel)
        for c in changed:
            storage.write_document(
                c.file.root, c.file.rel_path, c.content_hash, c.doc.title, c.doc.tags,
                c.doc.summary, c.doc.chunks, c.hashes, known,
            )
        storage.replace_files(file_rows)
    report.documents, report.chunks = storage.counts()
    report.seconds = round(time.perf_counter() - started, 3)
    return report, fingerprint(found)


def embed_waiting(
    storage: IndexStorage,
    embedder: Embedder,
    lock: threading.RLock,
    progress: Progress | None = None,
) -> int:
    """Step 2: embed every chunk waiting for a vector; return how many texts were embedded.

    `lock` guards the storage; it is held only to read the list and to write each batch, so
    searches run between batches.
    """
    with lock:
        todo = list(storage.pending().items())
    if progress:
        progress("embedding", 0, len(todo))
    done = 0
    for picked, vectors in embed_batches(embedder, [text for _, text in todo]):
        batch = {todo[i][0]: np.asarray(v, dtype=np.float32).tobytes() for i, v in zip(picked, vectors)}
        with lock:
            storage.add_vectors(batch)
        done += len(picked)
        if progress:
            progress("embedding", done, len(todo))
    return len(todo)
