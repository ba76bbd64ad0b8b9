"""Runner output read as the runner meant it: real output samples (recorded from real runs
in tests/fixtures/runner_output; go's from its documented layout, as no go toolchain is
installed here), in any line layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_os.runners import RunCounts, parse_junit_xml, parse_output

SAMPLES = Path(__file__).parent.parent / "fixtures" / "runner_output"


def counts(name: str) -> tuple[int, int, int]:
    found = parse_output((SAMPLES / name).read_text(encoding="utf-8"))
    assert found is not None, name
    return found.passed, found.failed, found.skipped


@pytest.mark.parametrize(("sample", "expected"), [
    ("pytest_pass.txt", (2, 0, 1)),
    ("pytest_fail.txt", (3, 2, 1)),
    ("unittest_pass.txt", (2, 0, 1)),
    ("unittest_verbose.txt", (2, 0, 1)),
    ("unittest_fail.txt", (3, 2, 1)),
    ("node_pass.txt", (2, 0, 1)),
    ("node_tap.txt", (2, 0, 1)),
    ("node_fail.txt", (3, 1, 1)),
    ("node_spec_fail.txt", (3, 1, 1)),
    ("cargo_pass.txt", (3, 0, 1)),
    ("cargo_fail.txt", (2, 1, 1)),
    ("mocha_pass.txt", (2, 0, 1)),
    ("mocha_fail.txt", (3, 1, 1)),
    ("jest_pass.txt", (2, 0, 1)),
    ("jest_fail.txt", (3, 1, 1)),
    ("vitest_pass.txt", (2, 0, 1)),
    ("vitest_fail.txt", (3, 1, 1)),
    ("go_pass.txt", (2, 0, 0)),
    ("go_fail_verbose.txt", (1, 1, 1)),
    ("go_build_failed.txt", (0, 1, 0)),
    # prove counts skipped tests only where -v shows the TAP lines; a TODO test is not a failure.
    ("prove_pass.txt", (3, 0, 0)),
    ("prove_fail.txt", (6, 1, 0)),
    ("prove_verbose_fail.txt", (4, 1, 2)),
    ("tap_raw.txt", (2, 0, 1)),
    ("tap_raw_fail.txt", (2, 1, 1)),
])
def test_real_output_samples(sample: str, expected: tuple[int, int, int]):
    assert counts(sample) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # The honest runs that were refused.
    ("Ran 1 test in 0.000s\n\nOK\n", (1, 0, 0)),
    ("ok  \tgithub.com/acme/pkg\t0.214s\n", (1, 0, 0)),
    ("\n\n  14 passing (20ms)\n\n", (14, 0, 0)),
    # jest and vitest summaries.
    ("Test Suites: 1 failed, 1 passed, 2 total\nTests:       1 failed, 1 skipped, 3 passed, 5 total\n"
     "Snapshots:   0 total\nTime:        0.512 s\nRan all test suites.\n", (3, 1, 1)),
    ("Tests:       12 passed, 12 total\n", (12, 0, 0)),
    (" Test Files  1 failed | 1 passed (2)\n      Tests  1 failed | 3 passed | 1 skipped (5)\n"
     "   Start at  10:21:11\n   Duration  412ms\n", (3, 1, 1)),
    ("      Tests  4 passed (4)\n", (4, 0, 0)),
    # Colours, carriage returns and noise around the summary.
    ("\x1b[32m=== \x1b[1m5 passed\x1b[0m\x1b[32m in 0.12s ===\x1b[0m\r\n", (5, 0, 0)),
    ("collecting...\rcollected 3 items\r\n...\r\n3 passed, 2 warnings in 1.01s\r\n", (3, 0, 0)),
    ("1 failed, 1 error in 0.3s", (0, 2, 0)),
    ("no tests ran in 0.01s", (0, 0, 0)),
    ("Ran 4 tests in 0.1s\n\nFAILED (errors=1)\n", (3, 1, 0)),
    # prove failing a run without a failed test (no plan), stderr running into its last line.
    ("t/a.t (Wstat: 65024 (exited 254) Tests: 1 Failed: 0)\n  Parse errors: No plan found in TAP output\n"
     "Files=1, Tests=1,  0 wallclock secs\nResult: FAIL# Tests were run but no plan\n", (0, 1, 0)),
    # Plain TAP: tests the plan promised that never ran fail, and so does a bail out.
    ("1..3\nok 1 - a\nok 2 - b\n", (2, 1, 0)),
    ("1..2\nok 1 - a\nBail out! database gone\n", (1, 1, 0)),
    ("ok 1 - a\nBail out! database gone\n", (1, 1, 0)),
    ("ok 1 - a\n    ok 1 - nested subtest\nok 2 - b \\# not a directive\n1..2\n", (2, 0, 0)),
    # Two runners in one output (make test) add up.
    ("3 passed in 0.1s\n  2 passing (4ms)\n", (5, 0, 0)),
])
def test_summaries_in_any_layout(text: str, expected: tuple[int, int, int]):
    found = parse_output(text)
    assert found is not None and (found.passed, found.failed, found.skipped) == expected


@pytest.mark.parametrize("text", ["", "All good!", "tests pass", "12 passed", "I ran 3 tests and they passed",
                                  "Ran 3 tests in 0.1s\n(no verdict)",
                                  "Result: PASS", "ok", "okay then"])
def test_text_that_is_not_a_runner_summary(text: str):
    assert parse_output(text) is None


def test_junit_xml():
    found = parse_junit_xml((SAMPLES / "pytest_junit.xml").read_text(encoding="utf-8"))
    assert found == RunCounts(3, 2, 1, ("junit xml",))
    assert not found.ok
    assert parse_junit_xml("<testsuites><testsuite><testcase name='a'/></testsuite></testsuites>").ok
    assert parse_junit_xml("not xml") is None
    assert parse_junit_xml("<html/>") is None
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><testsuite>&a;</testsuite>'
    assert parse_junit_xml(bomb) is None


def test_ok_means_something_passed_and_nothing_failed():
    assert RunCounts(1, 0, 0).ok and not RunCounts(0, 0, 3).ok and not RunCounts(5, 1, 0).ok
    assert RunCounts(2, 1, 0, ("pytest",)).describe() == "2 passed, 1 failed, 0 skipped (pytest)"
