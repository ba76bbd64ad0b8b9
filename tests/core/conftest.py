"""Fixtures: a tmp project holding the two tiny workflows of `support`."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_os.engine import Engine
from agent_os.project import Project
from support import BUILD_V1, NOTES_V1, write_workflow


@pytest.fixture
def project(tmp_path: Path) -> Project:
    write_workflow(tmp_path, NOTES_V1)
    write_workflow(tmp_path, BUILD_V1)
    return Project.open(tmp_path)


@pytest.fixture
def engine(project: Project):
    eng = Engine.open(project)
    yield eng
    eng.close()
