"""Standards search: markdown standards chunked, embedded and searched by meaning and by
keyword, fused by reciprocal rank. The MCP tool `search_standards` and `agent-os search`
both call `StandardsIndex.search`."""

from .embedder import Embedder, HashEmbedder, SentenceTransformerEmbedder, default_embedder
from .index import DocumentInfo, StandardsIndex
from .models import SearchResponse, SearchResult, SyncReport

__all__ = [
    "DocumentInfo",
    "Embedder",
    "HashEmbedder",
    "SearchResponse",
    "SearchResult",
    "SentenceTransformerEmbedder",
    "StandardsIndex",
    "SyncReport",
    "default_embedder",
]
