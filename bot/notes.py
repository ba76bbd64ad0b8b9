"""What a pull request's checks must also say: problems the bot met on it (a permission the
App lacks, say), kept per PR and replaced each time the PR's gate policy is read again."""

from __future__ import annotations

import json

from sqlalchemy import select

from agent_os import dialects
from agent_os.db import Database
from agent_os.repo_case import repo_key, same_repo

from .tables import PR_NOTES_KEY, pr_notes


class PullRequestNotes:
    """The notes of each PR, in the bot's `bot_pr_notes` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, repository: str, number: int) -> list[str]:
        """The PR's notes (none if it has none)."""
        t = pr_notes
        row = self.db.query_one(select(t.c.notes).where(same_repo(t.c.repository, repository), t.c.number == number))
        return json.loads(row["notes"]) if row else []

    def set(self, repository: str, number: int, notes: list[str]) -> None:
        """Replace the PR's notes."""
        t, body = pr_notes, json.dumps(notes)
        with self.db.transaction() as conn:
            conn.execute(dialects.insert(conn, t).values(repository=repository, number=number, notes=body)
                         .on_conflict_do_update(index_elements=repo_key(t, *PR_NOTES_KEY),
                                                set_={"notes": body}))
