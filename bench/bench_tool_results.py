"""Characters of tool-result text an agent reads in the demo session, tool call by tool call.

    python bench/bench_tool_results.py

Plays the demo's MCP calls (start, search, every phase of spec_creation_v1 with the refused
attempts, state twice) against an in-memory server with the hashing embedder, and prints
the characters of each result's text content and of its structured content.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def measure(root: Path) -> list[tuple[str, int, int]]:
    """(call, text characters, structured characters) for each call of the demo session."""
    from mcp import Client

    from agent_os.project import Project
    from agent_os.standards import HashEmbedder
    from agent_os_cli.demo import demo_evidence, write_demo_project, write_spec_files
    from mcp_server.server import build_server

    write_demo_project(root)
    server = build_server(Project.open(root), embedder=HashEmbedder())
    rows: list[tuple[str, int, int]] = []
    async with Client(server) as client:
        async def call(label: str, tool: str, **args: Any) -> Any:
            result = await client.call_tool(tool, args)
            text = sum(len(getattr(c, "text", "")) for c in result.content)
            structured = len(json.dumps(result.structured_content)) if result.structured_content else 0
            rows.append((label, text, structured))
            return result.structured_content

        started = await call("start_workflow", "start_workflow", workflow_type="spec_creation_v1",
                             target_file="user_authentication")
        sid = started["session"]["session_id"]
        spec = root / started["session"]["spec_dir"]
        await call("search_standards", "search_standards", query="refresh token rotation", n_results=3)
        await call("complete_phase 0", "complete_phase", session_id=sid, phase=0, evidence=demo_evidence(0))
        await call("link_pull_request", "link_pull_request", session_id=sid, repository="acme/api", number=128)
        write_spec_files(spec, 1)
        wrong = {**demo_evidence(1), "functional_requirements": demo_evidence(1)["functional_requirements"] + 4}
        await call("complete_phase 1 (wrong count)", "complete_phase", session_id=sid, phase=1, evidence=wrong)
        await call("complete_phase 3 (skip)", "complete_phase", session_id=sid, phase=3, evidence=demo_evidence(3))
        for number in range(1, 6):
            if number > 1:
                write_spec_files(spec, number)
            await call(f"complete_phase {number}", "complete_phase", session_id=sid, phase=number,
                       evidence=demo_evidence(number))
        await call("get_workflow_state", "get_workflow_state", session_id=sid)
        await call("get_current_phase", "get_current_phase", session_id=sid)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = anyio.run(measure, Path(tmp))
    print(f"{'tool call':34} {'text':>7} {'structured':>10}")
    for label, text, structured in rows:
        print(f"{label:34} {text:7d} {structured:10d}")
    print(f"{'total':34} {sum(r[1] for r in rows):7d} {sum(r[2] for r in rows):10d}")


if __name__ == "__main__":
    main()
