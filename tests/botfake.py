"""A recording fake of the bot's narrow GitHub interface (`bot.port.GitHubPort`), event
builders shaped like GitHub's payloads, and handlers wired to both over a real engine.

Handler unit tests run here, with no server: they set what GitHub would answer, deliver an
event, and read what the handlers decided (the engine's state, the writes they queued).
The stand-in tests (test_flow, test_outbox, ...) keep the end-to-end paths.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_os.engine import Engine
from agent_os.files import FileSource, Snapshot
from agent_os.project import Project, ProjectConfig, parse_config
from bot.events import Event
from bot.github import GitHubCallError
from bot.threads import ThreadState
from bot.handlers import Handlers
from bot.settings import Settings

REPO = "acme/webapp"
APP_ID = 4242
_ids = itertools.count(1000)


@dataclass
class RecordingGitHub:
    """`GitHubPort` answering from dicts; `calls` records every call in order."""

    files: dict[int, list[str]] = field(default_factory=dict)  # PR number -> changed paths
    config_yaml: str | None = "gates:\n  approvals: 1\n"  # the base branch's .agent-os/config.yaml
    teams: dict[str, list[str] | GitHubCallError] = field(default_factory=dict)  # "org/slug" -> members
    roles: dict[str, str] = field(default_factory=lambda: {"dev": "write", "rev": "write", "rev2": "write",
                                                            "reader": "read"})
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    review_list: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    threads: dict[int, list[ThreadState]] = field(default_factory=dict)  # PR number -> its review threads
    status_comments: set[tuple[str, int]] = field(default_factory=set)
    runs: dict[int, list[str]] = field(default_factory=dict)  # check run id -> sessions it shows
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    tree: FileSource | None = None  # what files_at answers (the harness: the project's working tree)

    notes: dict[int, list[str]] = field(default_factory=dict)
    ci_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # commit -> its check runs

    WRITES = ("sync_checks", "sync_unlinked", "update_status_comment", "reply", "recheck")

    def writes(self) -> list[tuple[Any, ...]]:
        """The writes queued so far, in order."""
        return [c for c in self.calls if c[0] in self.WRITES]

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == name]

    # reads
    def changed_files(self, repo: str, number: int) -> list[str]:
        self.calls.append(("changed_files", repo, number))
        return list(self.files.get(number, []))

    def config(self, repo: str, ref: str) -> ProjectConfig | None:
        self.calls.append(("config", repo, ref))
        return parse_config(self.config_yaml) if self.config_yaml is not None else None

    def team_members(self, repo: str, org: str, slug: str) -> list[str]:
        self.calls.append(("team_members", repo, org, slug))
        found = self.teams.get(f"{org}/{slug}")
        if found is None:
            raise GitHubCallError(f"GET /orgs/{org}/teams/{slug}/members: HTTP 404 Not Found", status_code=404)
        if isinstance(found, GitHubCallError):
            raise found
        return list(found)

    def permission(self, repo: str, login: str) -> dict[str, Any] | None:
        self.calls.append(("permission", repo, login))
        role = self.roles.get(login)
        if role is None:
            return None
        return {"permission": "write" if role == "maintain" else role, "role_name": role}

    def files_at(self, repo: str, sha: str) -> FileSource:
        self.calls.append(("files_at", repo, sha))
        return self.tree if self.tree is not None else Snapshot({})

    def check_runs_at(self, repo: str, sha: str) -> list[dict[str, Any]]:
        self.calls.append(("check_runs_at", repo, sha))
        return list(self.ci_runs.get(sha, []))

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        self.calls.append(("pull", repo, number))
        return self.pulls[number]

    def reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        self.calls.append(("reviews", repo, number))
        return list(self.review_list.get(number, []))

    def review_threads(self, repo: str, number: int) -> list[ThreadState]:
        self.calls.append(("review_threads", repo, number))
        return list(self.threads.get(number, []))

    # writes
    def sync_checks(self, repo: str, number: int) -> None:
        self.calls.append(("sync_checks", repo, number))

    def sync_unlinked(self, repo: str, number: int, head_sha: str, required_by: list[str]) -> None:
        self.calls.append(("sync_unlinked", repo, number, head_sha, tuple(required_by)))

    def update_status_comment(self, repo: str, number: int) -> None:
        self.calls.append(("update_status_comment", repo, number))
        self.status_comments.add((repo, number))

    def reply(self, repo: str, number: int, body: str, *, key: str) -> None:
        self.calls.append(("reply", repo, number, body, key))

    def recheck(self, repo: str, head_sha: str) -> None:
        self.calls.append(("recheck", repo, head_sha))

    def set_notes(self, repo: str, number: int, notes: list[str]) -> None:
        self.notes[number] = list(notes)

    # the bot's memory
    def has_status_comment(self, repo: str, number: int) -> bool:
        return (repo, number) in self.status_comments

    def check_run_sessions(self, check_run_id: int) -> list[str] | None:
        return self.runs.get(check_run_id)

    def remember_installation(self, repo: str, installation_id: int) -> None:
        self.calls.append(("remember_installation", repo, installation_id))


# --- events, shaped like GitHub's (only the fields the handlers read) ---------------------

def _envelope(action: str | None, sender: str, repo: str = REPO, sender_type: str = "User") -> dict[str, Any]:
    owner, name = repo.split("/")
    return {"action": action, "repository": {"full_name": repo, "name": name, "owner": {"login": owner}},
            "installation": {"id": 1}, "sender": {"login": sender, "type": sender_type}}


def event(name: str, payload: dict[str, Any]) -> Event:
    return Event(f"d-{next(_ids)}", name, payload)


def pull_json(number: int, *, body: str = "", head: str = "a" * 40, author: str = "dev",
              base: str = "main") -> dict[str, Any]:
    return {"number": number, "body": body, "user": {"login": author, "type": "User"},
            "head": {"ref": "feature", "sha": head}, "base": {"ref": base, "sha": "b" * 40}, "state": "open"}


def pr_event(action: str, number: int = 1, *, sender: str = "dev", **pull: Any) -> Event:
    return event("pull_request", {**_envelope(action, sender), "number": number,
                                  "pull_request": pull_json(number, **pull)})


def review_json(reviewer: str, state: str, *, commit_id: str = "a" * 40, user_type: str = "User") -> dict:
    return {"id": next(_ids), "state": state, "commit_id": commit_id, "user": {"login": reviewer, "type": user_type}}


def review_event(number: int, reviewer: str, state: str, *, action: str = "submitted", review: dict | None = None,
                 **kw: Any) -> Event:
    raw = review or review_json(reviewer, state, **kw)
    return event("pull_request_review", {**_envelope(action, reviewer), "review": raw,
                                         "pull_request": pull_json(number)})


def review_comment_json(user: str, path: str, line: int, body: str, *, in_reply_to: int | None = None) -> dict:
    cid = next(_ids)
    return {"id": cid, "path": path, "line": line, "body": body, "user": {"login": user, "type": "User"},
            "html_url": f"https://github.com/{REPO}/pull/1#discussion_r{cid}", "in_reply_to_id": in_reply_to}


def review_comment_event(number: int, comment: dict, *, action: str = "created") -> Event:
    return event("pull_request_review_comment", {**_envelope(action, comment["user"]["login"]),
                                                 "comment": comment, "pull_request": pull_json(number)})


def thread_event(number: int, thread_id: str, comments: list[dict], *, resolved: bool = True,
                 sender: str = "dev") -> Event:
    return event("pull_request_review_thread", {
        **_envelope("resolved" if resolved else "unresolved", sender),
        "thread": {"node_id": thread_id, "comments": comments}, "pull_request": pull_json(number)})


def comment_event(number: int, user: str, body: str, *, on_pull: bool = True, user_type: str = "User",
                  via_app: int | None = None) -> Event:
    comment = {"id": next(_ids), "body": body, "user": {"login": user, "type": user_type},
               "performed_via_github_app": {"id": via_app} if via_app else None}
    issue = {"number": number, "pull_request": {"url": "..."} if on_pull else None}
    return event("issue_comment", {**_envelope("created", user, sender_type=user_type), "issue": issue,
                                   "comment": comment})


def check_run_event(run_id: int, action: str = "rerequested", *, identifier: str | None = None,
                    external_id: str = "", app_id: int = APP_ID, sender: str = "rev") -> Event:
    payload = {**_envelope(action, sender), "check_run": {"id": run_id, "name": "Agent OS", "head_sha": "a" * 40,
                                                          "external_id": external_id, "app": {"id": app_id}}}
    if identifier is not None:
        payload["requested_action"] = {"identifier": identifier}
    return event("check_run", payload)


@dataclass
class Harness:
    """Handlers over a real engine (a fresh project) and a RecordingGitHub."""

    engine: Engine
    github: RecordingGitHub
    handlers: Handlers

    def deliver(self, ev: Event) -> str:
        return self.handlers.handle(ev)

    def start(self, target: str = "auth") -> str:
        return self.engine.start("spec_creation_v1", target).session.session_id


def harness(root: Path) -> Harness:
    engine = Engine.open(Project.open(root))
    github = RecordingGitHub(tree=engine.files)
    settings = Settings(app_id=APP_ID, webhook_secret="s", github_url="http://github.invalid")
    return Harness(engine, github, Handlers(engine, github, settings))
