"""The stand-in matches GitHub: everything the bot sends and the stand-in answers or emits,
across the bot's and the stand-in's test suites, validates against GitHub's own API description
and webhook schemas (../shared/github-openapi)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conformance import Checker

ROOT = Path(__file__).resolve().parents[2]

# What the bot and the stand-in must have exercised for the check to mean something.
EXPECTED_OPERATIONS = {
    "POST /app/installations/{installation_id}/access_tokens",
    "POST /repos/{owner}/{repo}/check-runs",
    "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}",
    "GET /repos/{owner}/{repo}/contents/{path}",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
    "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
    "GET /orgs/{org}/teams/{team_slug}/members",
    "GET /repos/{owner}/{repo}/git/trees/{tree_sha}",
    "GET /repos/{owner}/{repo}/git/blobs/{file_sha}",
    "GET /repos/{owner}/{repo}/commits/{ref}",
    "GET /repos/{owner}/{repo}/compare/{basehead}",
    "GET /app/hook/deliveries",
    "GET /app/hook/deliveries/{delivery_id}",
    "POST /app/hook/deliveries/{delivery_id}/attempts",
    "GET /user",
    "GET /user/installations/{installation_id}/repositories",
    "POST /app-manifests/{code}/conversions",
    "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
    "POST /graphql",  # review threads after downtime (outside the REST description: see conformance.py)
}
EXPECTED_EVENTS = {
    "pull_request$opened", "pull_request$synchronize", "pull_request$closed",
    "pull_request_review$submitted", "pull_request_review$dismissed",
    "pull_request_review_comment$created", "pull_request_review_thread$resolved",
    "pull_request_review_thread$unresolved", "issue_comment$created",
    "check_run$rerequested", "check_run$requested_action", "ping$event", "installation$created",
    "check_run$created", "check_run$completed", "check_suite$completed", "status$event",
}


def _whole_run(request) -> bool:
    """Whether this run also ran every bot and stand-in test (a plain `pytest`, as CI runs it)."""
    config = request.config
    args = [Path(a).resolve() for a in config.args]
    return (not config.option.keyword and not getattr(config.option, "lf", False)
            and all(a in (ROOT, ROOT / "tests") for a in args))


def _other_workers_done(traffic: Path, dist: str, timeout: float = 1200) -> None:
    """In a parallel (xdist) run, wait until every other worker has finished all its tests
    (tests/conftest.py marks each worker's traffic file done at its session's end)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return  # one process: this test is its last, everything before it has written
    # Only these hand tests out in collection order, so this test is its worker's last.
    assert dist in ("load", "worksteal"), f"run the whole suite with --dist load, not --dist {dist}"
    others = int(os.environ["PYTEST_XDIST_WORKER_COUNT"]) - 1
    deadline = time.monotonic() + timeout
    while len(list(traffic.glob("*.done"))) < others:
        assert time.monotonic() < deadline, (
            f"only {len(list(traffic.glob('*.done')))} of the {others} other test workers finished "
            f"within {timeout:.0f} s; their traffic is not complete")
        time.sleep(0.1)


def _traffic(request, tmp_path) -> list[Path]:
    """This run's recorded traffic, or (run alone) that of a fresh run of the two suites."""
    if _whole_run(request):
        traffic = Path(os.environ["STANDIN_TRAFFIC"])
        _other_workers_done(traffic, getattr(request.config, "workerinput", {}).get("dist", "no"))
        return sorted(traffic.glob("*.jsonl"))
    traffic = tmp_path / "traffic"
    traffic.mkdir()
    # The inner run is a run of its own: its own traffic folder, its own plugins and workers.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTEST_XDIST_") and k not in ("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "STANDIN_RECORD")}
    env.update({"STANDIN_TRAFFIC": str(traffic),
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "-m", "not model and not browser", "tests/bot", "tests/standin_tests",
         "--ignore", "tests/standin_tests/test_conformance.py"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    return sorted(traffic.glob("*.jsonl"))


@pytest.mark.timeout(1500)
def test_bot_and_stand_in_traffic_matches_githubs_description(request, tmp_path):
    records = _traffic(request, tmp_path)
    assert records, "no stand-in recorded its traffic"
    checker = Checker()
    divergences: list[str] = []
    requests = webhooks = 0
    for line in (line for record in records for line in record.read_text().splitlines()):
        item = json.loads(line)
        if item["kind"] == "request":
            requests += 1
            divergences += checker.request(item["method"], item["path"], item["status"],
                                           item["request"], item["response"],
                                           injected=item["injected"])
        else:
            webhooks += 1
            divergences += checker.webhook(item["event"], item["payload"])
    unique = sorted(set(divergences))
    assert unique == [], f"{len(divergences)} divergences, e.g.:\n" + "\n".join(unique[:25])
    assert EXPECTED_OPERATIONS <= checker.seen_operations, EXPECTED_OPERATIONS - checker.seen_operations
    assert EXPECTED_EVENTS <= checker.seen_events, EXPECTED_EVENTS - checker.seen_events
    assert requests > 300 and webhooks > 80, (requests, webhooks)  # the recording worked
    assert checker.refused_bodies > 0  # invalid bodies were sent, and each one refused


def test_the_checker_catches_a_divergence():
    checker = Checker()
    run = {"id": 1, "name": "x"}  # a check run missing most of what GitHub sends
    problems = checker.request("POST", "/repos/o/r/check-runs", 201,
                               {"name": "x", "head_sha": "a" * 40}, run)
    assert problems and "is a required property" in problems[0]
    assert checker.request("POST", "/repos/o/r/check-runs", 201, {"head_sha": 1}, None)
    assert checker.webhook("ping", {"zen": "z", "hook_id": 1, "hook": {}})
    assert checker.request("GET", "/repos/o/r/nonsense", 200, None, {})
    threads = {"data": {"repository": {"pullRequest": {"reviewThreads": {"nodes": [{"isResolved": "yes"}]}}}}}
    assert checker.request("POST", "/graphql", 200, {"query": "{ x }"}, threads)
    assert checker.request("POST", "/graphql", 200, {"query": "{ x }"}, {"errors": [{"msg": "no"}]})
