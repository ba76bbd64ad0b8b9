"""Standards search: markdown standards chunked, embedded and searched by meaning and by
keyword, fused by reciprocal rank. The MCP tool `search_standards` and `agent-os search`
both call `StandardsIndex.search`.

Names are imported on first use: numpy, sqlite-vec and the model code load only when a
command or tool needs them, which keeps `agent-os mcp`'s handshake quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "DocumentInfo": "index",
    "StandardsIndex": "index",
    "Embedder": "embedder",
    "HashEmbedder": "embedder",
    "OnnxEmbedder": "embed_onnx",
    "SentenceTransformerEmbedder": "embed_torch",
    "default_embedder": "embedder",
    "make_embedder": "embedder",
    "SearchResponse": "models",
    "SearchResult": "models",
    "SyncReport": "models",
}

__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from .embed_onnx import OnnxEmbedder
    from .embed_torch import SentenceTransformerEmbedder
    from .embedder import Embedder, HashEmbedder, default_embedder, make_embedder
    from .index import DocumentInfo, StandardsIndex
    from .models import SearchResponse, SearchResult, SyncReport


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
