"""Standards commands: `agent-os index` builds or refreshes the search index, `agent-os
search` asks it a question. The MCP tool `search_standards` answers from the same index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from agent_os.standards.models import MAX_RESULTS
from . import app
from .common import JsonOpt, ProjectOpt, console, emit_json, err_console, guarded, open_project, running_on

if TYPE_CHECKING:
    from agent_os.standards import Embedder, StandardsIndex, SyncReport

StandardsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--standards",
        help="A folder of markdown standards to index; repeat for several (a later folder's "
        "file overrides an earlier one's of the same path). Replaces the default roots: the "
        "shipped library and the project's .agent-os/standards.",
        show_default=False,
    ),
]
IndexFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help="The index file (default: .agent-os/index.db in the project).",
        show_default=False,
    ),
]


def make_embedder() -> Embedder:
    """The embedder the commands use: the real model (tests substitute a test double)."""
    from agent_os.standards import default_embedder

    return default_embedder()


def _open(project: Path | None, standards: list[Path] | None, index_file: Path | None) -> StandardsIndex:
    from agent_os.standards import StandardsIndex

    proj = open_project(project, index=index_file, standards=standards or None)
    return StandardsIndex.open(proj, make_embedder())


def _summary(report: SyncReport) -> str:
    parts = [
        f"{report.documents} documents, {report.chunks} chunks",
        (
            f"{report.added} added, {report.updated} updated, {report.removed} removed, "
            f"{report.unchanged} unchanged"
        ),
        f"{report.chunks_embedded} chunks embedded, {report.chunks_reused} reused",
        f"{report.seconds:.2f} s",
    ]
    return "Indexed: " + "; ".join(parts) + ("  (full rebuild)" if report.rebuilt else "")


INDEX_HELP = (
    "Build or refresh the standards search index.\n\n"
    "Only files that changed since the last run are read, and only passages whose text changed "
    "are embedded again. Files that are not UTF-8 are skipped with a warning. A progress bar "
    "goes to stderr, the summary to stdout."
)
SEARCH_HELP = (
    "Search the standards: the passages that best answer QUERY, with path and line range.\n\n"
    "The index is built on first use, and files changed on disk are re-indexed before the "
    "answer.\n\n"
    'With --json: {"query", "mode", "results": [{"path", "root", "title", "heading", '
    '"start_line", "end_line", "text", "score", "retriever", "vector_rank", "keyword_rank", '
    '"tags"}], "took_ms", "refreshed", "notices"}. Scores: higher is better.'
)


@app.command("index", help=INDEX_HELP)
@guarded
def index(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Throw the index away and build it from scratch.")
    ] = False,
    standards: StandardsOpt = None,
    index_file: IndexFileOpt = None,
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Build or refresh the standards search index.

    Only files that changed since the last run are read, and only passages whose text
    changed are embedded again. Files that are not UTF-8 are skipped with a warning.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    idx = _open(project, standards, index_file)
    running_on()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=json_out or not err_console.is_terminal,
        ) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    label = "Reading standards" if stage == "reading" else "Embedding passages"
                    tasks[stage] = bar.add_task(label, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            report = idx.sync(progress, rebuild=rebuild)
    finally:
        idx.close()
    if json_out:
        emit_json({"index": str(idx.path), **report.model_dump(mode="json")})
        return
    for notice in report.notices:
        err_console.print(f"[yellow]note:[/] {escape(notice)}", highlight=False)
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    console.print(_summary(report), highlight=False)
    console.print(f"Index: {idx.path}", highlight=False)


@app.command("search", help=SEARCH_HELP)
@guarded
def search(
    query: Annotated[str, typer.Argument(help="What you need, in plain words.")],
    n_results: Annotated[
        int,
        typer.Option(
            "-n", "--n-results", help=f"How many passages to return (1-{MAX_RESULTS})."
        ),
    ] = 3,
    folder: Annotated[
        str | None,
        typer.Option("--folder", help="Only documents under this folder, e.g. security."),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Only documents with this tag, e.g. jwt.")
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="hybrid (meaning and keywords, fused), vector (meaning) or keyword (BM25).",
        ),
    ] = "hybrid",
    standards: StandardsOpt = None,
    index_file: IndexFileOpt = None,
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Search the standards: the passages that best answer QUERY, with path and line range.

    The index is built on first use, and files changed on disk are re-indexed before the
    answer. With --json: {"query", "mode", "results": [{"path", "heading", "start_line",
    "end_line", "text", "score", "retriever", ...}], "took_ms", "refreshed", "notices"}.
    """
    embedder = make_embedder()
    if mode != "keyword" and hasattr(embedder, "start_loading"):
        embedder.start_loading()  # load the model while the index is opened and checked
    idx = _open(project, standards, index_file)
    try:
        response = idx.search(query, n_results=n_results, folder=folder, tag=tag, mode=mode)
    finally:
        idx.close()
    if json_out:
        emit_json(response)
        return
    for notice in response.notices:
        err_console.print(f"[yellow]note:[/] {escape(notice)}", highlight=False)
    if not response.results:
        console.print("No matching standards.")
        return
    for i, r in enumerate(response.results, start=1):
        console.print(
            f"[bold]{i}. {escape(r.path)}:{r.start_line}-{r.end_line}[/]  "
            f"[cyan]{escape(r.heading)}[/]  [dim]({r.retriever}, score {r.score:.4f})[/]",
            highlight=False,
        )
        for line in r.text.splitlines():
            console.print(f"   {escape(line)}", highlight=False, soft_wrap=True)
        console.print()
