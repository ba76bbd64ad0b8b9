"""JUnit XML reports a test command writes, read after Agent OS runs it (solo mode).

A command tasks.md names may write a JUnit report (`pytest --junitxml=reports/junit.xml`,
node's `--test-reporter=junit --test-reporter-destination=…`, vitest's `--outputFile`,
mocha-junit-reporter's `mochaFile=`, jest-junit's `JEST_JUNIT_OUTPUT_FILE=`, gotestsum's
`--junitfile`). The engine reads the report through the project's FileSource (inside the
project only, size-capped), uses its counts, and holds them up against what the run
printed: a report the run did not write, one that cannot be read, or one that disagrees
with the output is a reason to refuse.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from . import files
from .runners import MAX_JUNIT_BYTES, RunCounts, parse_junit_xml

_FLAGS = (
    re.compile(r"^--junit-?xml(?:=(.+))?$"),  # pytest
    re.compile(r"^--junitfile(?:=(.+))?$"),  # gotestsum
)
_ENV = re.compile(r"^JEST_JUNIT_OUTPUT_FILE=(.+)$")
_MOCHA = re.compile(r"(?:^|,)mochaFile=([^,]+)")


def report_paths(command: str) -> list[str]:
    """The JUnit report files `command` says it writes, as it spells them (pure)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    found: list[str] = []
    reporters: list[str] = []  # node --test: each destination belongs to the reporter before it
    junit_reporter = any(re.search(r"junit", w, re.IGNORECASE) for w in words)
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else None
        for flag in _FLAGS:
            if m := flag.match(word):
                found.append(m.group(1) or following or "")
        if m := _ENV.match(word):
            found.append(m.group(1))
        if m := _MOCHA.search(word):
            found.append(m.group(1))
        if word.startswith("--test-reporter="):
            reporters.append(word.split("=", 1)[1])
        elif word.startswith("--test-reporter-destination=") and reporters and reporters[-1] == "junit":
            found.append(word.split("=", 1)[1])
        elif junit_reporter and (word.startswith("--outputFile=") or word.startswith("--outputFile.junit=")):
            found.append(word.split("=", 1)[1])  # vitest --reporter=junit --outputFile=…
    return list(dict.fromkeys(p for p in found if p and p not in ("stdout", "stderr")))


def disagreement(output: RunCounts, report: RunCounts) -> str | None:
    """Why a run's printed counts and its report's differ, or None when they agree.

    Failures must match exactly. Passed and skipped may trade places (pytest prints an
    expected failure as passing, its report files it as skipped) but must add up the same.
    """
    if output.failed != report.failed:
        return f"the report has {report.failed} failed, the output {output.failed}"
    if output.passed + output.skipped != report.passed + report.skipped:
        return (f"the report has {report.passed + report.skipped} tests passed or skipped, "
                f"the output {output.passed + output.skipped}")
    return None


@dataclass(frozen=True)
class Reports:
    """The reports a command names, as they were before it ran (blob SHA, None: absent)."""

    before: dict[str, str | None]

    @classmethod
    def note(cls, source: files.FileSource, command: str) -> Reports:
        """Look at the reports `command` names before it runs."""
        before: dict[str, str | None] = {}
        for path in report_paths(command):
            try:
                before[path] = source.blob_sha(path) if source.is_file(path) else None
            except (files.PathOutside, files.FileMissing, OSError):
                before[path] = None
        return cls(before)

    def read(self, source: files.FileSource) -> tuple[RunCounts | None, list[str]]:
        """After the run: the reports' counts added up, or the problems that stop it."""
        total: RunCounts | None = None
        problems: list[str] = []
        for path, sha in self.before.items():
            try:
                if not source.is_file(path):
                    problems.append(f"the command names a JUnit report at {path}, but the run wrote none")
                    continue
                if source.size(path) > MAX_JUNIT_BYTES:
                    problems.append(f"the JUnit report {path} is larger than {MAX_JUNIT_BYTES} bytes")
                    continue
                if sha is not None and source.blob_sha(path) == sha:
                    problems.append(f"the JUnit report {path} is unchanged since before the run: this run did not write it")
                    continue
                counts = parse_junit_xml(source.read_text(path))
            except files.PathOutside:
                problems.append(f"the JUnit report {path} is outside the project; reports are read inside it only")
                continue
            except (UnicodeDecodeError, files.FileMissing, OSError):
                counts = None
            if counts is None:
                problems.append(f"{path} is not a JUnit XML report (testsuites/testsuite with testcase elements)")
                continue
            total = counts if total is None else total + counts
        return total, problems
