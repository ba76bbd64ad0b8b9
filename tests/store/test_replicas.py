"""Two `agent-os serve` replicas on one PostgreSQL, one of them SIGKILLed mid-burst: every
delivery is handled once, in order per PR; nothing is created twice on GitHub; gates are right."""

from __future__ import annotations

import pytest

from replicakit import (
    REPO,
    SECRET,
    Cluster,
    diagnose,
    duplicate_writes,
    gated_pull_requests,
    handled_order,
    make_burst,
    open_engine,
    prepare_project,
    quiet,
    send_burst,
    wait_for,
)
from standin import GitHubStandIn

# Each replica loads the real embedding model (it warms the standards index at start).
pytestmark = [pytest.mark.model, pytest.mark.timeout(900)]


def test_two_replicas_one_killed_mid_burst_lose_and_double_nothing(postgres, tmp_path):
    db_url = postgres.create_database("replicas")
    root = tmp_path / "project"
    root.mkdir()
    engine = open_engine(root, db_url)
    with GitHubStandIn(webhook_secret=SECRET) as gh:
        prepare_project(root, engine, gh)
        cluster = Cluster(root, db_url, gh)
        try:
            cluster.start(2)
            gh.set_webhook(cluster.replicas[0].url + "/webhooks/github", SECRET)
            prs = gated_pull_requests(engine, gh, 20)
            db = engine.store.db
            assert wait_for(lambda: quiet(db), 60), diagnose(db, root)
            burst = make_burst(gh, prs, 25)
            assert burst.total == 500

            def kill_and_restart() -> None:
                cluster.kill(1)
                cluster.launch(1)  # comes back while the burst goes on

            send_burst(cluster, burst, kill_at=0.4, on_kill=kill_and_restart)
            cluster.wait_up(1)
            assert wait_for(lambda: quiet(db), 180), diagnose(db, root)
        finally:
            cluster.stop()

        ids = {d.id for ds in burst.per_pr.values() for d in ds}
        statuses = {r["delivery_id"]: r["status"] for r in db.query("SELECT delivery_id, status FROM bot_deliveries")}
        assert {i: statuses.get(i) for i in ids if statuses.get(i) != "done"} == {}
        assert duplicate_writes(gh) == {}
        order = handled_order(db)
        for number, deliveries in burst.per_pr.items():
            assert order[f"{REPO}#{number}"][-len(deliveries):] == [d.id for d in deliveries], f"PR {number}"
        for sid, pr in prs:
            check = gh.check_runs(REPO, pr.head_sha)["Agent OS"]
            state = engine.state(sid)
            if pr.number in burst.approved_by_reviewer:
                assert (check.conclusion, state.status) == ("success", "complete"), f"PR {pr.number}"
            else:  # approved by its own author only: the gate stays closed
                assert check.conclusion == "action_required" and state.phases[-1].state == "awaiting_approval"
    engine.close()
