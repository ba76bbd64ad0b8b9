"""Workflow and session commands: `workflows list|show|validate`, `start`, `status`,
`complete`, `approve`. The same engine the MCP tools call; only people run `approve`."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Iterator

import typer
from rich.markup import escape
from rich.table import Table

from agent_os.engine import Engine
from agent_os.store import open_store
from agent_os.errors import InputError
from agent_os.report import example_evidence, failures_markdown, field_rules, gate_markdown, state_word
from .common import JsonOpt, ProjectOpt, console, emit_json, guarded, open_project
from .words import cli_words
from . import app

workflows_app = typer.Typer(help="List, inspect and validate workflow definitions.", no_args_is_help=True)
app.add_typer(workflows_app, name="workflows")

MAX_EVIDENCE_BYTES = 1_000_000


@contextmanager
def _engine(project: Path | None, *, read_only: bool = False) -> Iterator[Engine]:
    """The project's engine. A read-only command in a folder with no session database yet
    reads an empty one in memory rather than creating `.agent-os/` behind the person's back."""
    proj = open_project(project)
    store = open_store(":memory:") if read_only and not proj.db_path.exists() else None
    engine = Engine.open(proj, store)
    try:
        if not read_only:
            attach_github_app(engine)
        yield engine
    finally:
        engine.close()


def attach_github_app(engine: Engine) -> None:
    """On a team server's database (it holds the GitHub App's tables), a change made here
    queues the check-run updates of the session's PRs in its own transaction, for the
    server's App to send, as a change made through the server would."""
    if engine.db.version("bot") == 0:
        return
    from bot.outbox import queue_session_syncs
    from bot.store import BotStore

    store = BotStore(engine.db)
    engine.subscribe(lambda session_id, kind: queue_session_syncs(store, engine, session_id), in_transaction=True)


@workflows_app.command("list")
@guarded
def workflows_list(project: ProjectOpt = None, json_out: JsonOpt = False) -> None:
    """List the workflows this project can start (its own in .agent-os/workflows first)."""
    with _engine(project, read_only=True) as engine:
        items = engine.list_workflows()
        broken = engine.registry.broken()
    if json_out:
        emit_json({"workflows": [w.model_dump(mode="json") for w in items],
                   "invalid": [b.model_dump(mode="json") for b in broken]})
        return
    table = Table("name", "version", "source", "phases", "description", box=None)
    for w in items:
        table.add_row(w.name, str(w.version), w.source, str(len(w.phases)), w.description)
    console.print(table)
    for b in broken:
        console.print(escape(f"✗ {b.name} ({b.directory}) cannot be started: {len(b.problems)} problem(s), "
                             f"the first: {b.problems[0]}. See them all: agent-os workflows validate {b.name}"),
                      highlight=False, soft_wrap=True)


