"""The shipped vector pack: it covers the shipped library, a fresh project uses it, and it
is used only by the embedder (model and backend) that built it."""

from __future__ import annotations

import numpy as np

from agent_os.project import Project
from agent_os.resources import shipped_standards_dir
from agent_os.standards import HashEmbedder, StandardsIndex
from agent_os.standards.embedder import MINILM_DIM, default_embedder, make_embedder
from agent_os.standards.pack import load_pack, pack_path

DEFAULT_NAME = make_embedder("onnx").name
TORCH_NAME = make_embedder("torch").name


class Named(HashEmbedder):
    """The hashing double under another embedder's name, so that embedder's pack applies
    without loading a model; what reaches `embed` is counted."""

    def __init__(self, name: str) -> None:
        super().__init__(dim=MINILM_DIM)
        self._name = name
        self.embedded = 0

    @property
    def name(self) -> str:
        return self._name

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed(texts)


def test_pack_covers_every_shipped_chunk(tmp_path):
    """Fails when standards/ changed without `python tools/build_vector_pack.py`."""
    project = Project.open(tmp_path, standards=[str(shipped_standards_dir())])
    with StandardsIndex.open(project, HashEmbedder()) as index:
        index.sync()
        hashes, _ = index.vectors()
    pack = load_pack(DEFAULT_NAME, MINILM_DIM)
    missing = sorted(set(hashes) - pack.keys())
    assert pack_path(DEFAULT_NAME).is_file()
    assert not missing, f"{len(missing)} shipped chunks are not in the pack; run tools/build_vector_pack.py"


def test_pack_is_built_by_the_default_backend(monkeypatch):
    monkeypatch.delenv("AGENT_OS_EMBEDDER", raising=False)
    assert default_embedder().name == DEFAULT_NAME
    with np.load(pack_path(DEFAULT_NAME), allow_pickle=False) as data:
        assert str(data["embedder"]) == DEFAULT_NAME


def test_fresh_project_embeds_only_its_own_chunks(tmp_path):
    own = tmp_path / ".agent-os" / "standards" / "team"
    own.mkdir(parents=True)
    (own / "deploys.md").write_text("# Deploys\n\nWe deploy on Tuesdays after the smoke tests pass.\n")
    embedder = Named(DEFAULT_NAME)
    with StandardsIndex.open(Project.open(tmp_path), embedder) as index:
        report = index.sync()
    assert report.documents > 30
    assert report.chunks_embedded == embedder.embedded == 1


def test_a_pack_built_by_one_backend_is_not_used_by_another(tmp_path):
    # The torch backend finds no pack of its own and embeds every chunk itself, rather
    # than borrowing the ONNX backend's vectors; and a pack file under its name but made by another
    # backend is refused too.
    embedder = Named(TORCH_NAME)
    with StandardsIndex.open(Project.open(tmp_path), embedder) as index:
        report = index.sync()
    assert report.chunks_embedded == embedder.embedded == report.chunks > 300
    assert load_pack(TORCH_NAME, MINILM_DIM) == {}


def test_a_pack_file_made_by_another_embedder_is_refused(tmp_path, monkeypatch):
    from agent_os.standards import pack

    fake = tmp_path / "pack.npz"
    np.savez(fake, embedder=np.array(DEFAULT_NAME), hashes=np.array(["a"]),
             vectors=np.ones((1, MINILM_DIM), dtype=np.float32))
    monkeypatch.setattr(pack, "pack_path", lambda name: fake)
    pack.load_pack.cache_clear()
    try:
        assert pack.load_pack(TORCH_NAME, MINILM_DIM) == {}
        assert set(pack.load_pack(DEFAULT_NAME, MINILM_DIM)) == {"a"}
    finally:
        pack.load_pack.cache_clear()


def test_an_index_never_mixes_vectors_of_two_backends(tmp_path):
    project = Project.open(tmp_path)
    with StandardsIndex.open(project, Named(DEFAULT_NAME)) as index:
        index.sync()
    reference = Named(TORCH_NAME)
    with StandardsIndex.open(project, reference) as index:
        report = index.sync()
    assert report.rebuilt and any(TORCH_NAME in n for n in report.notices)
    assert report.chunks_embedded == reference.embedded == report.chunks  # nothing carried over
