"""Repository data read from git: the repository, contents, trees, blobs, commits, compare,
branches; pull requests listed and opened from pushed branches."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from standin.api import DOCS, Auth, GitHubError, page

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn
    from standin.state import Repo

_SHA = re.compile(r"^[0-9a-f]{40}$")


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add these routes to the stand-in's app."""
    require_token, json_body = auth.require_token, auth.json_body

    def commit_or_422(found: Repo, ref: str) -> str:
        sha = found.git.resolve(ref)
        if sha is None:
            raise GitHubError(422, f"No commit found for SHA: {ref}", docs=f"{DOCS}/commits")
        return sha

    @app.get("/repos/{owner}/{repo}")
    async def get_repo(request: Request, owner: str, repo: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        login = auth.require_installation(request).login
        with gh.state.lock:
            permissions = None if login is None else gh.state.permissions(found, login)
            return JSONResponse(gh.renderer.full_repo(found, permissions))

    @app.get("/repos/{owner}/{repo}/contents/{path:path}")
    @app.get("/repos/{owner}/{repo}/contents")
    async def get_contents(request: Request, owner: str, repo: str, path: str = "") -> JSONResponse:
        found = require_token(request, owner, repo)
        ref = request.query_params.get("ref") or None
        if ref is not None and found.git.resolve(ref) is None:
            raise GitHubError(404, f"No commit found for the ref {ref}")
        content = await asyncio.to_thread(gh.renderer.content, found, path, ref)
        if content is None:
            raise GitHubError(
                404, "Not Found", docs=f"{DOCS}/repos/contents#get-repository-content"
            )
        return JSONResponse(content)

    @app.get("/repos/{owner}/{repo}/git/trees/{tree_sha:path}")
    async def get_tree(request: Request, owner: str, repo: str, tree_sha: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        hit = found.git.resolve_object(tree_sha)
        if hit is None or hit[0] not in ("commit", "tree"):
            raise GitHubError(404, "Not Found", docs=f"{DOCS}/git/trees#get-a-tree")
        kind, sha = hit
        tree = found.git.commit_info(sha).tree if kind == "commit" else sha
        # GitHub recurses whenever the parameter is present, whatever its value.
        recursive = "recursive" in request.query_params
        entries = await asyncio.to_thread(found.git.tree, tree, recursive=recursive)
        return JSONResponse(gh.renderer.git_tree(found, tree, entries))

    @app.get("/repos/{owner}/{repo}/git/blobs/{file_sha}")
    async def get_blob(request: Request, owner: str, repo: str, file_sha: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        data = found.git.blob(file_sha) if _SHA.match(file_sha) else None
        if data is None:
            raise GitHubError(404, "Not Found", docs=f"{DOCS}/git/blobs#get-a-blob")
        return JSONResponse(gh.renderer.git_blob(found, file_sha, data))

    @app.get("/repos/{owner}/{repo}/commits/{ref:path}")
    async def get_commit(request: Request, owner: str, repo: str, ref: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        sha = commit_or_422(found, ref)
        return JSONResponse(await asyncio.to_thread(gh.renderer.commit, found, sha))

    @app.get("/repos/{owner}/{repo}/compare/{basehead:path}")
    async def compare(request: Request, owner: str, repo: str, basehead: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        base_ref, sep, head_ref = basehead.partition("...")
        if not sep or not base_ref or not head_ref:
            raise GitHubError(404, "Not Found", docs=f"{DOCS}/commits/commits#compare-two-commits")
        # `owner:branch` names a branch of this repository's network; only ours exists here.
        base_ref = base_ref.removeprefix(f"{owner}:")
        head_ref = head_ref.removeprefix(f"{owner}:")
        base, head = found.git.resolve(base_ref), found.git.resolve(head_ref)
        if base is None or head is None:
            raise GitHubError(404, "Not Found", docs=f"{DOCS}/commits/commits#compare-two-commits")
        data = await asyncio.to_thread(
            gh.renderer.comparison, found, base, head, base_ref, head_ref
        )
        return JSONResponse(data)

    @app.get("/repos/{owner}/{repo}/branches")
    async def list_branches(request: Request, owner: str, repo: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        items = [gh.renderer.branch_short(found, b, s) for b, s in sorted(found.branches.items())]
        chunk, headers = page(request, items)
        return JSONResponse(chunk, headers=headers)

    @app.get("/repos/{owner}/{repo}/pulls")
    async def list_pulls(request: Request, owner: str, repo: str) -> JSONResponse:
        found = require_token(request, owner, repo)
        params = request.query_params
        wanted = params.get("state", "open")
        with gh.state.lock:
            pulls = [
                pr for pr in gh.state.pulls.values()
                if pr.repo == found.full_name
                and (wanted == "all" or pr.state == wanted)
                and (not params.get("head") or params["head"] == f"{found.owner}:{pr.head_ref}")
                and (not params.get("base") or params["base"] == pr.base_ref)
            ]
            pulls.sort(key=lambda pr: pr.number, reverse=params.get("direction") != "asc")
            chunk, headers = page(request, pulls)
            return JSONResponse([gh.renderer.pull(pr) for pr in chunk], headers=headers)

    @app.post("/repos/{owner}/{repo}/pulls")
    async def create_pull(request: Request, owner: str, repo: str) -> JSONResponse:
        token = auth.require_installation(request)
        found = require_token(request, owner, repo)
        body = await json_body(request)
        head = str(body.get("head") or "").removeprefix(f"{owner}:")
        base = str(body.get("base") or found.default_branch)
        errors = []
        if not body.get("title"):
            errors.append({"resource": "PullRequest", "code": "missing_field", "field": "title"})
        branches = found.branches
        if head not in branches:
            errors.append({"resource": "PullRequest", "code": "invalid", "field": "head"})
        if base not in branches:
            errors.append({"resource": "PullRequest", "code": "invalid", "field": "base"})
        with gh.state.lock:
            if any(pr.repo == found.full_name and pr.head_ref == head and pr.state == "open"
                   for pr in gh.state.pulls.values()):
                errors.append({"resource": "PullRequest", "code": "custom",
                               "message": f"A pull request already exists for {owner}:{head}."})
        if errors:
            raise GitHubError(422, "Validation Failed", errors, docs=f"{DOCS}/pulls/pulls")
        author = token.login or gh.bot_login
        pr = await asyncio.to_thread(
            gh.open_pull_request, found.full_name, author=author, title=str(body["title"]),
            body=body.get("body"), head_ref=head, base_ref=base, draft=bool(body.get("draft")),
        )
        with gh.state.lock:
            return JSONResponse(gh.renderer.pull(pr), status_code=201)
