"""GitHub's example payloads (standin/payloads) and small shared pieces of GitHub's JSON."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path

PAYLOADS = Path(__file__).resolve().parent / "payloads"


@cache
def _template_text(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


def template(name: str) -> dict:
    """A fresh copy of a GitHub example payload, e.g. `pull_request/opened.payload.json`."""
    return json.loads(_template_text(name))


def node_id(kind: str, number: int) -> str:
    """An opaque GraphQL-style node id."""
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


def reactions(url: str) -> dict:
    """An empty reaction rollup at `url`."""
    return {
        "url": url,
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }
