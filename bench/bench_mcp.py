"""MCP server benchmark: how fast `agent-os mcp` answers an agent, over stdio and HTTP.

Run from the repository root:  python bench/bench_mcp.py [--calls 200] [--spawns 5] [--json]

Measures, on throwaway projects in a temporary directory, with the real `agent-os mcp`
process and the real embedding model:
  - spawn to tools/list: process start, handshake and the tool listing (median of --spawns);
  - spawn to the first search result, on a fresh project (its index is created first, from
    the shipped vectors), on a project whose index already exists, and on a fresh project
    whose own standards (the shipped library, every heading edited so no shipped vector
    applies) are still being embedded: that answer is keyword-first, marked partial; all
    include loading the embedding model, which the query needs;
  - tool round trips, p50/p95 over --calls calls, over stdio and over streamable HTTP with a
    bearer token (`agent-os mcp --http` in its own process): a cheap tool
    (get_workflow_state) and a warm search_standards. Three passes each; the table shows
    the pass with the lowest p95 (other tenants of a shared VM add pauses that are not
    ours), the JSON every pass.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from common import percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import write_own_standards  # noqa: E402

from agent_os.project import Project
from agent_os.tokens import TokenStore
from standin.serving import free_port

QUERIES = Path(__file__).with_name("search_queries.yaml")
FIRST_QUERY = "how do we avoid race conditions when two requests update the same row"


def agent_os_command() -> list[str]:
    """The console script next to this interpreter (what an installed client spawns), without
    any version-manager shim in front of it; else `python -m agent_os_cli`."""
    script = Path(sys.executable).with_name("agent-os")
    if script.exists():
        return [str(script)]
    found = shutil.which("agent-os")
    return [found] if found else [sys.executable, "-m", "agent_os_cli"]


def queries() -> list[str]:
    items = yaml.safe_load(QUERIES.read_text(encoding="utf-8")) or []
    return [q["query"] for q in items if isinstance(q, dict) and q.get("query")]


def new_project(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir()
    return path


def stdio_client_for(project: Path, errlog: Any) -> Client:
    cmd = agent_os_command()
    params = StdioServerParameters(command=cmd[0], args=[*cmd[1:], "mcp", "--project", str(project)])
    return Client(stdio_client(params, errlog=errlog))


def check(result: Any, what: str) -> Any:
    if result.is_error:
        raise RuntimeError(f"{what} failed: {result.content}")
    return result.structured_content


async def spawn_to_tools_list(project: Path, errlog: Any) -> float:
    t0 = time.perf_counter()
    async with stdio_client_for(project, errlog) as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - t0
    if not any(t.name == "search_standards" for t in tools.tools):
        raise RuntimeError("tools/list did not list search_standards")
    return elapsed


async def spawn_to_first_search(project: Path, errlog: Any, partial: list[bool] | None = None) -> float:
    t0 = time.perf_counter()
    async with stdio_client_for(project, errlog) as client:
        found = check(await client.call_tool("search_standards", {"query": FIRST_QUERY}), "search")
        elapsed = time.perf_counter() - t0
    if not found["results"]:
        raise RuntimeError("the first search found nothing")
    if partial is not None:
        partial.append(bool(found.get("partial")))
    return elapsed


def own_standards_project(root: Path, name: str) -> Path:
    """A fresh project whose standards are its own: every chunk must be embedded."""
    path = new_project(root, name)
    write_own_standards(path)
    return path


async def round_trips(client: Client, calls: int, texts: list[str], passes: int) -> dict[str, list[list[float]]]:
    """`passes` passes of `calls` round trips (ms) of get_workflow_state and of a warm search."""
    started = check(await client.call_tool("start_workflow", {"workflow_type": "spec_creation_v1",
                                                              "target_file": "bench feature"}), "start")
    sid = started["session"]["session_id"]
    for text in texts[:10]:  # waits for the model and the index, then warms them
        check(await client.call_tool("search_standards", {"query": text}), "search")

    async def timed(call: Callable[[int], Awaitable[Any]]) -> list[float]:
        out = []
        for i in range(calls):
            t0 = time.perf_counter()
            result = await call(i)
            out.append((time.perf_counter() - t0) * 1000)
            if result.is_error:
                raise RuntimeError(f"call failed: {result.content}")
        return out

    tools: dict[str, Callable[[int], Awaitable[Any]]] = {
        "get_workflow_state": lambda i: client.call_tool("get_workflow_state", {"session_id": sid}),
        "search_standards": lambda i: client.call_tool("search_standards", {"query": texts[i % len(texts)]}),
    }
    return {name: [await timed(call) for _ in range(passes)] for name, call in tools.items()}


async def stdio_round_trips(project: Path, calls: int, texts: list[str], passes: int,
                            errlog: Any) -> dict[str, list[list[float]]]:
    async with stdio_client_for(project, errlog) as client:
        return await round_trips(client, calls, texts, passes)


def http_round_trips(project: Path, calls: int, texts: list[str], passes: int,
                     errlog: Any) -> dict[str, list[list[float]]]:
    """The same calls against `agent-os mcp --http` in its own process, with a bearer token."""
    _, secret = TokenStore.open(Project.open(project).db_path).create("bench")
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    proc = subprocess.Popen([*agent_os_command(), "mcp", "--http", "--port", str(port), "--project", str(project)],
                            stdout=errlog, stderr=errlog)
    try:
        deadline = time.monotonic() + 60
        while True:  # up once an unauthenticated request is answered (with 401)
            try:
                if httpx.post(url, json={}, timeout=2).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("agent-os mcp --http did not start")
            time.sleep(0.1)

        async def run() -> dict[str, list[list[float]]]:
            http = create_mcp_http_client(headers={"Authorization": f"Bearer {secret}"})
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                return await round_trips(client, calls, texts, passes)

        return anyio.run(run)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def summary(passes: list[list[float]]) -> dict[str, Any]:
    """The pass with the lowest p95, and every pass's p50/p95."""
    each = [{"p50_ms": round(statistics.median(v), 2), "p95_ms": round(percentile(v, 0.95), 2)} for v in passes]
    best = min(each, key=lambda p: p["p95_ms"])
    return {"n": len(passes[0]), **best, "passes": each}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="round trips per tool and transport")
    parser.add_argument("--passes", type=int, default=3, help="passes of --calls round trips")
    parser.add_argument("--spawns", type=int, default=5, help="spawns timed to tools/list")
    parser.add_argument("--search-spawns", type=int, default=2,
                        help="spawns timed to the first search, per case (fresh / existing index)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--server-log", action="store_true", help="show the servers' stderr")
    args = parser.parse_args()

    texts = queries()
    figures: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": f"{platform.machine()}, {platform.system()}",
                    # Other work on the machine slows every figure: say how busy it was.
                    "load_avg_start": round(os.getloadavg()[0], 2)},
        "command": " ".join(agent_os_command()),
        "calls": args.calls,
    }
    errlog = sys.stderr if args.server_log else open(os.devnull, "w")  # noqa: SIM115
    try:
        with tempfile.TemporaryDirectory(prefix="agent-os-bench-mcp-") as tmp_name:
            tmp = Path(tmp_name)
            listing_project = new_project(tmp, "listing")
            spawns = [anyio.run(spawn_to_tools_list, listing_project, errlog) for _ in range(args.spawns)]
            figures["spawn_to_tools_list_s"] = {"median": round(statistics.median(spawns), 3),
                                                "min": round(min(spawns), 3), "runs": [round(s, 3) for s in spawns]}

            # Interleaved (fresh, existing, fresh, ...) so that a machine getting busier or
            # quieter during the run does not favour one case.
            fresh: list[float] = []
            existing: list[float] = []
            building: list[float] = []
            partial: list[bool] = []
            indexed = new_project(tmp, "indexed")  # its index exists after the first fresh run
            for i in range(args.search_spawns):
                project = indexed if i == 0 else new_project(tmp, f"fresh{i}")
                fresh.append(anyio.run(spawn_to_first_search, project, errlog))
                existing.append(anyio.run(spawn_to_first_search, indexed, errlog))
                building.append(anyio.run(spawn_to_first_search, own_standards_project(tmp, f"own{i}"),
                                          errlog, partial))
            figures["spawn_to_first_search_s"] = {
                name: {"median": round(statistics.median(v), 2), "runs": [round(s, 2) for s in v]}
                for name, v in (("fresh project", fresh), ("index exists", existing),
                                ("own standards embedding", building))
            }
            figures["spawn_to_first_search_s"]["own standards embedding"]["partial"] = partial

            stdio = anyio.run(stdio_round_trips, indexed, args.calls, texts, args.passes, errlog)
            http = http_round_trips(indexed, args.calls, texts, args.passes, errlog)
            figures["round_trip"] = {
                "stdio": {tool: summary(v) for tool, v in stdio.items()},
                "http (bearer)": {tool: summary(v) for tool, v in http.items()},
            }
    finally:
        if errlog is not sys.stderr:
            errlog.close()
    figures["machine"]["load_avg_end"] = round(os.getloadavg()[0], 2)

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print_table(figures)
    return 0


def print_table(f: dict[str, Any]) -> None:
    m = f["machine"]
    print(f"MCP server benchmark ({m['cpus']} CPUs, {m['platform']}, Python {m['python']}; "
          f"1-min load average {m['load_avg_start']} at start, {m['load_avg_end']} at end)")
    print(f"  server command: {f['command']}")
    s = f["spawn_to_tools_list_s"]
    rows = [("spawn -> tools/list, stdio (s)",
             f"{s['median']} median, {s['min']} min  (runs {', '.join(map(str, s['runs']))})")]
    for case, v in f["spawn_to_first_search_s"].items():
        note = f"; partial: {', '.join(map(str, v['partial']))}" if "partial" in v else ""
        rows.append((f"spawn -> first search, {case} (s)",
                     f"{v['median']} median  (runs {', '.join(map(str, v['runs']))}{note})"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    print(f"\n  tool round trip, {f['calls']} calls a pass (best pass by p95; every pass's p95)")
    print(f"  {'transport':<15}{'tool':<22}{'p50 ms':>9}{'p95 ms':>9}   p95s")
    for transport, tools in f["round_trip"].items():
        for tool, r in tools.items():
            p95s = ", ".join(str(p["p95_ms"]) for p in r["passes"])
            print(f"  {transport:<15}{tool:<22}{r['p50_ms']:>9}{r['p95_ms']:>9}   {p95s}")

if __name__ == "__main__":
    sys.exit(main())
