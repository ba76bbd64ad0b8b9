"""Fixtures: a small tmp library of standards, an index over it with the hashing test
double, and (for `model` tests) one real index of the shipped library per session."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from agent_os.project import Project
from agent_os.resources import shipped_standards_dir
from agent_os.standards import HashEmbedder, StandardsIndex, default_embedder

RACE = """\
---
title: Race conditions
tags: [concurrency, threads]
summary: Shared state touched by two actors.
---
# Race conditions

A race condition is a bug whose outcome depends on timing.

## Rules
1. Never split read-modify-write across an unguarded gap.
2. Check-then-act is a race; make it one operation.

## Examples
```python
def add_credit(conn, account_id, amount):
    conn.execute("UPDATE accounts SET credit = credit + ? WHERE id = ?", (amount, account_id))
```

## Anti-patterns
- Adding sleep calls to fix flaky ordering.
"""

JWT = """\
---
title: Authentication and tokens
tags: [security, jwt, tokens]
---
# Authentication and tokens

Tokens carry proof of identity between requests.

## Rules
- Access tokens are short-lived: fifteen minutes at most.
- Refresh tokens rotate on every use; reuse revokes the whole family.

## Checklist
- [ ] Signature, expiry, issuer and audience are verified.
"""

RETRIES = """\
---
title: Retries with backoff
tags: [failure-handling, retries]
---
# Retries with backoff

## Rules
Retry only transient failures, with exponential backoff and jitter.
"""

README = "# The library\n\nThis file describes the folders; it is not a standard.\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


class CountingEmbedder(HashEmbedder):
    """The hashing test double, recording every text it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        return super().embed(texts)


@pytest.fixture
def texts() -> dict[str, str]:
    """The sample documents' markdown, by short name."""
    return {"race": RACE, "jwt": JWT, "retries": RETRIES}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "standards"
    write(root / "concurrency" / "race-conditions.md", RACE)
    write(root / "security" / "authentication-tokens.md", JWT)
    write(root / "failure-handling" / "retries-backoff.md", RETRIES)
    write(root / "README.md", README)
    return root


@pytest.fixture
def project(tmp_path: Path, corpus: Path) -> Project:
    return Project.open(tmp_path, index=tmp_path / "index.db", standards=[corpus])


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def index(project: Project, embedder: CountingEmbedder):
    idx = StandardsIndex.open(project, embedder)
    yield idx
    idx.close()


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory):
    """The shipped library indexed once with the default real model (ONNX), shared by
    every model test."""
    tmp = tmp_path_factory.mktemp("real-index")
    project = Project.open(tmp, index=tmp / "index.db", standards=[shipped_standards_dir()])
    idx = StandardsIndex.open(project, default_embedder("onnx"))
    report = idx.sync()
    assert report.documents >= 30
    yield idx
    idx.close()