@workflows_app.command("show")
@guarded
def workflows_show(
    name: Annotated[str, typer.Argument(help="Workflow name, e.g. spec_creation_v1.")],
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a workflow's phases, the evidence each checkpoint demands, and its gates."""
    with _engine(project, read_only=True) as engine:
        wf = engine.workflow(name)
    if json_out:
        emit_json(wf.model_dump(mode="json"))
        return
    console.print(f"[bold]{wf.name}[/] v{wf.version} — {wf.description}")
    for number, phase in enumerate(wf.phases):
        gate = f"  [yellow]gate: {phase.gate.approvals} approval(s)[/]" if phase.gate else ""
        expand = "  (one phase per '## Phase N:' section of tasks.md)" if phase.expand else ""
        console.print(f"\n[bold]{number}. {phase.title}[/] ({phase.id}){gate}{expand}")
        for field, spec in phase.checkpoint.evidence.items():
            need = "required" if spec.required else "optional"
            console.print(f"   evidence {field}: {spec.type}, {need}. {spec.description}", highlight=False)
        for art in phase.checkpoint.artifacts:
            console.print(f"   artifact {art.path}: headings {', '.join(art.required_headings) or '-'}",
                          highlight=False)
        for check in phase.checkpoint.checks:
            console.print(f"   check {check}", highlight=False)


@workflows_app.command("validate")
@guarded
def workflows_validate(
    name_or_dir: Annotated[str, typer.Argument(help="A workflow name, or a directory holding workflow.yaml.")],
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a workflow definition and list every problem (exit 1 if it has any)."""
    with _engine(project, read_only=True) as engine:
        report = engine.validate_workflow(name_or_dir)
    if json_out:
        emit_json(report)
    elif report.valid:
        console.print(f"[green]✓[/] {report.name} is valid ({report.directory})")
    else:
        console.print(f"[red]✗[/] {report.name} has {len(report.problems)} problem(s):")
        for problem in report.problems:
            console.print(escape(f"  - {problem}"), highlight=False, soft_wrap=True)
    if not report.valid:
        raise typer.Exit(1)


@app.command()
@guarded
def start(
    workflow: Annotated[str, typer.Argument(help="Workflow to start, e.g. spec_creation_v1.")],
    target: Annotated[str, typer.Argument(help="What it is for: a feature name (user_authentication), or for "
                                          "spec_execution_v1 an approved spec directory.")],
    author: Annotated[str | None, typer.Option(help="Who owns the work (their approvals will not count).")] = None,
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Start a workflow session, or resume the open one for the same workflow and target."""
    with _engine(project) as engine:
        result = engine.start(workflow, target, author=author)
    if json_out:
        emit_json(result)
        return
    verb = "Resumed" if result.resumed else "Started"
    s = result.session
    console.print(f"{verb} session [bold]{s.session_id}[/] ({s.workflow}) in {s.spec_dir}")
    if result.phase:
        console.print(f"Phase {result.phase.number}: {result.phase.title}. "
                      f"See what it asks for: agent-os phase {s.session_id}", highlight=False)


@app.command()
@guarded
def status(
    session_id: Annotated[str | None, typer.Argument(help="Session id; without it, list every session.")] = None,
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a session's phases, gate and linked PRs, or list all sessions."""
    with _engine(project, read_only=True) as engine:
        if session_id is None:
            sessions = engine.list_sessions()
            if json_out:
                emit_json({"sessions": [s.model_dump(mode="json") for s in sessions]})
                return
            if not sessions:
                console.print("No sessions yet. Start one: agent-os start spec_creation_v1 <feature_name>")
                return
            table = Table("session", "workflow", "target", "status", "phase", box=None)
            for s in sessions:
                where = (f"{s.current_phase} {s.current_phase_title} ({state_word(s.current_phase_state)})"
                         if s.current_phase is not None else "-")
                table.add_row(s.session_id, s.workflow, s.target, s.status, where)
            console.print(table)
            return
        state = engine.state(session_id)
    if json_out:
        emit_json(state)
        return
    console.print(f"[bold]{state.session_id}[/] {state.workflow} on {state.target!r} — {state.status}")
    console.print(f"spec: {state.spec_dir}")
    marks = {"complete": "[green]✓[/]", "active": "[cyan]▶[/]", "awaiting_approval": "[yellow]⏸[/]", "pending": "·"}
    for p in state.phases:
        console.print(f" {marks[p.state]} {p.number}. {p.title} — {state_word(p.state)}", highlight=False)
        if p.state == "active" and p.last_submission and not p.last_submission.accepted:
            console.print(escape(failures_markdown(p.last_submission.failures)), highlight=False, soft_wrap=True)
        if p.gate and p.state == "awaiting_approval":
            console.print(escape(gate_markdown(p.gate)), highlight=False, soft_wrap=True)
    for pr in state.pull_requests:
        console.print(f"PR: {pr.repository}#{pr.number}", highlight=False)
    console.print(escape(f"\nNext: {state.next_step}"), highlight=False, soft_wrap=True)


@app.command()
@guarded
def phase(
    session_id: Annotated[str, typer.Argument(help="Session id (`agent-os status` lists them).")],
    task: Annotated[str | None, typer.Option("--task", help="Show one task's full instructions instead.")] = None,
    example: Annotated[bool, typer.Option("--example", help="Print only the good example evidence, as JSON: "
                                          "a start for the evidence file.")] = False,
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show what the session's current phase asks for: its instructions, its tasks, the
    evidence fields with their rules, and a good example to write the evidence from.

    Then: `agent-os phase SESSION --example > evidence.json`, make it true of your files,
    and `agent-os complete SESSION N --evidence evidence.json`.
    """
    with _engine(project, read_only=True) as engine:
        view = engine.current_phase(session_id)
        task_view = engine.get_task(session_id, view.number, task) if task else None
    if task_view is not None:
        if json_out:
            emit_json(task_view)
            return
        _say(f"Task {task_view.task_id} of phase {task_view.phase}: {task_view.title}\n", bold=True)
        _say(cli_words(task_view.instructions.strip(), session_id))
        return
    if example:
        emit_json(example_evidence(view))
        return
    if json_out:
        emit_json(view)
        return
    _say(f"Session {view.session_id}: phase {view.number} of {view.phases_total}, {view.title} "
         f"({state_word(view.state)})", bold=True)
    _say(f"Spec directory: {view.spec_dir}\n")
    _say(cli_words(view.instructions.strip(), session_id))
    if view.tasks:
        _say(f"\nTasks (details: agent-os phase {session_id} --task TASK):", bold=True)
        for t in view.tasks:
            _say(f"  {t.id}: {t.title}")
    if view.evidence:
        _say(f"\nEvidence fields (a JSON object for agent-os complete {session_id} {view.number} "
             "--evidence FILE.json):", bold=True)
        for name, f in view.evidence.items():
            _say(f"  {name}: {field_rules(f)}")
            if f.description:
                _say(f"      {cli_words(f.description, session_id)}")
    good = example_evidence(view)
    if good:
        _say(f"\nGood example (agent-os phase {session_id} --example > evidence.json):", bold=True)
        _say(json.dumps(good, indent=2, ensure_ascii=False))
    if view.gate:
        _say(f"\nThe phase ends at a gate: {view.gate}.")


def _say(text: str, *, bold: bool = False) -> None:
    """Print text as it is (no markup, no highlighting), in CLI words."""
    console.print(escape(text), style="bold" if bold else None, highlight=False, soft_wrap=True)


def _read_evidence(source: str) -> Any:
    if source == "-":
        text = sys.stdin.read(MAX_EVIDENCE_BYTES + 1)
        name = "standard input"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"Evidence file {source} does not exist.", hint="Write the evidence as a JSON object "
                             "in a file and pass --evidence FILE.json (or - for standard input).")
        if path.stat().st_size > MAX_EVIDENCE_BYTES:
            raise InputError(f"Evidence file {source} is larger than {MAX_EVIDENCE_BYTES} bytes.")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"Evidence file {source} is not UTF-8 text.") from None
        name = source
    if len(text) > MAX_EVIDENCE_BYTES:
        raise InputError(f"Evidence from {name} is larger than {MAX_EVIDENCE_BYTES} bytes.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"Evidence in {name} is not valid JSON: {exc}.",
                         hint='Evidence is a JSON object, e.g. {"srd_file": "srd.md", "functional_requirements": 8}.'
                         ) from None


@app.command()
@guarded
def complete(
    session_id: Annotated[str, typer.Argument(help="Session id.")],
    phase: Annotated[str, typer.Argument(help="Phase number or id (must be the active phase).")],
    evidence: Annotated[str, typer.Option("--evidence", "-e", help="JSON file of evidence, or - for stdin.")],
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Submit evidence for the active phase; exit 1 with every failure if it is refused."""
    data = _read_evidence(evidence)
    with _engine(project) as engine:
        result = engine.complete_phase(session_id, phase, data)
    if json_out:
        emit_json(result)
        return
    console.print(f"[green]✓[/] {escape(result.message)}", highlight=False, soft_wrap=True)
    for line in result.verified:
        console.print(escape(f"  verified: {line}"), highlight=False)


@app.command()
@guarded
def approve(
    session_id: Annotated[str, typer.Argument(help="Session id.")],
    by: Annotated[str, typer.Option("--by", help="Your name: who approves (not the session's author).")],
    note: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Approve the phase waiting at its gate (solo mode; on a team the PR review approves)."""
    with _engine(project) as engine:
        gate = engine.approve(session_id, by=by, note=note)
        state = engine.state(session_id)
    if json_out:
        emit_json({"gate": gate.model_dump(mode="json"), "session": state.model_dump(mode="json")})
        return
    console.print(escape(gate_markdown(gate)), highlight=False, soft_wrap=True)
    console.print(escape(f"Next: {state.next_step}"), highlight=False, soft_wrap=True)
