"""`agent-os demo`: the whole product in one command, with no GitHub account and no network.

The team topology, on one machine: the local GitHub stand-in (real git repositories), the
team server in a folder of its own with its own database, and an agent in its own clone
whose door (`agent-os mcp --server URL`, here in process) talks to the server only over
HTTP. The agent writes real spec files, each checkpoint carries a snapshot of the files it
names, and the spec reaches GitHub by `git push`; the pull request's signed webhooks reach
the bot, which re-verifies every completed phase at each new head: a push that breaks a
checked file turns its phase red, the next one green. The author's own approval is
ignored and a reviewer's opens the gate. Every step is checked: the demo exits 0 only if
each happened as it should.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bot.checks import OVERALL

DATA = Path(__file__).parent / "demo_data"
REPO = "acme/webapp"
AUTHOR = "alice"
REVIEWER = "bob"
SECRET = "demo-webhook-secret"


@dataclass
class Step:
    name: str
    ok: bool
    detail: str = ""
    at: float = 0.0  # seconds since the demo started


@dataclass
class DemoResult:
    steps: list[Step] = field(default_factory=list)
    session_id: str | None = None
    session_url: str | None = None
    project: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)


class DemoFailed(Exception):
    """A step did not happen as it should."""


class Narrator:
    """The live terminal view: steps so far, and the PR's check runs as GitHub shows them."""

    def __init__(self, console: Console, result: DemoResult, checks: Callable[[], dict[str, Any]]) -> None:
        self.console = console
        self.result = result
        self.checks = checks
        self.started = time.monotonic()
        self.live = Live(self.render(), console=console, refresh_per_second=8, transient=False)

    def render(self) -> Group:
        steps = Table(box=None, show_header=False, padding=(0, 1))
        for s in self.result.steps:
            steps.add_row("[green]✓[/]" if s.ok else "[red]✗[/]", f"{s.at:5.1f}s", s.name,
                          Text(s.detail, style="dim"))
        checks = Table("check run", "status", "conclusion", title="Checks on the pull request", title_justify="left")
        try:
            runs = self.checks()
        except Exception:  # the view must never break the demo
            runs = {}
        for name in sorted(runs, key=lambda n: (n != OVERALL, n)):
            run = runs[name]
            colour = {"success": "green", "action_required": "yellow", "failure": "red"}.get(run.conclusion or "", "cyan")
            checks.add_row(name, run.status, f"[{colour}]{run.conclusion or '-'}[/]")
        return Group(steps, checks) if runs else Group(steps)

    def step(self, name: str, ok: bool = True, detail: str = "") -> None:
        self.result.steps.append(Step(name, ok, detail, time.monotonic() - self.started))
        self.live.update(self.render())
        if not ok:
            raise DemoFailed(f"{name}: {detail}")

    def refresh(self) -> None:
        self.live.update(self.render())


SPEC_FILES: dict[int, list[str]] = {0: [], 1: ["srd.md"], 2: ["specs.md"], 3: ["tasks.md"],
                                     4: ["implementation.md", "README.md"], 5: []}
"""The spec files each phase of spec_creation_v1 checks, written just before it completes."""


DEMO_APP_FILES = ("README.md", "app/users/models.py")


def write_demo_project(root: Path) -> None:
    """The small application the agent is writing a spec for (phase 0 reviews these files)."""
    (root / "README.md").write_text("# Acme API\n\nA small web API; every endpoint is open today.\n",
                                    encoding="utf-8")
    models = root / "app" / "users" / "models.py"
    models.parent.mkdir(parents=True, exist_ok=True)
    models.write_text("class User:\n    id: int\n    email: str  # unique\n", encoding="utf-8")


def demo_evidence(phase: int) -> dict[str, Any]:
    """The evidence an honest agent reports for `phase` of the demo spec."""
    return json.loads((DATA / "evidence" / f"phase-{phase}.json").read_text(encoding="utf-8"))


def write_spec_files(spec_dir: Path, phase: int) -> None:
    """Write the demo spec's files that `phase` checks into `spec_dir`."""
    for name in SPEC_FILES[phase]:
        shutil.copyfile(DATA / "spec" / name, spec_dir / name)


async def _wait_for(predicate: Callable[[], bool], narrator: Narrator, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        narrator.refresh()
        await anyio.sleep(0.1)
    return predicate()


def _tool_result(result: Any) -> tuple[bool, Any]:
    """(ok, structured data or error text) of an MCP tool call."""
    if result.is_error:
        return False, " ".join(getattr(c, "text", "") for c in result.content)
    return True, result.structured_content


GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com",
           "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com"}


