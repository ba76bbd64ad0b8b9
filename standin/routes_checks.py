"""Check runs: create, update, read, list per commit, with GitHub's validation."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from standin.api import DOCS, MAX_TEXT, Auth, GitHubError, page
from standin.state import CheckRun, now

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn

STATUSES = ("queued", "in_progress", "completed")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add these routes to the stand-in's app."""
    state = gh.state
    require_token, json_body = auth.require_token, auth.json_body

    # -- check runs -----------------------------------------------------------------------
    @app.post("/repos/{owner}/{repo}/check-runs")
    async def create_check_run(request: Request, owner: str, repo: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        body = await json_body(request)
        _validate_check_run(body, creating=True)
        head_sha = str(body["head_sha"])
        with state.lock:
            if found.git.resolve(head_sha) != head_sha:
                raise GitHubError(
                    422, f"No commit found for SHA: {head_sha}", docs=f"{DOCS}/checks/runs"
                )
            run = CheckRun(
                id=state.next_id(),
                repo=found.full_name,
                head_sha=head_sha,
                name=body["name"],
                status="queued",
                conclusion=None,
                check_suite_id=state.check_suite_id(found.full_name, head_sha),
                started_at=now(),
            )
            _apply_check_run(run, body)
            state.check_runs[run.id] = run
            return JSONResponse(gh.renderer.check_run(run), status_code=201)

    @app.patch("/repos/{owner}/{repo}/check-runs/{check_run_id}")
    async def update_check_run(
        request: Request, owner: str, repo: str, check_run_id: int
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        body = await json_body(request)
        _validate_check_run(body, creating=False)
        with state.lock:
            run = state.check_runs.get(check_run_id)
            if run is None or run.repo != found.full_name:
                raise GitHubError(404, "Not Found")
            if run.app is not None:  # another App's run (CI's): only its maker may change it
                raise GitHubError(403, "Resource not accessible by integration",
                                  docs=f"{DOCS}/checks/runs#update-a-check-run")
            _apply_check_run(run, body)
            return JSONResponse(gh.renderer.check_run(run))

    @app.get("/repos/{owner}/{repo}/check-runs/{check_run_id}")
    async def get_check_run(
        request: Request, owner: str, repo: str, check_run_id: int
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            run = state.check_runs.get(check_run_id)
            if run is None or run.repo != found.full_name:
                raise GitHubError(404, "Not Found")
            return JSONResponse(gh.renderer.check_run(run))

    @app.get("/repos/{owner}/{repo}/commits/{ref:path}/check-runs")
    async def list_check_runs(request: Request, owner: str, repo: str, ref: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        params = request.query_params
        with state.lock:
            sha = found.git.resolve(ref)
            if sha is None:
                raise GitHubError(422, f"No commit found for SHA: {ref}")
            runs = [r for r in state.check_runs.values() if r.repo == found.full_name]
            runs = [r for r in runs if r.head_sha == sha]
            if params.get("check_name"):
                runs = [r for r in runs if r.name == params["check_name"]]
            if params.get("status"):
                runs = [r for r in runs if r.status == params["status"]]
            if params.get("filter", "latest") == "latest":
                latest: dict[str, CheckRun] = {}
                for run in runs:
                    if run.name not in latest or run.id > latest[run.name].id:
                        latest[run.name] = run
                runs = list(latest.values())
            runs.sort(key=lambda r: r.id, reverse=True)
            chunk, headers = page(request, runs)
            return JSONResponse(
                {"total_count": len(runs), "check_runs": [gh.renderer.check_run(r) for r in chunk]},
                headers=headers,
            )


def _validate_check_run(body: dict, *, creating: bool) -> None:
    """GitHub's checks on a create/update body; every problem reported at once (422)."""
    errors: list[dict] = []

    def bad(field: str, code: str = "invalid", message: str | None = None) -> None:
        item = {"resource": "CheckRun", "field": field, "code": code}
        if message:
            item["message"] = message
        errors.append(item)

    name_ok = isinstance(body.get("name"), str) and bool(body.get("name"))
    if (creating or "name" in body) and not name_ok:
        bad("name", "missing_field")
    if creating and (not isinstance(body.get("head_sha"), str) or not body.get("head_sha")):
        bad("head_sha", "missing_field")
    status = body.get("status")
    if status is not None and status not in STATUSES:
        bad("status", message=f"status must be one of {', '.join(STATUSES)}")
    conclusion = body.get("conclusion")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        bad("conclusion", message=f"conclusion must be one of {', '.join(CONCLUSIONS)}")
    if status == "completed" and conclusion is None:
        bad("conclusion", "missing_field", "conclusion is required when status is completed")
    if conclusion is not None and status not in (None, "completed"):
        bad("status", message="a conclusion requires status completed")
    for stamp in ("started_at", "completed_at"):
        if body.get(stamp) is not None:
            try:
                datetime.fromisoformat(str(body[stamp]))
            except ValueError:
                bad(stamp, message=f"{stamp} must be an ISO 8601 timestamp")
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict):
            bad("output")
        else:
            for key in ("title", "summary"):
                if not isinstance(output.get(key), str) or not output.get(key):
                    bad(f"output.{key}", "missing_field")
            for key in ("summary", "text"):
                if isinstance(output.get(key), str) and len(output[key]) > MAX_TEXT:
                    bad(f"output.{key}", message=f"output.{key} is longer than {MAX_TEXT}")
            if len(output.get("annotations") or []) > 50:
                bad("output.annotations", message="at most 50 annotations per request")
    actions = body.get("actions")
    if actions is not None:
        if not isinstance(actions, list) or len(actions) > 3:
            bad("actions", message="at most 3 actions")
        else:
            limits = {"label": 20, "description": 40, "identifier": 20}
            for i, action in enumerate(actions):
                for key, limit in limits.items():
                    value = action.get(key) if isinstance(action, dict) else None
                    if not isinstance(value, str) or not value:
                        bad(f"actions[{i}].{key}", "missing_field")
                    elif len(value) > limit:
                        bad(f"actions[{i}].{key}", message=f"{key} is longer than {limit}")
    if errors:
        raise GitHubError(
            422, "Validation Failed", errors, docs=f"{DOCS}/checks/runs#create-a-check-run"
        )


def _apply_check_run(run: CheckRun, body: dict) -> None:
    """Write a validated body onto a run (a conclusion implies completed, as on GitHub)."""
    for key in ("name", "external_id", "details_url"):
        if key in body:
            setattr(run, key, body[key])
    if "output" in body:
        run.output = dict(body["output"])
    if "actions" in body:
        run.actions = list(body["actions"])
    if body.get("started_at"):
        run.started_at = _parse_time(body["started_at"])
    status = body.get("status")
    conclusion = body.get("conclusion")
    if conclusion is not None:
        status = "completed"
    if status is not None:
        run.status = status
        if status == "completed":
            run.conclusion = conclusion
            run.completed_at = (
                _parse_time(body["completed_at"]) if body.get("completed_at") else now()
            )
        else:
            run.conclusion = None
            run.completed_at = None


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(str(value)).replace(microsecond=0)


