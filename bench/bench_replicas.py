"""Replica benchmark: deliveries per second on SQLite (one replica) and on PostgreSQL (one and
two replicas), in one run.

Run from the repository root:  python bench/bench_replicas.py [--prs 20] [--per-pr 25] [--json]

Each setting starts `agent-os serve` replicas (one uvicorn worker each) over a fresh database
and a local GitHub stand-in, opens `--prs` pull requests whose sessions wait at a gate, then
POSTs `--per-pr` review deliveries for each (comments and one approval), alternating the
replicas, four senders at once, each PR's deliveries in order. Measured: from the first POST
until every delivery is handled and every write to GitHub is sent. PostgreSQL is started
from Debian's server programs in a temporary folder on a loopback port (tests/pg.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from common import machine  # noqa: E402

from pg import start_server  # noqa: E402
from replicakit import (  # noqa: E402
    SECRET,
    Cluster,
    gated_pull_requests,
    make_burst,
    open_engine,
    prepare_project,
    quiet,
    send_burst,
    wait_for,
)
from standin import GitHubStandIn  # noqa: E402


def run(db: str | None, replicas: int, prs: int, per_pr: int, settle: float) -> dict[str, float]:
    """One setting: `db` None means a SQLite file in the project."""
    with tempfile.TemporaryDirectory(prefix="agent-os-bench-replicas-") as tmp:
        root = Path(tmp)
        location = db or str(root / ".agent-os" / "agent_os.db")
        engine = open_engine(root, location)
        with GitHubStandIn(webhook_secret=SECRET) as gh:
            prepare_project(root, engine, gh)
            cluster = Cluster(root, location, gh, lease_seconds=10.0)
            try:
                cluster.start(replicas)
                gh.set_webhook(cluster.replicas[0].url + "/webhooks/github", SECRET)
                time.sleep(settle)  # let the replicas load the embedding model first
                pulls = gated_pull_requests(engine, gh, prs)
                if not wait_for(lambda: quiet(engine.store.db), 120):
                    raise SystemExit("the pull requests' opening deliveries were not handled")
                burst = make_burst(gh, pulls, per_pr)
                t0 = time.perf_counter()
                timing = send_burst(cluster, burst)
                if not wait_for(lambda: quiet(engine.store.db), 600, 0.01):
                    raise SystemExit("the burst was not handled within 10 minutes")
                seconds = time.perf_counter() - t0
            finally:
                cluster.stop()
        engine.close()
    return {"deliveries": burst.total, "seconds": round(seconds, 2), "per_s": round(burst.total / seconds, 1),
            "post_seconds": round(timing["post_seconds"], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=int, default=20, help="gated pull requests")
    parser.add_argument("--per-pr", type=int, default=25, help="review deliveries per pull request")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds to let the replicas load the embedding model before measuring")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    server = start_server()
    try:
        results = {
            "sqlite, 1 replica": run(None, 1, args.prs, args.per_pr, args.settle),
            "postgresql, 1 replica": run(server.create_database("bench1"), 1, args.prs, args.per_pr, args.settle),
            "postgresql, 2 replicas": run(server.create_database("bench2"), 2, args.prs, args.per_pr, args.settle),
        }
    finally:
        server.stop()
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}, indent=2))
        return 0
    print(f"Replica benchmark ({machine()}): {args.prs} gated PRs x {args.per_pr} review deliveries, "
          "4 senders, `agent-os serve` replicas")
    for name, r in results.items():
        print(f"  {name:24} {r['per_s']:7.1f} deliveries/s   ({r['deliveries']} in {r['seconds']} s; "
              f"POSTs alone {r['post_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
