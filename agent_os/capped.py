"""Bounded copies of what a caller sent, for storing: a refused submission is kept as its
first part and the hash of the whole, so refusals cannot grow the database without bound.
Pure functions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import astuple
from typing import Any

from .records import Failure

MAX_REFUSED_BYTES = 16_000
MAX_FAILURES = 100
MAX_FAILURE_TEXT = 500


def capped(value: Any, limit: int = MAX_REFUSED_BYTES) -> Any:
    """`value` itself when its JSON is at most `limit` bytes, else its first `limit` bytes
    of JSON text with the size and sha256 of the whole."""
    data = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    if len(data) <= limit:
        return value
    return {"capped": True, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "head": data[:limit].decode("utf-8", "ignore")}


def capped_failures(failures: list[Failure]) -> list[Failure]:
    """At most `MAX_FAILURES` failures, each text cut to `MAX_FAILURE_TEXT` characters."""
    def cut(text: str) -> str:
        return text if len(text) <= MAX_FAILURE_TEXT else text[: MAX_FAILURE_TEXT - 3] + "..."

    kept = [Failure(*(cut(str(v)) for v in astuple(f))) for f in failures[:MAX_FAILURES]]
    if len(failures) > MAX_FAILURES:
        kept.append(Failure("evidence", "too_many", f"at most {MAX_FAILURES} failures listed",
                            f"{len(failures)} failures", "Fix the ones listed, then submit again."))
    return kept
