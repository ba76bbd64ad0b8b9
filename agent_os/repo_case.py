"""Repository names compare as GitHub compares them: ignoring case, on both databases.

Every table keyed by a repository has a unique index on `lower(repository)` (with the
rest of its key), upserts name that index as their conflict target, and lookups compare
`lower()` forms (`same_repo`). Rows keep the spelling they were first written with.

Databases from before this rule may hold one key spelled twice ('Acme/WebApp' and
'acme/webapp': on PostgreSQL everywhere, on SQLite in `pull_requests`). They name the same
GitHub object, so the migration that adds the index merges them into one row (`merge_rows`
says how, per table) rather than refusing: the duplicates are ours, not a person's
conflicting data, and a refusal would leave the operator nothing to do but edit SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

Merge = Callable[[list[dict[str, Any]]], dict[str, Any]]
"""Given the rows of one key (two or more spellings), the one row to keep."""


def same_repo(column: Any, repository: str) -> Any:
    """`column` names `repository`, ignoring case (as GitHub does)."""
    from sqlalchemy import func

    return func.lower(column) == repository.lower()


def repo_key(table: Any, *others: str) -> list[Any]:
    """The case-insensitive key of `table`: `lower(repository)` and the `others` columns
    (an upsert's conflict target; the columns of its unique index)."""
    from sqlalchemy import func

    return [func.lower(table.c.repository), *(table.c[name] for name in others)]


def unique_repo_index(name: str, table: Any, *others: str) -> Any:
    """The unique index on `repo_key(table, *others)`, attached to `table`."""
    from sqlalchemy import Index

    return Index(name, *repo_key(table, *others), unique=True)


def merge_duplicates(conn: Any, table: Any, others: Sequence[str], merge: Merge) -> int:
    """Make one row of each set of rows whose keys differ only in the repository's case;
    returns how many rows were merged away. A migration step, before the unique index."""
    from sqlalchemy import and_, func, select, tuple_

    key = repo_key(table, *others)
    clashing = select(*key).group_by(*key).having(func.count() > 1)
    rows = [dict(r) for r in conn.execute(select(table).where(tuple_(*key).in_(clashing))).fetchall()]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["repository"].lower(), *(row[c] for c in others)), []).append(row)
    primary = [c.name for c in table.primary_key.columns]
    merged = 0
    for group in groups.values():
        keep = merge(group)
        for row in group:
            conn.execute(table.delete().where(and_(*(table.c[c] == row[c] for c in primary))))
        conn.execute(table.insert().values(**keep))
        merged += len(group) - 1
    if merged:
        log.warning("%s: merged %d row(s) naming a repository in another case into the row kept", table.name,
                    merged)
    return merged


def merge_step(*specs: tuple[Any, Sequence[str], Merge, Any]) -> Callable[[Any], None]:
    """A migration step: for each (table, other key columns, merge, unique index), merge
    the table's duplicates, then create its index."""

    def step(conn: Any) -> None:
        from sqlalchemy.schema import CreateIndex

        for table, others, merge, index in specs:
            merge_duplicates(conn, table, others, merge)
            # IF NOT EXISTS, not checkfirst: SQLite's reflection skips expression indexes (and warns).
            conn.execute(CreateIndex(index, if_not_exists=True))

    return step


def newest(column: str) -> Merge:
    """Keep the row with the highest `column` (latest update, newest id)."""
    return lambda rows: max(rows, key=lambda r: (r[column] is not None, r[column]))
