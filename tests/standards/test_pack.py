"""The shipped vector pack: it covers the shipped library, and a fresh project uses it."""

from __future__ import annotations

from agent_os.project import Project
from agent_os.resources import shipped_standards_dir
from agent_os.standards import HashEmbedder, StandardsIndex
from agent_os.standards.embedder import MINILM_DIM, MINILM_NAME
from agent_os.standards.pack import load_pack, pack_path


def test_pack_covers_every_shipped_chunk(tmp_path):
    """Fails when standards/ changed without `python tools/build_vector_pack.py`."""
    project = Project.open(tmp_path, standards=[str(shipped_standards_dir())])
    with StandardsIndex.open(project, HashEmbedder()) as index:
        index.sync()
        hashes, _ = index.vectors()
    pack = load_pack(MINILM_NAME, MINILM_DIM)
    missing = sorted(set(hashes) - pack.keys())
    assert pack_path(MINILM_NAME).is_file()
    assert not missing, f"{len(missing)} shipped chunks are not in the pack; run tools/build_vector_pack.py"


def test_fresh_project_embeds_only_its_own_chunks(tmp_path):
    own = tmp_path / ".agent-os" / "standards" / "team"
    own.mkdir(parents=True)
    (own / "deploys.md").write_text("# Deploys\n\nWe deploy on Tuesdays after the smoke tests pass.\n")
    # An embedder under the real model's name, so the pack applies, without loading the
    # model: only the project's own chunk reaches it.
    class SameName(HashEmbedder):
        @property
        def name(self) -> str:
            return MINILM_NAME

    with StandardsIndex.open(Project.open(tmp_path), SameName(dim=MINILM_DIM)) as index:
        report = index.sync()
    assert report.documents > 30
    assert report.chunks_embedded == 1
