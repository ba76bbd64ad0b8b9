"""Ranking helpers, pure functions: reciprocal rank fusion and a safe FTS5 query."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

RRF_K = 60
"""The constant of Cormack et al. (2009); it damps the weight of the very first ranks."""


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], *, k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[K, float]]:
    """Fuse ranked lists (best first) into one: score(d) = sum of w / (k + rank of d).

    Ranks are 1-based; an item missing from a list adds nothing for it. Ties keep the order
    in which items were first seen, so the result is deterministic.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))


# Words that carry no topic: with OR semantics they would match nearly every passage.
STOPWORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
        "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each",
        "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here",
        "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
        "me", "more", "most", "my", "no", "nor", "not", "of", "off", "on", "once", "only", "or",
        "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some",
        "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these",
        "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was",
        "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
        "with", "would", "you", "your", "yours",
    ]
)

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
MAX_FTS_TERMS = 32


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for free text: its words, each quoted, joined with OR.

    Quoting makes every word a plain string, so user text can never be FTS syntax (no
    `NEAR`, `AND`, column filters, `*` or unbalanced quotes). OR, not FTS5's default AND,
    because a question shares only some words with the passage that answers it; BM25 ranks
    passages matching more (and rarer) words first. Returns None when no word is left.
    """
    words: list[str] = []
    seen: set[str] = set()
    for word in _TOKEN.findall(text.lower()):
        if word in STOPWORDS or word in seen:
            continue
        seen.add(word)
        words.append(word)
    if not words:
        # A query of stopwords only ("how to"): better than nothing.
        words = list(dict.fromkeys(_TOKEN.findall(text.lower())))
    if not words:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words[:MAX_FTS_TERMS])
