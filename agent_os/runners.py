"""What a test runner's own output says: how many tests passed, failed and were skipped.

Pure functions over the text a run printed (or the JUnit XML it wrote), so the engine can
record the real counts of a run it made itself and compare the agent's claim with them.
Understands pytest, unittest, go test, cargo test, jest, vitest, mocha, node's test runner
(spec and TAP reporters), perl's prove, plain TAP and JUnit XML, in any line layout: colours, carriage returns and
other output around the summary do not matter, and several runners in one output add up.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_CARGO = re.compile(r"test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored")
_JEST = re.compile(r"^\s*Tests:\s+(.*\b\d+ total)\s*$")
_VITEST = re.compile(r"^\s*Tests\s+(\d+\s+\w+(?:\s*\|\s*\d+\s+\w+)*)\s+\((\d+)\)")
_MOCHA = re.compile(r"^\s*(\d+) (passing|failing|pending)\b")
_NODE = re.compile(r"^\s*(?:ℹ|#)\s*(tests|pass|fail|cancelled|skipped|todo)\s+(\d+)\s*$")
_UNITTEST_RAN = re.compile(r"^\s*Ran (\d+) tests? in [\d.]+s\s*$")
_UNITTEST_END = re.compile(r"^\s*(OK|FAILED)\b\s*(?:\((.*)\))?\s*$")
_GO_PKG = re.compile(r"^(ok|FAIL)\s+\S+\s+(?:[\d.]+s|\(cached\)|\[build failed\]|\[setup failed\])(.*)$")
_GO_TEST = re.compile(r"^\s*--- (PASS|FAIL|SKIP): \S+")
_PYTEST = re.compile(r"^[=\s]*((?:\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|rerun)"
                     r"(?:, )?)+)\s+in [\d.]+s\b")
_PYTEST_NONE = re.compile(r"^[=\s]*no tests ran in [\d.]+s")
_COUNT = re.compile(r"(\d+) ([a-z]+)")
_PROVE_FILES = re.compile(r"^Files=\d+, Tests=(\d+),")
_PROVE_FAILED = re.compile(r"\(Wstat: .*\bTests: \d+ Failed: (\d+)\)")
_PROVE_RESULT = re.compile(r"^Result: (PASS|FAIL|NOTESTS)\b")
# A TAP test line: `ok 3 - name`, `not ok 2 # TODO later`, `ok 4 # skip no network`.
_TAP_LINE = re.compile(r"^(not )?ok\s+\d+\b(?:[^#]|\\#)*(?:#\s*(skip|todo)\b)?", re.IGNORECASE)
_TAP_PLAN = re.compile(r"^1\.\.(\d+)\b")


@dataclass(frozen=True)
class RunCounts:
    """Tests a run reported: `failed` includes errors; `runners` names what was recognised."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    runners: tuple[str, ...] = ()

    def __add__(self, other: RunCounts) -> RunCounts:
        names = tuple(dict.fromkeys(self.runners + other.runners))
        return RunCounts(self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped, names)

    @property
    def ok(self) -> bool:
        """Something passed and nothing failed."""
        return self.passed > 0 and self.failed == 0

    def describe(self) -> str:
        """`3 passed, 1 failed, 0 skipped (pytest)`."""
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped ({', '.join(self.runners)})"


