"""Standards search benchmark: build and incremental index times, warm and cold query
latency, and retrieval quality (hit@3, MRR@10) of vector, keyword and hybrid search on the
labelled queries in bench/search_queries.yaml.

Run from the repository root:  python bench/bench_search.py [--json] [--rounds N]
The index is written into a temporary directory, never into the repository.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from common import percentile

from agent_os.project import Project
from agent_os.resources import shipped_standards_dir
from agent_os.standards import StandardsIndex, default_embedder

QUERIES = Path(__file__).with_name("search_queries.yaml")
MODES = ("vector", "keyword", "hybrid")


def load_queries(path: Path = QUERIES) -> list[dict]:
    """The labelled queries: each has `query` and `expected` (document paths)."""
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [q for q in items if isinstance(q, dict) and q.get("query") and q.get("expected")]


def quality(index: StandardsIndex, queries: list[dict], mode: str) -> dict[str, float]:
    """hit@3 and MRR@10 at document level: the rank of the first passage of an expected doc."""
    hits, rr = 0, 0.0
    misses: list[str] = []
    for q in queries:
        response = index.search(q["query"], n_results=10, mode=mode)
        expected = set(q["expected"])
        rank = next(
            (i for i, r in enumerate(response.results, start=1) if r.path in expected), None
        )
        if rank is not None and rank <= 3:
            hits += 1
        else:
            misses.append(q["query"])
        rr += 1.0 / rank if rank else 0.0
    n = len(queries)
    return {"hit@3": round(hits / n, 3), "mrr": round(rr / n, 3), "misses": misses}  # type: ignore[dict-item]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--rounds", type=int, default=0, help="warm queries (default: >= 200)")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh processes to time")
    parser.add_argument("--misses", action="store_true", help="list queries missed at 3")
    args = parser.parse_args()

    queries = load_queries()
    figures: dict[str, object] = {"queries": len(queries)}
    with tempfile.TemporaryDirectory(prefix="agent-os-bench-") as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "standards"
        shutil.copytree(shipped_standards_dir(), corpus)
        index_path = tmp / "index.db"
        project = Project.open(tmp, index=index_path, standards=[corpus])

        embedder = default_embedder()
        started = time.perf_counter()
        embedder.wait()
        figures["model_load_s"] = round(time.perf_counter() - started, 2)

        # A fresh project's build uses the shipped vector pack (standards/.vectors-*.npz);
        # time it, then time embedding every chunk, as a library without a pack would.
        packed = StandardsIndex.open(project, embedder, index_path=tmp / "packed.db")
        report = packed.sync()
        figures["build_with_pack_s"] = round(report.seconds, 3)
        packed.close()

        import agent_os.standards.index as index_module

        real_pack = index_module.load_pack
        index_module.load_pack = lambda *_: {}
        try:
            index = StandardsIndex.open(project, embedder)
            report = index.sync()
        finally:
            index_module.load_pack = real_pack
        figures["build"] = {
            "documents": report.documents,
            "chunks": report.chunks,
            "seconds": round(report.seconds, 2),
            "chunks_per_s": round(report.chunks / report.seconds, 1) if report.seconds else None,
        }

        # Incremental: one edited file, one section changed.
        target = corpus / "concurrency" / "race-conditions.md"
        target.write_text(
            target.read_text(encoding="utf-8")
            + "\n## Benchmark note\nAn extra paragraph so that exactly one file changes.\n",
            encoding="utf-8",
        )
        report = index.sync()
        figures["incremental"] = {
            "seconds": round(report.seconds, 3),
            "documents_updated": report.updated,
            "chunks_embedded": report.chunks_embedded,
            "chunks_reused": report.chunks_reused,
        }
        started = time.perf_counter()
        report = index.sync()
        figures["noop_sync_ms"] = round((time.perf_counter() - started) * 1000, 2)

        # Warm latency: the whole search call, query embedding and freshness check included.
        texts = [q["query"] for q in queries]
        rounds = args.rounds or max(200, len(texts) * 4)
        for text in texts[:10]:
            index.search(text)
        # Three passes per mode; the table shows the pass with the lowest p95 (like timeit's
        # best-of-N: other tenants of a shared VM add pauses that are not ours), the JSON all.
        latency: dict[str, dict[str, object]] = {}
        for mode in ("hybrid", "vector", "keyword"):
            passes = []
            for _ in range(3):
                times: list[float] = []
                for i in range(rounds):
                    t0 = time.perf_counter()
                    index.search(texts[i % len(texts)], mode=mode)
                    times.append((time.perf_counter() - t0) * 1000)
                passes.append(
                    {"p50_ms": round(percentile(times, 0.5), 2), "p95_ms": round(percentile(times, 0.95), 2)}
                )
            best = min(passes, key=lambda p: p["p95_ms"])
            latency[mode] = {"n": rounds, **best, "passes": passes}
        figures["warm"] = latency

        figures["quality"] = {mode: quality(index, queries, mode) for mode in MODES}
        index.close()

        # Cold: a fresh `agent-os search --json` process against the prebuilt index.
        exe = shutil.which("agent-os")
        cmd = [exe] if exe else [sys.executable, "-m", "agent_os_cli"]
        cold: list[float] = []
        for i in range(args.cold_runs):
            t0 = time.perf_counter()
            out = subprocess.run(
                [*cmd, "search", texts[i % len(texts)], "--json", "--index", str(index_path),
                 "--standards", str(corpus), "--project", str(tmp)],
                capture_output=True, text=True, check=False,
            )
            cold.append(time.perf_counter() - t0)
            if out.returncode != 0 or not json.loads(out.stdout).get("results"):
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
        figures["cold_s"] = {"median": round(statistics.median(cold), 2), "min": round(min(cold), 2)}

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print_table(figures, show_misses=args.misses)
    return 0


def print_table(f: dict, *, show_misses: bool) -> None:
    """The figures as a small plain-text report."""
    b, inc, warm, q = f["build"], f["incremental"], f["warm"], f["quality"]
    rows = [
        ("model load (s)", f["model_load_s"]),
        (
            "index build, embedding all (s)",
            f"{b['seconds']}  ({b['documents']} docs, {b['chunks']} chunks, {b['chunks_per_s']}/s)",
        ),
        ("index build, shipped pack (s)", f["build_with_pack_s"]),
        (
            "re-index after one edit (s)",
            f"{inc['seconds']}  ({inc['chunks_embedded']} embedded, {inc['chunks_reused']} reused)",
        ),
        ("no-op sync (ms)", f["noop_sync_ms"]),
    ]
    for mode, lat in warm.items():
        all_p95 = ", ".join(str(p["p95_ms"]) for p in lat["passes"])
        rows.append(
            (
                f"warm {mode} p50 / p95 (ms)",
                f"{lat['p50_ms']} / {lat['p95_ms']}  (n={lat['n']}, best of 3; p95s {all_p95})",
            )
        )
    rows.append(("cold: process start to result (s)", f"{f['cold_s']['median']} median, {f['cold_s']['min']} min"))
    width = max(len(k) for k, _ in rows)
    print("Standards search benchmark")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    print(f"\n  retrieval quality on {f['queries']} labelled queries")
    print(f"  {'mode':<8} {'hit@3':>6} {'MRR@10':>7}")
    for mode in MODES:
        print(f"  {mode:<8} {q[mode]['hit@3']:>6.3f} {q[mode]['mrr']:>7.3f}")
        if show_misses:
            for miss in q[mode]["misses"]:
                print(f"      miss: {miss}")


if __name__ == "__main__":
    sys.exit(main())
