"""Bearer tokens for the MCP server's HTTP transport.

A token is a random secret shown once, when it is created; the database keeps only its
SHA-256, so a copy of the database does not let anyone in. Tokens live in the session
database (component "tokens"), so the team server and `agent-os token` see the same ones.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .db import Database
from .errors import InputError, NotFoundError

PREFIX = "aos_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.@:-]{0,63}$")
_ID = re.compile(r"^tok_[0-9a-f]{8,32}$")

MIGRATIONS = [
    # 1 (a fresh database is created from schema.mcp_tokens; this is its first shape)
    """
    CREATE TABLE mcp_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL UNIQUE,
        hint TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    );
    CREATE INDEX mcp_tokens_name ON mcp_tokens (name)
    """,
    # 2: a token may be limited to repositories ('owner/name') or organisations ('owner/*').
    """
    ALTER TABLE mcp_tokens ADD COLUMN repositories TEXT
    """,
]
_SCOPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/(\*|[A-Za-z0-9_.-]{1,100})$")


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token; never its secret."""

    id: str
    name: str
    hint: str
    """The secret's first characters, so a person can tell their tokens apart."""
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    repositories: tuple[str, ...] | None = None
    """The repositories ('owner/name') and organisations ('owner/*') it may act in; None: all."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, repository: str | None) -> bool:
        """Whether the token may act in `repository` (None, unknown: only an unlimited token)."""
        return repository_allowed(self.repositories, repository)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for `--json` output."""
        return {
            "id": self.id,
            "name": self.name,
            "hint": self.hint,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "repositories": list(self.repositories) if self.repositories is not None else None,
        }


def repository_allowed(patterns: tuple[str, ...] | list[str] | None, repository: str | None) -> bool:
    """Whether `repository` is one of `patterns` ('owner/name' or 'owner/*'; None allows all)."""
    if patterns is None:
        return True
    if not repository:
        return False
    owner = repository.split("/", 1)[0].lower()
    return any(p.lower() == repository.lower() or p.lower() == f"{owner}/*" for p in patterns)


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _info(row: Any) -> TokenInfo:
    scope = row["repositories"]
    return TokenInfo(row["id"], row["name"], row["hint"], datetime.fromisoformat(row["created_at"]),
                     _dt(row["last_used_at"]), _dt(row["revoked_at"]),
                     tuple(json.loads(scope)) if scope is not None else None)


class TokenStore:
    """Create, list, revoke and verify bearer tokens in one database."""

    def __init__(self, db: Database) -> None:
        from .schema import mcp_tokens

        self.db = db
        self.t = mcp_tokens
        db.migrate("tokens", MIGRATIONS, [mcp_tokens])

    @classmethod
    def open(cls, db_path: str | Path) -> TokenStore:
        """The token store in the session database at `db_path`."""
        return cls(Database.open(db_path))

    def create(self, name: str, repositories: list[str] | None = None) -> tuple[TokenInfo, str]:
        """A new token named `name`, limited to `repositories` ('owner/name', 'owner/*') if
        given; returns its info and the secret (shown only now)."""
        if repositories is not None:
            bad = [r for r in repositories if not isinstance(r, str) or not _SCOPE.match(r.strip())]
            if bad or not repositories:
                raise InputError(f"Repository limits {bad or repositories!r} are not 'owner/name' or 'owner/*'.",
                                 hint="e.g. --repo acme/webapp or --repo 'acme/*' (a whole organisation).")
            repositories = sorted({r.strip() for r in repositories})
        # A name shaped like a token id could never be revoked by name: `revoke` reads it as an id.
        if not isinstance(name, str) or not _NAME.match(name.strip()) or _ID.match(name.strip()):
            raise InputError(
                f"Token name {name!r} is not allowed.",
                hint="Use up to 64 letters, digits, spaces or . _ @ : -, not shaped like a token id "
                "(tok_…), e.g. 'ci' or 'alice laptop'.",
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        token_id = "tok_" + secrets.token_hex(6)
        at = _now().isoformat()
        self.db.execute(self.t.insert().values(
            id=token_id, name=name.strip(), secret_sha256=_hash(secret), hint=secret[: len(PREFIX) + 4],
            created_at=at, repositories=json.dumps(repositories) if repositories is not None else None))
        return self.get(token_id), secret

    def get(self, token_id: str) -> TokenInfo:
        """A token by id."""
        row = self.db.query_one(self.t.select().where(self.t.c.id == token_id))
        if row is None:
            raise NotFoundError(f"No token {token_id!r}.", hint="`agent-os token list` shows the tokens.")
        return _info(row)

    def list(self, *, include_revoked: bool = True) -> list[TokenInfo]:
        """Every token, oldest first."""
        rows = self.db.query(self.t.select().order_by(self.t.c.created_at, self.t.c.id))
        infos = [_info(r) for r in rows]
        return infos if include_revoked else [t for t in infos if t.active]

    def revoke(self, id_or_name: str) -> list[TokenInfo]:
        """Revoke a token by id, or every active token of that name; returns what was revoked."""
        key = (id_or_name or "").strip()
        if _ID.match(key):
            targets = [t for t in self.list() if t.id == key]
        else:
            targets = [t for t in self.list() if t.name == key]
        if not targets:
            raise NotFoundError(f"No token with id or name {id_or_name!r}.",
                                hint="`agent-os token list` shows the tokens.")
        active = [t for t in targets if t.active]
        if not active:
            return []
        at = _now().isoformat()
        with self.db.transaction() as conn:
            conn.execute(self.t.update().where(self.t.c.id.in_([t.id for t in active]),
                                               self.t.c.revoked_at.is_(None)).values(revoked_at=at))
        return [self.get(t.id) for t in active]

    def verify(self, secret: str) -> TokenInfo | None:
        """The active token whose secret this is, or None (unknown, malformed or revoked)."""
        if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        # Looking up by hash means the comparison never touches the secret itself.
        row = self.db.query_one(self.t.select().where(self.t.c.secret_sha256 == _hash(secret),
                                                      self.t.c.revoked_at.is_(None)))
        if row is None:
            return None
        self.db.execute(self.t.update().where(self.t.c.id == row["id"]).values(last_used_at=_now().isoformat()))
        return _info(row)
