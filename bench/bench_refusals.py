"""Refusal storage benchmark: how much 1,000 refused 3 MB submissions grow the database.

Run: python bench/bench_refusals.py [--submissions 1000] [--megabytes 3] [--json]
A refused submission is stored capped (its first part and the sha256 of the whole), so
the growth stays far below the bytes sent; the target is < 50 MB for the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from common import machine

from agent_os.engine import Engine
from agent_os.errors import EvidenceRejected
from agent_os.project import Project


def db_bytes(path: Path) -> int:
    """The database and its write-ahead log, as they are on disk."""
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--megabytes", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # A field too short for its min_length plus a 3 MB undeclared field: refused every time.
    payload = {"summary": "x", "notes_dump": "y" * int(args.megabytes * 1_000_000)}
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.open(Path(tmp))
        engine = Engine.open(project)
        engine.create_workflow("bench_v1", "new_spec", ["Only phase"])
        sid = engine.start("bench_v1", "refusals").session.session_id
        before = db_bytes(project.db_path)
        t0 = time.perf_counter()
        for _ in range(args.submissions):
            try:
                engine.complete_phase(sid, 0, payload)
            except EvidenceRejected:
                pass
            else:  # pragma: no cover - the payload is always refused
                raise SystemExit("a submission was accepted; the benchmark measures refusals")
        seconds = time.perf_counter() - t0
        engine.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # count the log into the file
        engine.close()
        after = db_bytes(project.db_path)
    grown_mb = (after - before) / 1_000_000
    result = {"machine": machine(), "submissions": args.submissions, "megabytes_each": args.megabytes,
              "sent_mb": round(args.submissions * args.megabytes, 1), "db_growth_mb": round(grown_mb, 2),
              "per_refusal_kb": round((after - before) / args.submissions / 1000, 2),
              "refusals_per_s": round(args.submissions / seconds, 1), "target_mb": 50}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"refusal storage benchmark ({result['machine']})")
    print(f"{args.submissions} refused submissions of {args.megabytes} MB ({result['sent_mb']} MB sent): "
          f"database grew {result['db_growth_mb']} MB ({result['per_refusal_kb']} kB each; target < 50 MB), "
          f"{result['refusals_per_s']} refusals/s")


if __name__ == "__main__":
    main()