def _git(clone: Path, *args: str) -> str:
    import os
    import subprocess

    env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    done = subprocess.run(["git", *args], cwd=clone, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise DemoFailed(f"git {' '.join(args)}: {done.stderr.strip()[:200]}")
    return done.stdout.strip()


def _push(clone: Path, message: str) -> str:
    """Commit everything in the agent's clone and push its branch; the new head."""
    _git(clone, "add", "-A")
    _git(clone, "commit", "--quiet", "-m", message)
    _git(clone, "push", "--quiet", "origin", BRANCH)
    return _git(clone, "rev-parse", "HEAD")


BRANCH = "spec/user-authentication"


async def play(console: Console, result: DemoResult, *, keep: bool = False, project_dir: Path | None = None) -> DemoResult:
    """Run the demo; returns what happened (its `ok` says whether every step passed).

    Three places that share nothing but the stand-in and HTTP: the agent's clone
    (`clone/`), the team server's folder (`server/`, left empty: it reads no repository
    from its own disk) with its own database (`server-state/`), and the GitHub stand-in's
    git repositories.
    """
    from mcp import Client

    from agent_os.project import Project
    from standin.serving import BackgroundServer, free_port
    from bot.settings import Settings
    from mcp_server.door import build_door
    from standin import GitHubStandIn
    from agent_os_cli.team import create_team_app, issue_token

    tmp = None
    if project_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="agent-os-demo-"))
        project_dir = tmp
    result.project = project_dir
    server_dir, state_dir, clone = project_dir / "server", project_dir / "server-state", project_dir / "clone"
    pr_head: dict[str, str] = {}

    gh = GitHubStandIn(webhook_secret=SECRET)
    narrator = Narrator(console, result, lambda: gh.check_runs(REPO, pr_head["sha"]) if pr_head else {})
    async with AsyncExitStack() as stack:
        stack.enter_context(narrator.live)
        gh.start()
        stack.callback(gh.stop)
        gh.create_repo(REPO, files={".agent-os/config.yaml": "gates:\n  approvals: 1\n  exclude_author: true\n",
                                    "README.md": "# Acme API\n"},
                       collaborators={AUTHOR: "write", REVIEWER: "write"})
        narrator.step("GitHub stand-in up", detail=f"{gh.url}, repository {REPO} (real git)")

        for folder in (server_dir, state_dir):
            folder.mkdir(parents=True, exist_ok=True)
        key = state_dir / "demo-app.pem"
        key.write_text(gh.private_key_pem, encoding="utf-8")
        project = Project.open(server_dir, db=state_dir / "agent_os.db", index=state_dir / "index.db")
        port = free_port()
        settings = Settings(app_id=gh.app.id, private_key=key, webhook_secret=SECRET, github_url=gh.url,
                            public_url=f"http://127.0.0.1:{port}", project=server_dir,
                            backoff_base=0.2, backoff_max=2.0)
        app = create_team_app(settings, project=project)
        bot = app.state.bot
        server = BackgroundServer(app, port=port)
        server.start()
        stack.callback(server.stop)
        gh.set_webhook(server.url + "/webhooks/github", SECRET)
        token = issue_token(app.state.engine, "demo agent")
        narrator.step("Team server up in its own folder", detail=f"{server.url}; database in {state_dir.name}/")

        _git(project_dir, "clone", "--quiet", gh.clone_url(REPO), str(clone))
        _git(clone, "checkout", "--quiet", "-b", BRANCH)
        client = await stack.enter_async_context(Client(build_door(Project.open(clone), server.url, token)))
        tools = {t.name for t in (await client.list_tools()).tools}
        needed = {"start_workflow", "complete_phase", "get_workflow_state", "search_standards"}
        narrator.step("Agent's door up in its own clone (agent-os mcp --server)", needed <= tools,
                      f"{len(tools)} tools, answered by the team server")

        async def call(tool: str, **args: Any) -> tuple[bool, Any]:
            return _tool_result(await client.call_tool(tool, args))

        ok, started = await call("start_workflow", workflow_type="spec_creation_v1", target_file="user_authentication")
        narrator.step("start_workflow('spec_creation_v1', 'user_authentication')", ok, str(started)[:80] if not ok else "")
        sid = started["session"]["session_id"]
        spec_rel = started["session"]["spec_dir"]
        spec = clone / spec_rel
        spec.mkdir(parents=True, exist_ok=True)
        result.session_id = sid
        result.session_url = f"{server.url}/sessions/{sid}"

        ok, hits = await call("search_standards", query="refresh token rotation", n_results=3)
        top = hits["results"][0]["path"] if ok and hits.get("results") else "nothing"
        narrator.step("search_standards('refresh token rotation')", ok, f"top hit: {top}")

        write_demo_project(clone)
        ok, _ = await call("complete_phase", session_id=sid, phase=0, evidence=demo_evidence(0))
        narrator.step("Phase 0 Context gathering: evidence accepted", ok, "the door sent the files it names")

        write_spec_files(spec, 1)
        wrong = {**demo_evidence(1), "functional_requirements": demo_evidence(1)["functional_requirements"] + 4}
        ok, refusal = await call("complete_phase", session_id=sid, phase=1, evidence=wrong)
        narrator.step("Phase 1 with a wrong requirement count: refused", not ok and "functional_requirements" in str(refusal),
                      "the server counted the FR- items in the srd.md the door sent")
        ok, _ = await call("complete_phase", session_id=sid, phase=3, evidence=demo_evidence(3))
        narrator.step("Skipping ahead to phase 3: refused", not ok)
        ok, _ = await call("complete_phase", session_id=sid, phase=1, evidence=demo_evidence(1))
        narrator.step("Phase 1 Requirements: evidence accepted", ok)

        pr_head["sha"] = _push(clone, "Spec: context and requirements")
        pr = gh.open_pull_request(REPO, author=AUTHOR, title="Spec: user authentication", head_ref=BRANCH,
                                  body=f"The spec for user authentication.\n\nAgent-OS-Session: {sid}\n")
        requirements = f"{OVERALL} / 1 Requirements"

        def conclusion(name: str = OVERALL) -> str | None:
            run = gh.check_runs(REPO, pr_head["sha"]).get(name)
            return run.conclusion if run else None

        linked = await _wait_for(lambda: conclusion(requirements) == "success", narrator)
        narrator.step(f"git push, PR {REPO}#{pr.number}: linked, phases re-verified at its head", linked,
                      f"'{requirements}': {conclusion(requirements)}")

        for number, title in ((2, "Technical design"), (3, "Task breakdown"), (4, "Implementation guidance")):
            write_spec_files(spec, number)
            ok, data = await call("complete_phase", session_id=sid, phase=number, evidence=demo_evidence(number))
            narrator.step(f"Phase {number} {title}: evidence accepted", ok, "" if ok else str(data)[:120])
        pr_head["sha"] = _push(clone, "Spec: design, tasks, implementation guidance")

        srd = spec / "srd.md"
        good = srd.read_text(encoding="utf-8")
        srd.write_text("\n".join(line for line in good.splitlines() if "**FR-8**" not in line) + "\n",
                       encoding="utf-8")
        pr_head["sha"] = _push(clone, "Trim the requirements")
        red = await _wait_for(lambda: conclusion(requirements) == conclusion() == "failure", narrator)
        narrator.step("A push that breaks srd.md turns phase 1 red", red,
                      f"7 of the 8 FR- items left at {pr_head['sha'][:7]}")
        srd.write_text(good, encoding="utf-8")
        pr_head["sha"] = _push(clone, "Restore FR-8")
        green = await _wait_for(lambda: conclusion(requirements) == "success", narrator)
        narrator.step("The next push fixes it: phase 1 green again", green, f"at {pr_head['sha'][:7]}")

        evidence5 = {**demo_evidence(5), "pull_request": f"{REPO}#{pr.number}"}
        ok, done = await call("complete_phase", session_id=sid, phase=5, evidence=evidence5)
        waiting = ok and done["phase_state"] == "awaiting_approval"
        narrator.step("Phase 5 Team review: checkpoint passed, waiting at the gate", waiting)
        narrator.step("Overall check 'Agent OS' blocks the merge",
                      await _wait_for(lambda: conclusion() == "action_required", narrator),
                      f"conclusion: {conclusion()}")

        gh.submit_review(REPO, pr.number, AUTHOR, "approved")
        # Wait until the bot has processed that delivery, so "ignored" is a result, not a race.
        author_review = gh.last_delivery.id
        await _wait_for(lambda: (d := bot.store.delivery(author_review)) is not None and d.status == "done",
                        narrator)
        ok, state = await call("get_workflow_state", session_id=sid)
        narrator.step(f"@{AUTHOR} (the author) approves: ignored", ok and state["status"] == "active"
                      and conclusion() == "action_required")

        gh.submit_review(REPO, pr.number, REVIEWER, "approved")
        green = await _wait_for(lambda: conclusion() == "success", narrator)
        ok, state = await call("get_workflow_state", session_id=sid)
        narrator.step(f"@{REVIEWER} approves: the gate opens, 'Agent OS' is success",
                      green and ok and state["status"] == "complete", f"conclusion: {conclusion()}")
        narrator.step("The team server's folder is still empty", not any(server_dir.iterdir()),
                      "it read every file through the door's snapshots and GitHub's API")
        narrator.step("Session page", True, result.session_url)
        if keep:
            narrator.live.stop()
            console.print(f"\nServer running at {server.url} — session page {result.session_url}. Ctrl-C to stop.")
            try:
                while True:
                    await anyio.sleep(3600)
            except (KeyboardInterrupt, anyio.get_cancelled_exc_class()):
                pass
    if tmp is not None and not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def run(console: Console | None = None, *, keep: bool = False, project_dir: Path | None = None) -> DemoResult:
    """Run the demo synchronously; failures are recorded as a failed step, never raised."""
    console = console or Console()
    result = DemoResult()

    async def main() -> None:
        try:
            await play(console, result, keep=keep, project_dir=project_dir)
        except DemoFailed:
            pass  # the failed step is in `result`

    try:
        anyio.run(main)
    except Exception as exc:  # report, with the reason, rather than a traceback
        result.steps.append(Step("demo stopped", False, f"{type(exc).__name__}: {exc}"))
    return result
