"""Running a command the approved tasks.md names, the way a checkpoint needs it: in the
project root, with a timeout, its output captured and size-capped, its result read by the
runner parsers. This is solo mode's only code execution; the team server runs nothing (CI
decides there)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .runners import RunCounts, parse_output

DEFAULT_TIMEOUT = 600.0
MAX_OUTPUT_BYTES = 64_000


@dataclass(frozen=True)
class CommandRun:
    """One run: its exit code (None after a timeout), capped output and what it reported."""

    command: str
    exit_code: int | None
    output: str
    output_bytes: int
    output_sha256: str
    seconds: float
    counts: RunCounts | None

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    def describe(self) -> str:
        """`exit 0: 3 passed, 0 failed, 0 skipped (pytest)` or why not."""
        if self.timed_out:
            return f"timed out after {self.seconds:.0f}s"
        counts = self.counts.describe() if self.counts else "no test result recognised in its output"
        return f"exit {self.exit_code}: {counts}"

    def tail(self, limit: int = 1500) -> str:
        """The end of the output, where runners print their summary."""
        return self.output[-limit:]

    def to_record(self, keep: int = 8000) -> dict[str, object]:
        """What is kept with the submission: the output's last `keep` characters (where the
        summary is) and the size and sha256 of the whole."""
        return {"command": self.command, "exit_code": self.exit_code, "seconds": round(self.seconds, 3),
                "result": self.describe(), "output_bytes": self.output_bytes,
                "output_sha256": self.output_sha256, "output_tail": self.output[-keep:]}


class CommandRunner(Protocol):
    """Runs a command named by the approved spec and reads its result."""

    def run(self, command: str) -> CommandRun: ...


def cap_output(data: bytes, limit: int = MAX_OUTPUT_BYTES) -> str:
    """The first and last halves of `data` when it is longer than `limit`, as text."""
    if len(data) <= limit:
        return data.decode("utf-8", "replace")
    half = limit // 2
    return (data[:half].decode("utf-8", "replace") + f"\n[... {len(data) - limit} bytes left out ...]\n"
            + data[-half:].decode("utf-8", "replace"))


class LocalRunner:
    """Runs commands in `root` through the shell, one process group killed on timeout."""

    def __init__(self, root: Path, *, timeout: float = DEFAULT_TIMEOUT, max_output: int = MAX_OUTPUT_BYTES) -> None:
        self.root = Path(root)
        self.timeout = timeout
        self.max_output = max_output

    def run(self, command: str) -> CommandRun:
        """Run `command` in the project root and parse what it printed."""
        started = time.monotonic()
        env = {**os.environ, "CI": "1", "NO_COLOR": "1", "FORCE_COLOR": "0"}
        proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=self.root, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=self.timeout)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            code = None
        seconds = time.monotonic() - started
        text = cap_output(out, self.max_output)
        return CommandRun(command, code, text, len(out), hashlib.sha256(out).hexdigest(), seconds,
                          parse_output(out.decode("utf-8", "replace")))
