"""GitHub stand-in benchmark: git push to webhook, and REST reads served from git.

Run from the repository root:  python bench/bench_standin.py [--pushes 20] [--reads 200] [--json]

The stand-in runs in this process; a real `git` client clones its repository over smart HTTP.
Measured:
  - push to synchronize: `git push` of one new commit to an open PR's branch, from starting
    the push until it returns (the stand-in has moved the PR head and delivered the signed
    `pull_request` `synchronize` by then; the receiver answers 202 at once);
  - REST reads (httpx, one after another, installation token): a file's contents, the
    commit's recursive tree, one blob, the commit with its files, a compare of main...branch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jwt

from common import machine, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from standin import GitHubStandIn  # noqa: E402

GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True,
                          capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    receiver = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(202)))
    files = {f"src/m{i}.py": f"x = {i}\n" * 20 for i in range(200)}
    with tempfile.TemporaryDirectory() as tmp, GitHubStandIn(
        webhook_url="http://bot.test/webhooks/github", webhook_client=receiver
    ) as gh:
        gh.create_repo("octo/app", files={"README.md": "# app\n", **files})
        clone = Path(tmp) / "clone"
        git(Path(tmp), "clone", "--quiet", gh.clone_url("octo/app"), str(clone))
        git(clone, "checkout", "--quiet", "-b", "spec")
        (clone / "spec.md").write_text("0\n")
        git(clone, "add", "-A")
        git(clone, "commit", "--quiet", "-m", "spec")
        git(clone, "push", "--quiet", "origin", "spec")
        pr = gh.open_pull_request("octo/app", author="dev", head_ref="spec")

        pushes = []
        for n in range(args.pushes):
            (clone / "spec.md").write_text(f"{n + 1}\n")
            git(clone, "commit", "--quiet", "-am", f"edit {n}")
            started = time.perf_counter()
            git(clone, "push", "--quiet", "origin", "spec")
            pushes.append((time.perf_counter() - started) * 1000)
            assert gh.last_delivery.payload["after"] == gh.pull("octo/app", pr.number).head_sha

        now = int(time.time())
        token_jwt = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(gh.app.id)},
                               gh.private_key_pem, algorithm="RS256")
        token = httpx.post(f"{gh.url}/app/installations/1/access_tokens",
                           headers={"Authorization": f"Bearer {token_jwt}"}).json()["token"]
        head = gh.pull("octo/app", pr.number).head_sha
        blob = git(clone, "rev-parse", "HEAD:spec.md")
        paths = {
            "contents": f"/repos/octo/app/contents/src/m7.py?ref={head}",
            "tree (recursive, 203 entries)": f"/repos/octo/app/git/trees/{head}?recursive=1",
            "blob": f"/repos/octo/app/git/blobs/{blob}",
            "commit": f"/repos/octo/app/commits/{head}",
            "compare": "/repos/octo/app/compare/main...spec",
        }
        reads: dict[str, list[float]] = {}
        with httpx.Client(base_url=gh.url, headers={"Authorization": f"token {token}"}) as client:
            for name, path in paths.items():
                times = []
                for _ in range(args.reads):
                    started = time.perf_counter()
                    assert client.get(path).status_code == 200
                    times.append((time.perf_counter() - started) * 1000)
                reads[name] = times

    result = {
        "machine": machine(),
        "push_to_synchronize_ms": {"p50": percentile(pushes, 0.5), "p95": percentile(pushes, 0.95)},
        "reads_ms": {k: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95)}
                     for k, v in reads.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"GitHub stand-in on {result['machine']}")
    p = result["push_to_synchronize_ms"]
    print(f"  git push -> synchronize delivered: p50 {p['p50']:.1f} ms, p95 {p['p95']:.1f} ms "
          f"({args.pushes} pushes)")
    for name, q in result["reads_ms"].items():
        print(f"  GET {name}: p50 {q['p50']:.1f} ms, p95 {q['p95']:.1f} ms ({args.reads} reads)")


if __name__ == "__main__":
    main()
