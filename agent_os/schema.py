"""The core's tables, defined once for SQLite and PostgreSQL (SQLAlchemy Core).

The shapes are those the SQLite release before this one created (timestamps as ISO
text, flags as integers, JSON as text), so an existing database opens unchanged. A fresh
database is created from these definitions; an older one gets its missing numbered steps
(see `Database.migrate`). The bot keeps its own tables (bot/tables.py) in the same
`metadata`, so one `create_all` and one connection serve every component.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("component", Text, primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Text, nullable=False),
)

mcp_tokens = Table(
    "mcp_tokens", metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("secret_sha256", Text, nullable=False, unique=True),
    Column("hint", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("last_used_at", Text),
    Column("revoked_at", Text),
    Index("mcp_tokens_name", "name"),
)
