"""CI on the stand-in: what GitHub Actions does on a commit, recorded, then sent as the
webhooks GitHub sends every App with the Checks permission.

A CI check run is made by another App (GitHub Actions), so it comes with that App's
identity; `check_run.created` when it starts, `check_run.completed` when it concludes, and
`check_suite.completed` once every run of that App's suite on the commit has concluded.
"""

from __future__ import annotations

from standin.render import CI_APP
from standin.scenario import StandInParts
from standin.state import CheckRun, CommitStatus, now
from standin.webhooks import Delivery

STATES = ("pending", "success", "failure", "error")
CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required")


class CIScenarios(StandInParts):
    """Mixed into `GitHubStandIn` (which supplies state, payloads and sending)."""

    def ci_check_run(
        self,
        repo: str,
        head_sha: str,
        name: str = "test",
        *,
        conclusion: str | None = None,
        sender: str | None = None,
        send: bool = True,
    ) -> CheckRun:
        """CI starts a check run on `head_sha` (check_run.created, in progress); with a
        `conclusion` it also finishes it at once (see `ci_conclude`)."""
        with self.state.lock:
            found = self.state.repo(repo)
            if found.git.resolve(head_sha) != head_sha:
                raise ValueError(f"no commit {head_sha} in {repo}")
            run = CheckRun(
                id=self.state.next_id(),
                repo=repo,
                head_sha=head_sha,
                name=name,
                status="in_progress",
                conclusion=None,
                check_suite_id=self.state.check_suite_id(repo, head_sha, CI_APP.slug),
                app=CI_APP.slug,
                output={"title": f"{name} is running", "summary": "Started by a push."},
            )
            self.state.check_runs[run.id] = run
            payload = self._payloads().check_run(run, "created", sender or found.owner)
        self._emit("check_run", payload, send)
        if conclusion is not None:
            self.ci_conclude(repo, run.id, conclusion, sender=sender, send=send)
        return run

    def ci_conclude(
        self, repo: str, check_run_id: int, conclusion: str, *, sender: str | None = None, send: bool = True
    ) -> list[Delivery]:
        """CI finishes a run (check_run.completed), then its suite when every run of it has
        finished (check_suite.completed)."""
        if conclusion not in CONCLUSIONS:
            raise ValueError(f"conclusion must be one of {', '.join(CONCLUSIONS)}")
        with self.state.lock:
            run = self._run(repo, check_run_id)
            if run.app != CI_APP.slug:
                raise ValueError(f"check run {check_run_id} is not CI's")
            run.status, run.conclusion, run.completed_at = "completed", conclusion, now()
            run.output = {"title": f"{run.name}: {conclusion}", "summary": f"The {run.name} job concluded {conclusion}."}
            who = sender or self.state.repo(repo).owner
            payloads = [("check_run", self._payloads().check_run(run, "completed", who))]
            suite = [r for r in self.state.check_runs.values()
                     if r.check_suite_id == run.check_suite_id and r.repo == repo]
            if all(r.status == "completed" for r in suite):
                payloads.append(("check_suite", self._payloads().check_suite(suite, "completed", who)))
        return [self._emit(event, payload, send) for event, payload in payloads]

    def commit_status(
        self,
        repo: str,
        sha: str,
        context: str,
        state: str,
        *,
        target_url: str | None = None,
        description: str | None = None,
        creator: str = "ci-bot",
        send: bool = True,
    ) -> CommitStatus:
        """CI that reports through the Statuses API sets a status on a commit (`status`)."""
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}")
        with self.state.lock:
            if self.state.repo(repo).git.resolve(sha) != sha:
                raise ValueError(f"no commit {sha} in {repo}")
            status = CommitStatus(self.state.next_id(), repo, sha, context, state, creator, target_url, description)
            self.state.statuses.append(status)
            payload = self._payloads().status(status)
        self._emit("status", payload, send)
        return status
