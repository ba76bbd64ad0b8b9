"""GitHub App benchmark: webhook acknowledgement, sustained processing, approval to green check.

Run from the repository root:  python bench/bench_bot.py [--acks 1000] [--burst 300] [--approvals 15]
                               [--only ack|burst|approval|backlog] [--json]

The bot runs as the product runs it, `agent-os serve` in its own process (one uvicorn
worker, the SQLite store, githubkit over real HTTP); the local GitHub stand-in runs in
this process and plays GitHub. Measured:
  - acknowledgement latency: signed `ping` deliveries POSTed one after another; the time
    from sending to the 202 (the delivery is recorded durably before the answer);
  - sustained deliveries per second: a burst of review webhooks on a linked pull request
    (each recorded in the session, each change re-posting the PR's checks on the
    stand-in), sent by four concurrent senders, from the first POST until the store has processed them all;
  - approval to check: a reviewer's approval webhook sent for a session waiting at its
    gate, until the stand-in shows the overall `Agent OS` check as `success`;
  - ack under a backlog: review webhooks on linked pull requests (each one real work for
    the worker) POSTed by many concurrent senders at once (from a process of their own),
    while the worker drains them; the time from sending each to its 202, the server's CPU
    time per delivery, and the load average around it (the machine may be shared). The
    acknowledgement must not wait on the worker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from common import machine, percentile

from agent_os.engine import Engine
from agent_os.project import Project
from standin.serving import free_port
from bot.signatures import sign
from standin import GitHubStandIn

REPO = "acme/webapp"
SECRET = "bench-secret"
SUMMARY = {"summary": "Wrote the change and checked it against the spec, line by line."}


def wait_for(predicate, timeout: float = 120.0, step: float = 0.005) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def serve(root: Path, gh: GitHubStandIn, key: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "AGENT_OS_APP_ID": str(gh.app.id), "AGENT_OS_PRIVATE_KEY": str(key),
           "AGENT_OS_WEBHOOK_SECRET": SECRET, "AGENT_OS_GITHUB_URL": gh.url,
           "AGENT_OS_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    proc = subprocess.Popen([sys.executable, "-m", "agent_os_cli", "serve", "--project", str(root),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    if not wait_for(up, 60, 0.1):
        proc.kill()
        raise SystemExit("agent-os serve did not start")
    return proc


def done_count(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM bot_deliveries WHERE status = 'done'").fetchone()[0]
    finally:
        conn.close()


def gated_session(engine: Engine, gh: GitHubStandIn, n: int) -> tuple[str, object]:
    """A session whose last phase waits at its gate, and its PR, linked and checked."""
    sid = engine.start("gated_v1", f"feature {n}", author="dev").session.session_id
    engine.complete_phase(sid, 0, SUMMARY)
    engine.complete_phase(sid, 1, SUMMARY)
    pr = gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", head_ref=f"f{n}")
    return sid, pr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--acks", type=int, default=1000, help="ping deliveries for ack latency")
    parser.add_argument("--burst", type=int, default=300, help="review deliveries in the throughput burst")
    parser.add_argument("--approvals", type=int, default=15, help="gated sessions to approve")
    parser.add_argument("--backlog", type=int, default=500, help="review deliveries sent at once for ack-under-backlog")
    parser.add_argument("--senders", type=int, default=100, help="concurrent senders for ack-under-backlog")
    parser.add_argument("--settle", type=float, default=12.0,
                        help="seconds to let the server load the embedding model in the background "
                        "before measuring (its first seconds are busy with that, not with webhooks)")
    parser.add_argument("--only", choices=["ack", "burst", "approval", "backlog"], action="append",
                        help="measure only this (repeatable); default: everything")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    figures: dict[str, object] = {
        "machine": machine(),
    }
    with tempfile.TemporaryDirectory(prefix="agent-os-bench-bot-") as tmp_name:
        root = Path(tmp_name)
        engine = Engine.open(Project.open(root))
        engine.create_workflow("gated_v1", "new_spec", ["Write", {"title": "Review", "gate": True}])
        port = free_port()
        url = f"http://127.0.0.1:{port}/webhooks/github"
        with GitHubStandIn(webhook_secret=SECRET) as gh:
            gh.create_repo(REPO, files={".agent-os/config.yaml": "gates:\n  approvals: 1\n"},
                           collaborators={"dev": "write", "rev": "write"})
            key = root / "app.pem"
            key.write_text(gh.private_key_pem)
            gh.set_webhook(url, SECRET)
            server = serve(root, gh, key, port)
            time.sleep(args.settle)
            wanted = set(args.only or ["ack", "burst", "approval", "backlog"])
            try:
                with httpx.Client(timeout=30) as client:
                    if "ack" in wanted:
                        figures["ack_ms"] = ack_latency(client, url, args.acks)
                    if "burst" in wanted:
                        figures["burst"] = burst(client, url, engine, gh, root, args.burst)
                if "approval" in wanted:
                    figures["approval_to_check_ms"] = approval_to_check(engine, gh, args.approvals)
                if "backlog" in wanted:
                    figures["backlog_ack_ms"] = backlog_acks(url, engine, gh, root, args.backlog, args.senders,
                                                             server.pid)
            finally:
                server.terminate()
                server.wait(20)
        engine.close()

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"GitHub App benchmark ({figures['machine']}); bot = `agent-os serve`, one process")
    if a := figures.get("ack_ms"):
        print(f"  webhook ack (202), {a['n']} pings     p50 {a['p50']} ms   p99 {a['p99']} ms   max {a['max']} ms")
    if b := figures.get("burst"):
        print(f"  sustained processing, {b['n']} reviews  {b['per_s']} deliveries/s  "
              f"({b['seconds']} s; the POSTs alone took {b['post_seconds']} s)")
    if c := figures.get("approval_to_check_ms"):
        print(f"  approval webhook -> 'Agent OS' success on the stand-in, {c['n']} gates   "
              f"p50 {c['p50']} ms   p95 {c['p95']} ms")
    if d := figures.get("backlog_ack_ms"):
        print(f"  webhook ack under a backlog, {d['n']} reviews from {d['senders']} senders at once   "
              f"p50 {d['p50']} ms   p99 {d['p99']} ms   max {d['max']} ms   (drained in {d['drain_s']} s; "
              f"server CPU {d['server_cpu_ms_per_delivery']} ms a delivery; load {d['load_before']} before, "
              f"{d['load_after']} after)")
    return 0


def ack_latency(client: httpx.Client, url: str, n: int) -> dict[str, float]:
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1}).encode()
    headers = {"X-Hub-Signature-256": sign(SECRET, body), "X-GitHub-Event": "ping",
               "Content-Type": "application/json"}
    times = []
    for _ in range(20):  # warm the connection
        client.post(url, content=body, headers={**headers, "X-GitHub-Delivery": str(uuid.uuid4())})
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.post(url, content=body, headers={**headers, "X-GitHub-Delivery": str(uuid.uuid4())})
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 202, response.text
    return {"n": n, "p50": round(statistics.median(times), 2), "p99": round(percentile(times, 0.99), 2),
            "max": round(max(times), 2)}


def burst(client: httpx.Client, url: str, engine: Engine, gh: GitHubStandIn, root: Path,
          n: int) -> dict[str, float]:
    db = root / ".agent-os" / "agent_os.db"
    sid = engine.start("gated_v1", "burst", author="dev").session.session_id
    pr = gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", head_ref="burst")
    wait_for(lambda: "Agent OS" in gh.check_runs(REPO, pr.head_sha))
    deliveries = []
    for i in range(n):
        gh.submit_review(REPO, pr.number, "rev", "commented", body=f"note {i}", send=False)
        deliveries.append(gh.deliveries[-1])
    before = done_count(db)
    t0 = time.perf_counter()
    # Four senders at once, as GitHub delivers concurrently; one sender would be the bottleneck.
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda d: client.post(url, content=d.body, headers=d.headers).status_code,
                              deliveries))
    assert set(codes) == {202}, set(codes)
    posted = time.perf_counter() - t0
    wait_for(lambda: done_count(db) >= before + n, step=0.01)
    seconds = time.perf_counter() - t0
    return {"n": n, "seconds": round(seconds, 2), "post_seconds": round(posted, 2),
            "per_s": round(n / seconds, 1)}


def backlog_acks(url: str, engine: Engine, gh: GitHubStandIn, root: Path, n: int, senders: int,
                 server_pid: int) -> dict:
    """`n` review webhooks on ten linked PRs, POSTed by `senders` concurrent senders at once;
    each one's time to its 202, and the server's CPU time per delivery (acknowledged and processed)."""
    db = root / ".agent-os" / "agent_os.db"
    prs = []
    for k in range(10):
        sid = engine.start("gated_v1", f"backlog {k}", author="dev").session.session_id
        prs.append(gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", head_ref=f"b{k}"))
    wait_for(lambda: all("Agent OS" in gh.check_runs(REPO, pr.head_sha) for pr in prs))
    host, port = url.split("//")[1].split("/")[0].split(":")
    requests = []
    for i in range(n):
        gh.submit_review(REPO, prs[i % len(prs)].number, "rev", "commented", body=f"note {i}", send=False)
        d = gh.deliveries[-1]
        head = "".join(f"{k}: {v}\r\n" for k, v in d.headers.items())
        requests.append((f"POST /webhooks/github HTTP/1.1\r\nHost: {host}\r\n{head}"
                         f"Content-Length: {len(d.body)}\r\n\r\n").encode() + d.body)
    before = done_count(db)
    load = os.getloadavg()[0]
    cpu0 = process_cpu(server_pid)
    # The senders run in a process of their own: in this one the stand-in answers the worker's
    # calls meanwhile, and would hold up the senders' clock instead of the server.
    with tempfile.NamedTemporaryFile(suffix=".pickle") as batch:
        pickle.dump({"host": host, "port": int(port), "senders": senders, "requests": requests}, batch)
        batch.flush()
        sent = subprocess.run([sys.executable, __file__, "--send-backlog", batch.name], capture_output=True,
                              text=True, check=True)
    result = json.loads(sent.stdout)
    times = result["times"]
    wait_for(lambda: done_count(db) >= before + n, step=0.01)
    drained = time.time() - result["started"]
    cpu = process_cpu(server_pid) - cpu0
    return {"n": n, "senders": senders, "p50": round(statistics.median(times), 1),
            "p99": round(percentile(times, 0.99), 1), "max": round(max(times), 1),
            "drain_s": round(drained, 1), "server_cpu_ms_per_delivery": round(cpu * 1000 / n, 2),
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_backlog(path: str) -> int:
    """The senders' side (their own process): each request POSTed over one of `senders`
    keep-alive connections as soon as that connection's previous answer came; prints each
    request's milliseconds to its 202 as JSON."""
    job = pickle.loads(Path(path).read_bytes())
    times: list[float] = []

    async def send_all() -> None:
        # Raw HTTP/1.1: httpx's async pool, at 100 connections, costs more than the server does.
        queue: asyncio.Queue = asyncio.Queue()
        for request in job["requests"]:
            queue.put_nowait(request)

        async def sender() -> None:
            reader, writer = await asyncio.open_connection(job["host"], job["port"])
            while not queue.empty():
                request = queue.get_nowait()
                t0 = time.perf_counter()
                writer.write(request)
                await writer.drain()
                answer = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in answer.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
                times.append((time.perf_counter() - t0) * 1000)
                assert answer.split()[1] == b"202", answer
            writer.close()

        await asyncio.gather(*(sender() for _ in range(job["senders"])))

    started = time.time()
    asyncio.run(send_all())
    print(json.dumps({"started": started, "times": times}))
    return 0


def approval_to_check(engine: Engine, gh: GitHubStandIn, n: int) -> dict[str, float]:
    times = []
    for i in range(n):
        _, pr = gated_session(engine, gh, i)
        runs = lambda: gh.check_runs(REPO, pr.head_sha)  # noqa: E731
        wait_for(lambda: runs().get("Agent OS") is not None and runs()["Agent OS"].conclusion == "action_required")
        t0 = time.perf_counter()
        gh.submit_review(REPO, pr.number, "rev", "approved")  # returns once the bot answered 202
        ok = wait_for(lambda: runs()["Agent OS"].conclusion == "success", step=0.002)
        if not ok:
            raise SystemExit(f"gate {i} never turned green")
        times.append((time.perf_counter() - t0) * 1000)
    return {"n": n, "p50": round(statistics.median(times), 1), "p95": round(percentile(times, 0.95), 1)}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--send-backlog":
        raise SystemExit(send_backlog(sys.argv[2]))
    raise SystemExit(main())
