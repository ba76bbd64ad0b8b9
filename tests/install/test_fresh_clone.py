"""The README's first command, run literally in a fresh clone and a fresh virtual environment:
it installs the project and `agent-os demo` exits 0.

Slow (minutes: torch and every dependency are installed anew), so it is marked `install`
as well as `model` (the demo loads the real embedding model): the fast loop leaves it out,
the full suite (`.ci/run`) runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.install, pytest.mark.model, pytest.mark.timeout(2400)]


def readme_command(name: str) -> str:
    """The README's install line that ends in `name` (the first code block of the README)."""
    block = re.search(r"```bash\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    assert block, "the README has no bash block"
    lines = [line for line in block.group(1).splitlines() if line.strip().endswith(name)]
    assert len(lines) == 1, f"the README's first block has no single line ending in {name!r}"
    return lines[0]


def test_the_readme_install_line_uses_the_cpu_index_and_pins_torch() -> None:
    line = readme_command("agent-os demo")
    assert line.startswith("pip install torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cpu && ")
    assert readme_command("python -m pytest").split(" && ")[0] == line.split(" && ")[0]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_command("python -m pytest") in ci
    assert "torch==2.13.0 --extra-index-url https://download.pytorch.org/whl/cpu" in (
        REPO / "Dockerfile").read_text(encoding="utf-8")


def test_a_fresh_clone_installs_as_the_readme_says_and_the_demo_passes(tmp_path: Path) -> None:
    clone = tmp_path / "agent-os"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_OS_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"  # the venv, activated
    env["VIRTUAL_ENV"] = str(venv)
    # This machine reaches no index but PyPI: PyTorch's index fails at once (no such host), and
    # without retries pip moves on to the wheel it finds locally instead of backing off 5 times.
    env["PIP_RETRIES"] = "0"
    done = subprocess.run(["bash", "-c", readme_command("agent-os demo")], cwd=clone, env=env, text=True,
                          capture_output=True, timeout=2300)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    assert "Demo complete" in done.stdout, tail
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import torch; print(torch.__version__)"],
                               capture_output=True, text=True, timeout=120).stdout.strip()
    assert installed.startswith("2.13.0"), installed
