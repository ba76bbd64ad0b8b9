"""Issue comments, teams, collaborators and pull requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from standin.api import DOCS, MAX_TEXT, Auth, GitHubError, page
from standin.state import IssueComment, Repo, now

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add these routes to the stand-in's app."""
    state = gh.state
    require_token, json_body = auth.require_token, auth.json_body
    require_installation = auth.require_installation

    # -- issue comments -------------------------------------------------------------------
    @app.post("/repos/{owner}/{repo}/issues/{number}/comments")
    async def create_comment(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        text = _comment_body(await json_body(request))
        with state.lock:
            if (found.full_name, number) not in state.pulls:
                raise GitHubError(404, "Not Found")
            comment = IssueComment(
                id=state.next_id(),
                repo=found.full_name,
                number=number,
                user=gh.app.bot_login,
                body=text,
            )
            state.comments[comment.id] = comment
            return JSONResponse(gh.renderer.issue_comment(comment), status_code=201)

    @app.patch("/repos/{owner}/{repo}/issues/comments/{comment_id}")
    async def update_comment(
        request: Request, owner: str, repo: str, comment_id: int
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        text = _comment_body(await json_body(request))
        with state.lock:
            comment = state.comments.get(comment_id)
            if comment is None or comment.repo != found.full_name:
                raise GitHubError(404, "Not Found")
            comment.body = text
            comment.updated_at = now()
            return JSONResponse(gh.renderer.issue_comment(comment))

    @app.get("/repos/{owner}/{repo}/issues/{number}/comments")
    async def list_comments(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            if (found.full_name, number) not in state.pulls:
                raise GitHubError(404, "Not Found")
            items = [
                c
                for c in sorted(state.comments.values(), key=lambda c: c.id)
                if (c.repo, c.number) == (found.full_name, number)
            ]
            chunk, headers = page(request, items)
            return JSONResponse([gh.renderer.issue_comment(c) for c in chunk], headers=headers)

    # -- teams ------------------------------------------------------------------------------
    # https://docs.github.com/en/rest/teams/members#list-team-members
    @app.get("/orgs/{org}/teams/{team_slug}/members")
    async def list_team_members(request: Request, org: str, team_slug: str) -> JSONResponse:
        require_installation(request)
        with state.lock:
            members = state.teams.get(f"{org}/{team_slug}".lower())
            if members is None:
                raise GitHubError(404, "Not Found", docs=f"{DOCS}/teams/members#list-team-members")
            items = [gh.renderer.user(login) for login in members]
        chunk, headers = page(request, items)
        return JSONResponse(chunk, headers=headers)

    # -- collaborators, contents ----------------------------------------------------------
    @app.get("/repos/{owner}/{repo}/collaborators/{username}/permission")
    async def collaborator_permission(
        request: Request, owner: str, repo: str, username: str
    ) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            return JSONResponse(gh.renderer.collaborator_permission(found, username))

    # -- pull requests --------------------------------------------------------------------
    def find_pull(found: Repo, number: int):
        pr = state.pulls.get((found.full_name, number))
        if pr is None:
            raise GitHubError(404, "Not Found")
        return pr

    @app.get("/repos/{owner}/{repo}/pulls/{number}")
    async def get_pull(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            return JSONResponse(gh.renderer.pull(find_pull(found, number)))

    @app.get("/repos/{owner}/{repo}/pulls/{number}/files")
    async def list_pull_files(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            files = gh.renderer.pull_files(find_pull(found, number))
        chunk, headers = page(request, files)
        return JSONResponse(chunk, headers=headers)

    @app.get("/repos/{owner}/{repo}/pulls/{number}/reviews")
    async def list_reviews(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
        found = require_token(request, owner, repo)
        with state.lock:
            find_pull(found, number)
            items = [
                r
                for r in sorted(state.reviews.values(), key=lambda r: r.id)
                if (r.repo, r.number) == (found.full_name, number)
            ]
            chunk, headers = page(request, items)
            return JSONResponse([gh.renderer.review(r) for r in chunk], headers=headers)


def _comment_body(body: dict) -> str:
    text = body.get("body")
    if not isinstance(text, str) or not text:
        raise GitHubError(
            422,
            "Validation Failed",
            [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
            docs=f"{DOCS}/issues/comments",
        )
    if len(text) > MAX_TEXT:
        raise GitHubError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "IssueComment",
                    "code": "custom",
                    "field": "data",
                    "message": "Body is too long (maximum is 65536 characters)",
                }
            ],
        )
    return text


