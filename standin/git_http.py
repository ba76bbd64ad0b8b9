"""Git over smart HTTP: `git clone/fetch/push {stand-in URL}/{owner}/{repo}.git`.

Each request runs `git http-backend` (git's own CGI program) on the repository's bare directory.
No credentials are asked for (the stand-in listens on loopback); a basic-auth user name, when
the client sends one, is taken as the pusher. After a push, branches that moved are handed to
`GitHubStandIn.pushed`, which moves the heads of open pull requests and sends `synchronize`
before `git push` returns.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from standin.api import Auth
from standin.git import GIT_ENV

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn
    from standin.state import Repo

SERVICES = ("git-upload-pack", "git-receive-pack")


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add the smart-HTTP routes to the stand-in's app."""

    @app.api_route("/{owner}/{name}.git/{rest:path}", methods=["GET", "POST"])
    async def smart_http(request: Request, owner: str, name: str, rest: str) -> Response:
        repo = gh.state.repos.get(f"{owner}/{name}")
        service = request.query_params.get("service") if rest == "info/refs" else rest
        if repo is None or service not in SERVICES:
            return PlainTextResponse("Repository not found.\n", status_code=404)
        if (request.method == "GET") != (rest == "info/refs"):
            return PlainTextResponse("Method not allowed.\n", status_code=405)
        body = await request.body()
        pusher = _basic_user(request.headers.get("authorization", ""))
        pushing = rest == "git-receive-pack"
        status, headers, out, updates = await asyncio.to_thread(
            _run_backend, gh, repo, request, rest, body, pushing
        )
        if updates:
            await asyncio.to_thread(gh.pushed, repo.full_name, updates, pusher)
        return Response(out, status_code=status, headers=headers)


def _run_backend(
    gh: GitHubStandIn, repo: Repo, request: Request, rest: str, body: bytes, pushing: bool
) -> tuple[int, dict[str, str], bytes, dict[str, tuple[str | None, str | None]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_ENV)
    env.update(
        GIT_PROJECT_ROOT=str(gh.data_dir),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{repo.owner}/{repo.name}.git/{rest}",
        REQUEST_METHOD=request.method,
        QUERY_STRING=request.url.query,
        CONTENT_TYPE=request.headers.get("content-type", ""),
        CONTENT_LENGTH=str(len(body)),
        REMOTE_ADDR=request.client.host if request.client else "127.0.0.1",
        REMOTE_USER=_basic_user(request.headers.get("authorization", "")) or "anonymous",
        GIT_PROTOCOL=request.headers.get("git-protocol", ""),
        HTTP_CONTENT_ENCODING=request.headers.get("content-encoding", ""),
    )
    # One push at a time per repository, so "branches before / after" belong to this push.
    with repo.git.lock:
        before = repo.git.branches() if pushing else {}
        result = subprocess.run(
            ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
        )
        if pushing:
            repo.git.refs_changed()
        after = repo.git.branches() if pushing else {}
    status, headers, out = _parse_cgi(result.stdout)
    if result.returncode != 0 and status == 200:
        status = 500
        out = result.stderr
    updates = {
        branch: (before.get(branch), after.get(branch))
        for branch in set(before) | set(after)
        if before.get(branch) != after.get(branch)
    }
    return status, headers, out, updates


def _parse_cgi(output: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split a CGI answer into status, headers and body."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in output:
            head, _, body = output.partition(sep)
            break
    else:
        return 500, {}, output
    status, headers = 200, {}
    for line in head.decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    return status, headers, body


def _basic_user(header: str) -> str | None:
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user = base64.b64decode(credential).decode().partition(":")[0]
    except (ValueError, UnicodeDecodeError):
        return None
    # GitHub's token convention: the user name is a placeholder, not a person.
    return None if user in ("", "x-access-token", "git", "token") else user
