"""Engine benchmark: how long start, complete_phase and a state load take on SQLite.

Run: python bench/bench_engine.py [--sessions 300] [--json]
Uses a throwaway project in a temporary directory and a six-phase workflow written by
create_workflow (every phase demands a checked summary); the state of a spec_creation_v1
session (the shipped workflow: six phases of ~10 KB definitions each) is timed as well.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import machine, percentile

from agent_os.engine import Engine
from agent_os.project import Project

EVIDENCE = {"summary": "Did the work of this phase and checked it against the spec."}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.open(Project.open(Path(tmp)))
        engine.create_workflow("bench_v1", "new_spec", [f"Phase {i}" for i in range(6)])
        starts, completes, states = [], [], []
        ids = []
        for i in range(args.sessions):
            holder = {}
            starts.append(timed(lambda: holder.update(r=engine.start("bench_v1", f"feature {i}"))))
            ids.append(holder["r"].session.session_id)
        for sid in ids:
            for phase in range(6):
                completes.append(timed(lambda: engine.complete_phase(sid, phase, EVIDENCE)))
        for sid in ids:
            states.append(timed(lambda: engine.state(sid)))
        spec = engine.start("spec_creation_v1", "shipped workflow").session.session_id
        spec_states = [timed(lambda: engine.state(spec)) for _ in range(args.sessions)]
        engine.close()
        reopen = timed(lambda: Engine.open(Project.open(Path(tmp))).close())
    rows = {
        "start": starts,
        "complete_phase": completes,
        "state (load)": states,
        "state (shipped)": spec_states,
    }
    result = {
        "machine": machine(),
        "sessions": args.sessions,
        "reopen_ms": round(reopen, 2),
        "ops": {k: {"n": len(v), "p50_ms": round(statistics.median(v), 2), "p95_ms": round(percentile(v, 0.95), 2)}
                for k, v in rows.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"engine benchmark ({result['machine']}), {args.sessions} sessions of 6 phases, SQLite WAL")
    print(f"{'operation':<16}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}")
    for name, r in result["ops"].items():
        print(f"{name:<16}{r['n']:>7}{r['p50_ms']:>10}{r['p95_ms']:>10}")
    print(f"open + migrate an existing database: {result['reopen_ms']} ms")


if __name__ == "__main__":
    main()
