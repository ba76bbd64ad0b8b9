"""What the standards index hands out: search results and responses (pydantic, because they
cross the CLI and MCP doors as JSON) and sync reports; plus the dataclasses used inside."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

MAX_RESULTS = 20
"""The most passages one search returns."""

Mode = Literal["hybrid", "vector", "keyword"]
Retriever = Literal["vector", "keyword", "both"]
MODES: tuple[str, ...] = ("hybrid", "vector", "keyword")


class SearchResult(BaseModel):
    """One passage of a standard, with everything needed to cite it."""

    path: str = Field(description="Path of the document relative to its standards root.")
    root: str = Field(description="Label of the standards root the document comes from.")
    title: str = Field(description="The document's title.")
    heading: str = Field(description="Heading path of the passage, e.g. 'Race conditions > Rules'.")
    start_line: int = Field(description="First line of the passage in the file (1-based).")
    end_line: int = Field(description="Last line of the passage in the file (inclusive).")
    text: str = Field(description="The passage (shortened, with a trailing '…', when long).")
    score: float = Field(
        description="Higher is better: cosine similarity (vector), negated BM25 (keyword), "
        "or the reciprocal-rank-fusion score (hybrid)."
    )
    retriever: Retriever = Field(description="Which retriever found the passage.")
    vector_rank: int | None = Field(default=None, description="1-based rank among vector hits.")
    keyword_rank: int | None = Field(default=None, description="1-based rank among keyword hits.")
    tags: list[str] = Field(default_factory=list, description="The document's tags.")


class SearchResponse(BaseModel):
    """The answer to one search."""

    query: str
    mode: Mode
    results: list[SearchResult]
    took_ms: float = Field(description="Time spent answering, refresh included.")
    refreshed: bool = Field(
        default=False, description="True when changed standards were re-indexed before answering."
    )
    partial: bool = Field(
        default=False,
        description="True while the index is still being built: some passages have no vector "
        "yet, so results lean on keyword matches. Search again shortly for complete results.",
    )
    notices: list[str] = Field(
        default_factory=list, description="Things the caller should know: refreshes, rebuilds, skips."
    )


class SyncReport(BaseModel):
    """What a sync did."""

    documents: int = Field(description="Documents in the index after the sync.")
    chunks: int = Field(description="Chunks in the index after the sync.")
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = Field(default=0, description="Chunks whose text was embedded anew.")
    chunks_reused: int = Field(default=0, description="Chunks whose vector was reused.")
    rebuilt: bool = Field(default=False, description="True when the whole index was rebuilt.")
    seconds: float = 0.0
    warnings: list[str] = Field(default_factory=list, description="Files skipped, and why.")
    notices: list[str] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the sync changed anything in the index."""
        return bool(self.added or self.updated or self.removed or self.rebuilt)


@dataclass(frozen=True)
class Chunk:
    """A passage of a markdown document, ready to embed and to cite."""

    heading: str
    start_line: int
    end_line: int
    text: str

    def embedding_text(self) -> str:
        """What the embedder sees: the heading path gives a short passage its context."""
        return f"{self.heading}\n{self.text}"


@dataclass(frozen=True)
class ParsedDocument:
    """A markdown standard split into its front matter and chunks."""

    title: str
    tags: tuple[str, ...]
    summary: str
    chunks: list[Chunk] = field(default_factory=list)
