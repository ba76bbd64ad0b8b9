"""What a repository's own workflows and standards cost a team server (issue 12).

One command: `python bench/bench_repository.py [--docs 20] [--rounds 20]`. It starts the
GitHub stand-in (real git repositories) and a team server in an empty folder, and measures,
through the agent's door (the MCP SDK client over HTTP):

- `list_workflows` of a repository whose default branch holds a custom workflow: the first
  call (reads the tree and the workflow's files), calls on an unchanged branch, and calls
  after a push that leaves `.agent-os/` alone; with the GitHub requests each made;
- `search_standards` of a repository with `--docs` standards documents of its own: the first
  search (keyword-first, `partial`), the time until its passages are embedded, and warm
  searches. The embedder is the default one (AGENT_OS_EMBEDDER), so the figures are real.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import yaml
from common import machine, percentile
from mcp import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_os.project import Project
from agent_os_cli.team import create_team_app, issue_token
from standin.serving import BackgroundServer
from bot.settings import Settings
from mcp_server.door import build_door
from standin import GitHubStandIn, make_app_credentials

REPO = "acme/webapp"
SECRET = "bench-secret"


def workflow(name: str) -> dict[str, str]:
    data = {"name": name, "version": 1, "description": f"{name}: reproduce, then fix.", "target": "new_spec",
            "phases": [{"id": "reproduce", "title": "Reproduce", "instructions": "phases/0.md",
                        "checkpoint": {"evidence": {"summary": {"type": "string", "min_length": 20}}}}]}
    base = f".agent-os/workflows/{name}"
    return {f"{base}/workflow.yaml": yaml.safe_dump(data), f"{base}/phases/0.md": "# Reproduce\n\nShow it.\n"}


def standards(n: int) -> dict[str, str]:
    topics = ["payments", "billing", "auth", "storage", "queues"]
    return {f".agent-os/standards/{topics[i % 5]}/rule-{i}.md":
            f"# Rule {i}: {topics[i % 5]}\n\n" + " ".join(
                f"When handling {topics[i % 5]} case {j}, log the request id and retry at most {j % 4} times."
                for j in range(40)) + "\n" for i in range(n)}


async def measure(gh: GitHubStandIn, app, door, plain, args: argparse.Namespace) -> None:
    """Every figure, through one MCP session with each door, as an agent keeps its door for its whole run."""
    async with Client(door) as c, Client(plain) as bare:

        async def timed(tool: str, arguments: dict, client: Client = c) -> tuple[float, dict, int]:
            before = len(gh.requests("GET", "/repos/*"))
            started = time.perf_counter()
            result = await client.call_tool(tool, arguments)
            took = (time.perf_counter() - started) * 1000
            assert not result.is_error, result.content[0].text
            return took, result.structured_content, len(gh.requests("GET", "/repos/*")) - before

        print(f"# bench_repository on {machine()}")
        print("# the first call also warms the server (the door's connection, the App's token)")
        first, _, n_first = await timed("list_workflows", {})
        warm = [await timed("list_workflows", {}) for _ in range(args.rounds)]
        print(f"list_workflows, first call: {first:.1f} ms, {n_first} GitHub requests")
        print(f"list_workflows, unchanged branch: p50 {statistics.median(w[0] for w in warm):.1f} ms, "
              f"p95 {percentile([w[0] for w in warm], 0.95):.1f} ms, "
              f"{max(w[2] for w in warm)} GitHub request(s) each")
        moved = []
        for i in range(args.rounds):
            gh.set_files(REPO, {"README.md": f"# app {i}\n"})
            moved.append(await timed("list_workflows", {}))
        print(f"list_workflows, branch moved outside .agent-os/: p50 {statistics.median(m[0] for m in moved):.1f}"
              f" ms, {max(m[2] for m in moved)} GitHub request(s) each (the root tree; .agent-os/ is known by its SHA)")
        await timed("list_workflows", {}, bare)  # the plain door's own first connection
        base = [(await timed("list_workflows", {}, bare))[0] for _ in range(args.rounds)]
        print(f"list_workflows, no repository (shipped only, baseline): p50 {statistics.median(base):.1f} ms")

        query = {"query": "payments retry request id", "n_results": 3}
        took, out, n = await timed("search_standards", query)
        print(f"search_standards, first for the repository ({args.docs} own documents): {took:.1f} ms, "
              f"partial={out['partial']}, {n} GitHub requests")
        index = app.state.mcp.backend.repository_indexes()[REPO]
        started = time.perf_counter()
        while index.build_status().building:
            await anyio.sleep(0.05)
        print(f"  its passages embedded {time.perf_counter() - started:.1f} s later "
              f"({index.build_status().chunks} chunks in the repository's index)")
        warm = [(await timed("search_standards", query))[0] for _ in range(args.rounds)]
        print(f"search_standards, warm: p50 {statistics.median(warm):.1f} ms, "
              f"p95 {percentile(warm, 0.95):.1f} ms (door -> server over HTTP, on the door's open connection)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20, help="the repository's own standards documents")
    parser.add_argument("--rounds", type=int, default=20, help="calls per warm measurement")
    args = parser.parse_args()
    creds = make_app_credentials(4242)
    with tempfile.TemporaryDirectory() as tmp, GitHubStandIn(
            app_id=creds.app_id, public_key_pem=creds.public_key_pem, webhook_secret=SECRET) as gh:
        tmp_path = Path(tmp)
        (tmp_path / "server").mkdir()
        key = tmp_path / "app.pem"
        key.write_text(creds.private_key_pem)
        gh.create_repo(REPO, files={"README.md": "# app\n", **workflow("bugfix_v1"), **standards(args.docs)})
        project = Project.open(tmp_path / "server", db=tmp_path / "agent_os.db", index=tmp_path / "index.db")
        app = create_team_app(Settings(app_id=creds.app_id, private_key=key, webhook_secret=SECRET,
                                       github_url=gh.url), project=project)
        with BackgroundServer(app) as running:
            token = issue_token(app.state.engine, "bench")
            clone = tmp_path / "clone"
            clone.mkdir()
            door = build_door(Project.open(clone), running.url, token, repository=REPO)
            plain = build_door(Project.open(clone), running.url, token, repository=None)
            anyio.run(measure, gh, app, door, plain, args)


if __name__ == "__main__":
    main()
