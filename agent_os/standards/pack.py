"""Vectors of the shipped standards, computed once and shipped beside them.

Every new project indexes the same shipped library; embedding its ~300 chunks costs 13–18 s
on two cores. The pack (`standards/.vectors-<embedder>.npz`) maps each chunk's text hash to
its vector, so a fresh project only embeds the chunks that are its own, or that changed
since the pack was built. A missing or stale pack is never an error: chunks it lacks are
embedded as usual. The pack records the embedder (model and backend) that made it and is
used by that embedder only: vectors of two backends never mix in one index. It is built
with the default backend. Rebuild it after editing the shipped standards:

    python tools/build_vector_pack.py

A test fails when the pack no longer covers the shipped library.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from ..resources import shipped_standards_dir
from .embedder import DEFAULT_BACKEND, make_embedder


def pack_path(embedder_name: str) -> Path:
    """Where the pack for `embedder_name` lives (inside the shipped standards, hidden)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", embedder_name)
    return shipped_standards_dir() / f".vectors-{safe}.npz"


@functools.lru_cache(maxsize=4)
def load_pack(embedder_name: str, dim: int) -> dict[str, bytes]:
    """Text hash -> float32 vector bytes; empty if there is no usable pack."""
    path = pack_path(embedder_name)
    try:
        with np.load(path, allow_pickle=False) as data:
            made_by = str(data["embedder"])
            hashes, vectors = data["hashes"], data["vectors"]
    except (OSError, KeyError, ValueError):
        return {}
    if made_by != embedder_name:
        return {}
    if vectors.ndim != 2 or vectors.shape[1] != dim or len(hashes) != len(vectors):
        return {}
    vectors = vectors.astype(np.float32, copy=False)
    return {str(h): vectors[i].tobytes() for i, h in enumerate(hashes)}


def build_pack(backend: str = DEFAULT_BACKEND) -> Path:
    """Index the shipped standards alone with `backend`'s model and write their vectors."""
    import tempfile

    from ..project import Project
    from .index import StandardsIndex

    with tempfile.TemporaryDirectory() as tmp:
        project = Project.open(Path(tmp), standards=[str(shipped_standards_dir())],
                               index=str(Path(tmp) / "index.db"))
        index = StandardsIndex.open(project, make_embedder(backend))
        try:
            index.use_pack = False  # embed everything anew: the old pack may be stale
            index.sync(rebuild=True)
            hashes, vectors = index.vectors()
            name = index.embedder.name
        finally:
            index.close()
    out = pack_path(name)
    with out.open("wb") as fh:
        np.savez_compressed(fh, embedder=np.array(name), hashes=np.array(hashes),
                            vectors=np.stack(vectors).astype(np.float32))
    load_pack.cache_clear()
    return out