def _words(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n, word in _COUNT.findall(text.lower()):
        counts[word] = counts.get(word, 0) + int(n)
    return counts


def _unittest_end(lines: list[str], start: int, ran: int) -> RunCounts | None:
    for line in lines[start : start + 4]:
        m = _UNITTEST_END.match(line)
        if not m:
            continue
        details = {k.strip(): int(v) for k, v in re.findall(r"([a-z ]+)=(\d+)", m.group(2) or "")}
        failed = details.get("failures", 0) + details.get("errors", 0) + details.get("unexpected successes", 0)
        skipped = details.get("skipped", 0)
        passed = max(ran - failed - skipped, 0)
        if m.group(1) == "FAILED" and not failed:
            failed = 1  # a failure unittest did not itemise still fails the run
        return RunCounts(passed, failed, skipped, ("unittest",))
    return None


def parse_output(text: str) -> RunCounts | None:
    """The counts every recognised runner summary in `text` adds up to, or None if none is."""
    lines = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n").splitlines()
    total = RunCounts()
    found = False
    node: dict[str, int] = {}
    go_tests = RunCounts()
    go_pkgs = RunCounts()
    for i, line in enumerate(lines):
        if m := _CARGO.search(line):
            total += RunCounts(int(m.group(1)), int(m.group(2)), int(m.group(3)), ("cargo test",))
        elif m := _JEST.match(line):
            w = _words(m.group(1))
            total += RunCounts(w.get("passed", 0), w.get("failed", 0), w.get("skipped", 0) + w.get("todo", 0), ("jest",))
        elif m := _VITEST.match(line):
            w = _words(m.group(1))
            total += RunCounts(w.get("passed", 0), w.get("failed", 0), w.get("skipped", 0) + w.get("todo", 0),
                               ("vitest",))
        elif m := _MOCHA.match(line):
            n, kind = int(m.group(1)), m.group(2)
            total += RunCounts(n if kind == "passing" else 0, n if kind == "failing" else 0,
                               n if kind == "pending" else 0, ("mocha",))
        elif m := _NODE.match(line):
            node[m.group(1)] = node.get(m.group(1), 0) + int(m.group(2))
        elif m := _UNITTEST_RAN.match(line):
            counts = _unittest_end(lines, i + 1, int(m.group(1)))
            if counts is not None:
                total += counts
            else:
                continue
        elif m := _GO_TEST.match(line):
            kind = m.group(1)
            go_tests += RunCounts(kind == "PASS", kind == "FAIL", kind == "SKIP", ("go test",))
        elif m := _GO_PKG.match(line):
            if "[no tests to run]" not in m.group(2):
                go_pkgs += RunCounts(m.group(1) == "ok", m.group(1) == "FAIL", 0, ("go test",))
        elif m := _PYTEST.match(line):
            w = _words(m.group(1))
            total += RunCounts(w.get("passed", 0) + w.get("xfailed", 0),
                               w.get("failed", 0) + w.get("error", 0) + w.get("errors", 0) + w.get("xpassed", 0),
                               w.get("skipped", 0), ("pytest",))
        elif _PYTEST_NONE.match(line):
            total += RunCounts(0, 0, 0, ("pytest",))
        else:
            continue
        found = True
    if node and ("pass" in node or "fail" in node):
        found = True
        total += RunCounts(node.get("pass", 0), node.get("fail", 0) + node.get("cancelled", 0),
                           node.get("skipped", 0) + node.get("todo", 0), ("node --test",))
    if go_tests.runners or go_pkgs.runners:
        found = True
        # `go test -v` lists each test; without -v only packages say ok/FAIL. A package
        # that failed to build has no --- FAIL line, and still fails the run.
        if go_tests.runners:
            total += go_tests + RunCounts(0, go_pkgs.failed if not go_tests.failed else 0, 0)
        else:
            total += go_pkgs
    prove = _prove(lines)
    if found:
        return total + prove if prove else total
    return prove or _tap(lines)


def _tap_lines(lines: list[str]) -> tuple[int, int, int, int | None, bool]:
    """(passed, failed, skipped, planned, bailed out) of the top-level TAP lines; subtests are
    indented, and a TODO test does not count as failing (TAP's own rule)."""
    passed = failed = skipped = 0
    planned: int | None = None
    bailed = False
    for line in lines:
        if line.startswith("Bail out!"):
            bailed = True
        elif m := _TAP_PLAN.match(line):
            planned = int(m.group(1))
        elif m := _TAP_LINE.match(line):
            if m.group(2):
                skipped += 1
            elif m.group(1):
                failed += 1
            else:
                passed += 1
    return passed, failed, skipped, planned, bailed


def _prove(lines: list[str]) -> RunCounts | None:
    """prove's summary (`Files=2, Tests=7, ...` / `Result: FAIL`), with the failures of its
    `Test Summary Report`; with `prove -v` the TAP lines say how many were skipped."""
    total = next((int(m.group(1)) for line in lines if (m := _PROVE_FILES.match(line))), None)
    result = next((m.group(1) for line in lines if (m := _PROVE_RESULT.match(line))), None)
    if total is None or result is None:
        return None
    failed = sum(int(m.group(1)) for line in lines if (m := _PROVE_FAILED.search(line)))
    if result == "FAIL" and not failed:
        failed = 1  # a bad plan, a crash after the last test: prove fails the run, so do we
    skipped = _tap_lines(lines)[2]
    return RunCounts(max(total - failed - skipped, 0), failed, skipped, ("prove",))


def _tap(lines: list[str]) -> RunCounts | None:
    """Plain TAP (a test script's own output): its `ok` / `not ok` lines against its plan."""
    passed, failed, skipped, planned, bailed = _tap_lines(lines)
    if planned is None and not (passed or failed or skipped):
        return None
    ran = passed + failed + skipped
    if bailed or (planned is not None and planned != ran):
        failed += max(planned - ran, 1) if planned is not None else 1  # tests that never ran fail
    return RunCounts(passed, failed, skipped, ("tap",))


MAX_JUNIT_BYTES = 20_000_000


def parse_junit_xml(text: str) -> RunCounts | None:
    """Counts from a JUnit XML report (each `<testcase>`, with `<failure>`, `<error>` or
    `<skipped>` children), or None if it is not one. Documents declaring entities are refused."""
    if len(text) > MAX_JUNIT_BYTES or "<!DOCTYPE" in text or "<!ENTITY" in text:
        return None
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    if root.tag not in ("testsuites", "testsuite"):
        return None
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return RunCounts(passed, failed, skipped, ("junit xml",))
