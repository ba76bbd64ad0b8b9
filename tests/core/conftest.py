"""Fixtures: a tmp project holding the two tiny workflows of `support`."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_os.engine import Engine
from agent_os.project import Project
from support import two_workflow_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return two_workflow_project(tmp_path)


@pytest.fixture
def engine(project: Project):
    eng = Engine.open(project)
    yield eng
    eng.close()
