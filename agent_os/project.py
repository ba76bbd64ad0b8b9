"""A project: the directory an agent works in, its `.agent-os/` folder and its config.

Settings are read here, once, and passed in; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .db import is_url
from .errors import InputError
from .resources import shipped_standards_dir, shipped_workflows_dir
from .yamlload import load_yaml

AGENT_OS_DIR = ".agent-os"
SPECS_DIR = f"{AGENT_OS_DIR}/specs"
"""Where specs live, relative to the project root (also inside a snapshot or a commit)."""
CONFIG_FILE = "config.yaml"


TEAM = r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$"


class GatePolicyConfig(BaseModel):
    """A team's gate policy; it overrides the workflow's defaults field by field."""

    model_config = ConfigDict(extra="forbid")
    approvals: int | None = Field(default=None, ge=1, le=20)
    exclude_author: bool | None = None
    exclude_bots: bool | None = None
    required_reviewers: list[str] | None = None
    required_teams: list[Annotated[str, Field(pattern=TEAM)]] | None = Field(
        default=None, description="Teams ('org/team-slug') each of which must give one of the approvals.")
    team_members: dict[str, list[str]] | None = Field(
        default=None, description="Members of the required teams, as the GitHub App last read them.")
    dismiss_stale_on_push: bool | None = None
    require_resolved_threads: bool | None = None


class ProjectConfig(BaseModel):
    """`.agent-os/config.yaml`. Relative paths are relative to the project root."""

    model_config = ConfigDict(extra="forbid")
    database: str = f"{AGENT_OS_DIR}/agent_os.db"
    index: str = f"{AGENT_OS_DIR}/index.db"
    # None means the defaults: the shipped library plus `.agent-os/standards`.
    standards: list[str] | None = None
    gates: GatePolicyConfig = GatePolicyConfig()
    require_session_for: list[str] = Field(
        default_factory=list,
        description="Path patterns ('src/**'): a PR touching one needs a linked workflow session to pass.")


def parse_config(text: str, *, source: str = CONFIG_FILE) -> ProjectConfig:
    """Parse config YAML text (from disk, or from a PR's base branch) into a ProjectConfig."""
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{source} is not valid YAML: {exc}", hint="Fix the file and retry.") from exc
    if not isinstance(data, dict):
        raise InputError(f"{source} must be a mapping of settings.")
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{source} has invalid settings: {problems}") from None


@dataclass
class Project:
    """The project rooted at `root`; `db_path` and `index_path` may be overridden."""

    root: Path
    config: ProjectConfig = field(default_factory=ProjectConfig)
    db_override: Path | str | None = None  # a path, or a postgresql:// URL
    index_override: Path | None = None
    standards_override: list[Path] | None = None

    @classmethod
    def open(
        cls,
        root: str | Path | None = None,
        *,
        db: str | Path | None = None,
        index: str | Path | None = None,
        standards: list[str | Path] | None = None,
    ) -> Project:
        """Open the project at `root` (default: the current directory) and read its config.

        `AGENT_OS_DB` names the session database when `db` is not given.
        """
        base = Path(root) if root is not None else Path.cwd()
        if not base.is_dir():
            raise InputError(f"Project directory {base} does not exist.", hint="Pass --project DIR.")
        base = base.resolve()
        cfg_path = base / AGENT_OS_DIR / CONFIG_FILE
        config = (
            parse_config(cfg_path.read_text(encoding="utf-8"), source=str(cfg_path))
            if cfg_path.is_file()
            else ProjectConfig()
        )
        db = db or os.environ.get("AGENT_OS_DB") or None
        return cls(
            root=base,
            config=config,
            db_override=(str(db) if is_url(str(db)) else Path(db)) if db else None,
            index_override=Path(index) if index else None,
            standards_override=[Path(s) for s in standards] if standards else None,
        )

    @property
    def agent_os_dir(self) -> Path:
        return self.root / AGENT_OS_DIR

    @property
    def specs_dir(self) -> Path:
        return self.root / SPECS_DIR

    @property
    def workflows_dir(self) -> Path:
        """Where this project's own (custom) workflows live."""
        return self.agent_os_dir / "workflows"

    @property
    def db_path(self) -> Path | str:
        """The session database: a SQLite file, or a `postgresql://` URL (team replicas)."""
        if self.db_override:
            return self.db_override
        return self.config.database if is_url(self.config.database) else self.root / self.config.database

    @property
    def index_path(self) -> Path:
        return self.index_override or self.root / self.config.index

    def workflow_roots(self) -> list[Path]:
        """Directories searched for workflows, the project's own first."""
        return [self.workflows_dir, shipped_workflows_dir()]

    def standards_roots(self) -> list[Path]:
        """Roots of markdown standards; a later root's document overrides an earlier one's
        of the same relative path (the project's own override the shipped library)."""
        if self.standards_override is not None:
            return list(self.standards_override)
        if self.config.standards is not None:
            return [self.root / s for s in self.config.standards]
        return [shipped_standards_dir(), self.agent_os_dir / "standards"]
