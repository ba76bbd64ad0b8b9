"""Names and layouts, built and parsed in one place: session ids, target slugs, spec
directories, repository names and commit ids.

The engine builds them; the GitHub App parses them back (a PR body's
`Agent-OS-Session:` line, the spec directory a changed file lives in) with the same
functions, so the two cannot drift apart.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from .errors import InputError
from .project import SPECS_DIR

SESSION_ID_PATTERN = r"ses_[a-z0-9]{6,32}"
_SESSION_ID = re.compile(rf"^{SESSION_ID_PATTERN}$")
_SESSION_LINE = re.compile(rf"^\s*Agent-OS-Session:\s*({SESSION_ID_PATTERN})\s*$", re.MULTILINE | re.IGNORECASE)
_SPEC_PATH = re.compile(rf"^{re.escape(SPECS_DIR)}/([^/]+)/")
_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?$)[A-Za-z0-9_.-]{1,100}$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
MAX_TARGET = 120


def new_session_id() -> str:
    """A fresh random session id such as 'ses_3f9a1c2b7d4e'."""
    return "ses_" + secrets.token_hex(6)


def is_session_id(text: Any) -> bool:
    """Whether `text` has the shape of a session id."""
    return isinstance(text, str) and bool(_SESSION_ID.match(text))


def session_ids_in(body: str | None) -> list[str]:
    """Session ids named by `Agent-OS-Session: <id>` lines (a PR body's trailer), in order, once each."""
    return list(dict.fromkeys(m.lower() for m in _SESSION_LINE.findall(body or "")))


def slugify(target: str) -> str:
    """A safe directory slug for a spec target such as "user_authentication"; hostile input refused."""
    if not isinstance(target, str) or not target.strip():
        raise InputError("target_file is empty.", hint='Name what the spec is for, e.g. "user_authentication".')
    text = target.strip()
    if len(text) > MAX_TARGET:
        raise InputError(f"target_file is {len(text)} characters; at most {MAX_TARGET} are allowed.")
    if text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text) or ".." in text or "\x00" in text:
        raise InputError(
            f"target_file {target!r} is a path outside the project.",
            hint='Give a short name for the feature, e.g. "user_authentication"; the spec directory is created for you.',
        )
    name = PurePosixPath(text).stem if "/" in text else text
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    if not slug:
        raise InputError(f"target_file {target!r} has no letters or digits to name a spec directory after.")
    return slug


def spec_dir_for(slug: str, on: date, attempt: int = 1) -> str:
    """The spec directory of a new session: `.agent-os/specs/<date>-<slug>`, `-2`, `-3`... on a collision."""
    base = f"{SPECS_DIR}/{on:%Y-%m-%d}-{slug}"
    return base if attempt == 1 else f"{base}-{attempt}"


def spec_dir_named(name: str) -> str:
    """The spec directory called `name` (a directory name, not a path)."""
    return f"{SPECS_DIR}/{name}"


def spec_dirs_in(paths: list[str]) -> list[str]:
    """The spec directories that files at `paths` (relative to the repository root) live in, once each."""
    return list(dict.fromkeys(spec_dir_named(m.group(1)) for p in paths if (m := _SPEC_PATH.match(p))))


def check_repository(repository: Any) -> str:
    """`owner/name`, stripped; anything else refused."""
    if not isinstance(repository, str) or not _REPOSITORY.match(repository.strip()):
        raise InputError(f"repository {repository!r} is not 'owner/name'.", hint="e.g. 'acme/webapp'.")
    return repository.strip()


def check_sha(sha: Any) -> str:
    """A commit id (7 to 64 hex digits); anything else refused."""
    if not isinstance(sha, str) or not _SHA.match(sha):
        raise InputError(f"head_sha {sha!r} is not a commit id.")
    return sha
