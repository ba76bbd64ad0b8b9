"""Embedding backends: the one setting that picks them, length batching, and (with the real
models) the ONNX model agreeing with the torch reference."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from agent_os.errors import InputError
from agent_os.resources import shipped_standards_dir
from agent_os.standards import HashEmbedder
from agent_os.standards.chunking import parse_document
from agent_os.standards.embed_onnx import (
    VARIANTS,
    assemble_weights,
    load_recipe,
    package_model_dir,
    quantise_columns,
    read_safetensors,
)
from agent_os.standards.embedder import (
    backend_setting,
    default_embedder,
    embed_batches,
    make_embedder,
)


def shipped_chunk_texts() -> list[str]:
    """What the embedder sees for every chunk of the shipped library."""
    root = shipped_standards_dir()
    texts: list[str] = []
    for path in sorted(root.rglob("*.md")):
        if path.parent == root:
            continue  # the library's README is not a standard
        doc = parse_document(path.read_text(encoding="utf-8"), fallback_title=path.stem)
        texts += [c.embedding_text() for c in doc.chunks]
    return texts


def test_the_setting_picks_the_backend(monkeypatch):
    monkeypatch.delenv("AGENT_OS_EMBEDDER", raising=False)
    assert backend_setting() == "onnx"
    monkeypatch.setenv("AGENT_OS_EMBEDDER", " Torch ")
    assert backend_setting() == "torch"
    monkeypatch.setenv("AGENT_OS_EMBEDDER", "onnx-FP32")
    assert default_embedder().name == "all-MiniLM-L6-v2@onnx-fp32"
    monkeypatch.setenv("AGENT_OS_EMBEDDER", "fake")
    assert isinstance(default_embedder(), HashEmbedder)
    assert default_embedder() is default_embedder()


def test_an_unknown_backend_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("AGENT_OS_EMBEDDER", "gpu")
    with pytest.raises(InputError) as err:
        default_embedder()
    assert "gpu" in str(err.value) and "onnx, onnx-fp32, torch, fake" in (err.value.hint or "")


def test_backends_have_distinct_names_so_an_index_never_mixes_them():
    names = {make_embedder(b).name for b in ("onnx", "onnx-fp32", "torch", "fake")}
    assert len(names) == 4
    assert make_embedder("onnx").name.endswith("@onnx-int8")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_weight_a_shipped_graph_needs_comes_from_the_package(variant):
    # The graphs ship without weights; a package whose tensors were renamed or reshaped
    # must fail here rather than load a model that computes something else.
    weights = load_recipe(VARIANTS[variant], read_safetensors(package_model_dir() / "model.safetensors"))
    assert weights["encoder.embeddings.word_embeddings.weight"].shape == (30522, 384)
    quantised = {n: w for n, w in weights.items() if n.endswith("_quantized")}
    if variant == "int8":  # the 18 dense layers (6 layers x attention output, FFN in and out)
        assert len(quantised) == 18 and all(w.dtype == np.int8 for w in quantised.values())
        assert all(weights[n.replace("_quantized", "_scale")].shape == (w.shape[1],) for n, w in quantised.items())
    else:
        assert not quantised and all(w.dtype == np.float32 for w in weights.values())
    assert all(w.flags.c_contiguous for w in weights.values())
    assert VARIANTS[variant].stat().st_size < 1_000_000  # the graph alone: no second copy of the weights


def test_a_column_is_quantised_to_its_own_scale():
    weight = np.array([[0.5, -2.0, 0.0], [-1.0, 1.0, 0.0], [0.25, 0.01, 0.0]], dtype=np.float32)
    quantised, scale = quantise_columns(weight)
    assert np.allclose(scale, [1.0 / 127, 2.0 / 127, 1.0])  # ONNX Runtime's scale for zeros
    assert quantised[:, 0].tolist() == [64, -127, 32]  # 63.5 rounds half to even
    assert quantised[:, 1].tolist() == [-127, 64, 1]
    assert quantised[:, 2].tolist() == [0, 0, 0]  # an all-zero column stays zero
    assert np.all(np.abs(quantised[:, :2] * scale[:2] - weight[:, :2]) <= scale[:2] / 2 + 1e-7)


def test_a_recipe_naming_a_missing_tensor_says_which():
    with pytest.raises(ValueError, match="no tensor 'gone.weight'"):
        assemble_weights({"w": [["gone.weight", False]]}, {})


def test_batches_group_texts_of_similar_length_and_cover_each_once():
    texts = ["a " * n for n in (50, 1, 30, 2, 40, 3)]
    seen: list[int] = []
    for picked, vectors in embed_batches(HashEmbedder(), texts, batch_size=2):
        assert len(picked) == len(vectors) <= 2
        seen += picked
    assert sorted(seen) == list(range(6))
    assert seen == sorted(range(6), key=lambda i: len(texts[i]))


def test_the_columns_are_quantised_bit_for_bit_as_onnx_runtime_does(tmp_path):
    # The shipped int8 graph was quantised by ONNX Runtime; embed_onnx quantises the package's
    # weights again at load and must produce the very same int8 values and scales.
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(7)
    weight = (rng.standard_normal((48, 40)) * rng.uniform(0.01, 3, size=40)).astype(np.float32)
    weight[:, 5] = 0.0  # an all-zero column
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "one_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 48])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 40])],
        [numpy_helper.from_array(weight, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "f.onnx")
    quantize_dynamic(tmp_path / "f.onnx", tmp_path / "q.onnx", op_types_to_quantize=["MatMul"],
                     per_channel=True, weight_type=QuantType.QInt8)
    theirs = {i.name: numpy_helper.to_array(i) for i in onnx.load(tmp_path / "q.onnx").graph.initializer}
    ours, scale = quantise_columns(weight)
    assert np.array_equal(ours, theirs["w_quantized"])
    assert np.array_equal(scale, theirs["w_scale"])
    assert not theirs["w_zero_point"].any()


@pytest.mark.model
@pytest.mark.timeout(1200)  # torch embeds ~300 chunks: 20 s on a quiet machine, minutes on a busy one
def test_the_onnx_models_agree_with_the_torch_reference_on_every_shipped_chunk():
    texts = shipped_chunk_texts()
    assert len(texts) > 300
    reference = make_embedder("torch").embed(texts)
    # float32: the same weights, only summation order differs. int8 (the default): the
    # dense layers' weights rounded to 8 bits, activations quantised per run.
    for backend, floor in (("onnx-fp32", 0.9999), ("onnx", 0.98)):
        ours = make_embedder(backend).embed(texts)
        assert ours.shape == reference.shape == (len(texts), 384)
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-3)
        cosine = np.sum(ours * reference, axis=1)
        worst = int(np.argmin(cosine))
        assert cosine[worst] >= floor, f"{backend}: cosine {cosine[worst]:.6f} on: {texts[worst][:200]!r}"


@pytest.mark.model
def test_an_onnx_vector_does_not_depend_on_its_batch():
    embedder = make_embedder("onnx")
    texts = ["retry with backoff", "Rules\nNever split read-modify-write across an unguarded gap. " * 5, "x"]
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def in_fresh_process(code: str) -> list[str]:
    """What `code` prints, run by a new Python with the default backend (no setting)."""
    env = {k: v for k, v in os.environ.items() if k != "AGENT_OS_EMBEDDER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return out.stdout.split()


def test_importing_the_package_loads_no_model_library():
    assert in_fresh_process(
        "import sys, agent_os.standards, agent_os_cli; agent_os.standards.default_embedder(); "
        "print(*(m in sys.modules for m in ('torch', 'sentence_transformers', 'onnxruntime')))"
    ) == ["False", "False", "False"]


@pytest.mark.model
def test_the_default_backend_embeds_without_importing_torch():
    assert in_fresh_process(
        "import sys; from agent_os.standards import default_embedder; "
        "v = default_embedder().embed(['hello']); "
        "print(v.shape[1], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    ) == ["384", "False", "False"]
