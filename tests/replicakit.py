"""Several `agent-os serve` replicas over one database, a GitHub stand-in, and a burst of
deliveries for gated pull requests split between the replicas.

Used by the replica test (tests/store/test_replicas.py) and the benchmark
(bench/bench_replicas.py); everything runs on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agent_os.db import Database
from agent_os.engine import Engine
from agent_os.project import Project
from agent_os.sql_store import SQLSessionStore
from standin.serving import free_port
from standin import GitHubStandIn

REPO = "acme/webapp"
SECRET = "replica-secret"
SUMMARY = {"summary": "Wrote the change and checked it against the spec, line by line."}
ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout: float = 120.0, step: float = 0.02) -> bool:
    """Poll until `predicate()` is truthy; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@dataclass
class Replica:
    """One `agent-os serve` process."""

    port: int
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False


@dataclass
class Cluster:
    """N replicas of the team server sharing `db` (a SQLite path or PostgreSQL URL)."""

    root: Path
    db: str
    gh: GitHubStandIn
    replicas: list[Replica] = field(default_factory=list)
    lease_seconds: float = 2.0

    def env(self) -> dict[str, str]:
        key = self.root / "app.pem"
        key.write_text(self.gh.private_key_pem)
        return {**os.environ, "AGENT_OS_APP_ID": str(self.gh.app.id), "AGENT_OS_PRIVATE_KEY": str(key),
                "AGENT_OS_WEBHOOK_SECRET": SECRET, "AGENT_OS_GITHUB_URL": self.gh.url, "AGENT_OS_DB": self.db,
                "AGENT_OS_LEASE_SECONDS": str(self.lease_seconds), "AGENT_OS_BACKOFF_BASE": "0.05",
                "AGENT_OS_BACKOFF_MAX": "0.5", "PYTHONPATH": os.pathsep.join(
                    [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    def start(self, n: int) -> None:
        """Start `n` replicas and wait until each answers /healthz."""
        self.replicas = [Replica(free_port()) for _ in range(n)]
        for i in range(n):
            self.launch(i)
        for i in range(n):
            self.wait_up(i)

    def launch(self, i: int) -> None:
        r = self.replicas[i]
        r.proc = subprocess.Popen(
            [sys.executable, "-m", "agent_os_cli", "serve", "--project", str(self.root), "--port", str(r.port)],
            env={**self.env(), "AGENT_OS_PUBLIC_URL": r.url}, stdout=subprocess.DEVNULL,
            stderr=open(self.root / f"replica{i}.log", "ab"))  # noqa: SIM115 - the child owns it

    def wait_up(self, i: int) -> None:
        if not wait_for(self.replicas[i].healthy, 90, 0.1):
            log = (self.root / f"replica{i}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"replica {i} did not start:\n{log}")

    def kill(self, i: int) -> None:
        """SIGKILL replica `i`: no clean-up, leases left behind."""
        proc = self.replicas[i].proc
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        for r in self.replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.proc.terminate()
        for r in self.replicas:
            if r.proc is not None:
                try:
                    r.proc.wait(10)
                except subprocess.TimeoutExpired:
                    r.proc.kill()


def open_engine(root: Path, db: str) -> Engine:
    """An engine in this process over the cluster's database (to set sessions up and read them)."""
    return Engine(Project.open(root, db=db), SQLSessionStore(Database.open(db)))


def gated_pull_requests(engine: Engine, gh: GitHubStandIn, n: int) -> list[tuple[str, object]]:
    """`n` sessions waiting at their gate, each with its PR opened (the PR-opened webhooks go
    to whichever replica the stand-in's webhook URL names)."""
    out = []
    for i in range(n):
        sid = engine.start("gated_v1", f"feature {i}", author="dev").session.session_id
        engine.complete_phase(sid, 0, SUMMARY)
        engine.complete_phase(sid, 1, SUMMARY)
        pr = gh.open_pull_request(REPO, author="dev", body=f"Agent-OS-Session: {sid}", head_ref=f"f{i}")
        out.append((sid, pr))
    return out


def prepare_project(root: Path, engine: Engine, gh: GitHubStandIn) -> None:
    """The gated workflow in the project, and the repository on the stand-in."""
    engine.create_workflow("gated_v1", "new_spec", ["Write", {"title": "Review", "gate": True}])
    gh.create_repo(REPO, files={".agent-os/config.yaml": "gates:\n  approvals: 1\n"},
                   collaborators={"dev": "write", "rev": "write"})


@dataclass
class Burst:
    """The deliveries of a burst, per PR in the order they must be handled."""

    per_pr: dict[int, list] = field(default_factory=dict)  # PR number -> [Delivery]
    approved_by_reviewer: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.per_pr.values())


def make_burst(gh: GitHubStandIn, prs: list, per_pr: int) -> Burst:
    """`per_pr` review deliveries for each PR: comments, and one approval in the middle, by a
    reviewer on even-numbered PRs (the gate opens) and by the author on odd ones (it must not)."""
    burst = Burst()
    for k, (_, pr) in enumerate(prs):
        approver = "rev" if k % 2 == 0 else "dev"
        if approver == "rev":
            burst.approved_by_reviewer.add(pr.number)
        items = []
        for j in range(per_pr):
            state, who = ("approved", approver) if j == per_pr // 2 else ("commented", "rev")
            gh.submit_review(REPO, pr.number, who, state, body=f"note {j}", send=False)
            items.append(gh.deliveries[-1])
        burst.per_pr[pr.number] = items
    return burst


def send_burst(cluster: Cluster, burst: Burst, *, senders: int = 4, kill_at: float | None = None,
               on_kill=None) -> dict[str, float]:
    """POST the burst, alternating replicas; each PR's deliveries one after another (as GitHub
    sends them), several PRs at once. A POST a replica cannot answer goes to the next replica,
    as a proxy would send it. With `kill_at` (a fraction), `on_kill()` runs once that share of
    the burst is sent. Returns timings."""
    numbers = sorted(burst.per_pr)
    groups = [numbers[i::senders] for i in range(senders)]
    sent = Counter()
    lock = threading.Lock()
    killed = threading.Event()
    errors: list[BaseException] = []

    def post(client: httpx.Client, d, start: int) -> None:
        for attempt in range(60):
            r = cluster.replicas[(start + attempt) % len(cluster.replicas)]
            try:
                response = client.post(r.url + "/webhooks/github", content=d.body, headers=d.headers)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code in (200, 202):
                return
            time.sleep(0.05)
        raise RuntimeError(f"no replica accepted delivery {d.id}")

    def sender(mine: list[int]) -> None:
        try:
            with httpx.Client(timeout=10) as client:
                queues = {n: list(burst.per_pr[n]) for n in mine}
                turn = 0
                while any(queues.values()):
                    for n in mine:
                        if queues[n]:
                            post(client, queues[n].pop(0), turn)
                            turn += 1
                            with lock:
                                sent["n"] += 1
                                due = kill_at is not None and sent["n"] >= kill_at * burst.total
                            if due and not killed.is_set():
                                killed.set()
                                on_kill()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(g,)) for g in groups if g]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return {"post_seconds": time.perf_counter() - t0, "t0": t0}


def processed(db: Database, ids: list[str]) -> int:
    """How many of `ids` are done."""
    return sum(1 for r in db.query("SELECT delivery_id, status FROM bot_deliveries")
               if r["status"] == "done" and r["delivery_id"] in ids)


def quiet(db: Database) -> bool:
    """Nothing received and not done, nothing waiting to be sent."""
    row = db.query_one("SELECT (SELECT count(*) FROM bot_deliveries WHERE status = 'received')"
                       " + (SELECT count(*) FROM bot_outbox WHERE status = 'pending') AS n")
    return row["n"] == 0


def duplicate_writes(gh: GitHubStandIn) -> dict[str, int]:
    """Creations the bot made more than once: check runs per (commit, name), comments per PR."""
    made = Counter()
    for req in gh.requests("POST"):
        if req.path.endswith("/check-runs") and req.status < 300:
            body = req.body if isinstance(req.body, dict) else {}
            made[f"check {body.get('head_sha')} {body.get('name')}"] += 1
        elif "/issues/" in req.path and req.path.endswith("/comments") and req.status < 300:
            made[f"comment {req.path}"] += 1
    return {k: v for k, v in made.items() if v > 1}


def handled_order(db: Database) -> dict[str, list[str]]:
    """Per PR, its deliveries in the order they were finished."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in db.query("SELECT pr_key, delivery_id FROM bot_deliveries WHERE pr_key IS NOT NULL"
                      " AND status = 'done' ORDER BY updated_at"):
        out[r["pr_key"]].append(r["delivery_id"])
    return out


def diagnose(db: Database, root: Path) -> str:
    """What is still open, and the end of each replica's log (for a failing run's message)."""
    lines = [f"deliveries {dict(Counter(r['status'] for r in db.query('SELECT status FROM bot_deliveries')))}"]
    for r in db.query("SELECT delivery_id, event, attempts, error, lease_owner, lease_until, next_attempt_at"
                      " FROM bot_deliveries WHERE status <> 'done' ORDER BY received_at LIMIT 8"):
        lines.append(f"  open delivery {dict(r)}")
    for r in db.query("SELECT idem_key, attempts, last_error, lease_owner, lease_until, next_attempt_at"
                      " FROM bot_outbox WHERE status = 'pending' ORDER BY id LIMIT 8"):
        lines.append(f"  pending write {dict(r)}")
    lines.append(f"  now {time.time()}")
    for log in sorted(root.glob("replica*.log")):
        lines.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
    return "\n".join(lines)
