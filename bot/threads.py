"""A pull request's review threads read through GitHub's GraphQL API, as webhook threads.

REST lists review comments but not whether their threads are resolved; GraphQL does
(`PullRequest.reviewThreads`). After downtime the bot reads them back and feeds each
thread to the same rule as the `pull_request_review_thread` webhook, in the webhook's own
shape (`events.Thread`: its node id and its first comment). Parsing is pure; the call is
`LiveGitHub.review_threads`.
https://docs.github.com/en/graphql/reference/objects#pullrequestreviewthread
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from .events import ReviewComment, Thread, User

QUERY = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        nodes {
          id isResolved isOutdated path line originalLine
          comments(first: 1) { nodes { databaseId author { login } body url } }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""
MAX_PAGES = 10  # 1,000 threads on one PR


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Author(_Model):
    login: str


class _Comment(_Model):
    databaseId: int | None = None  # noqa: N815 - GitHub's GraphQL names
    author: _Author | None = None
    body: str = ""
    url: str = ""


class _Comments(_Model):
    nodes: list[_Comment | None] = []


class _Thread(_Model):
    id: str
    isResolved: bool  # noqa: N815
    path: str = ""
    line: int | None = None
    originalLine: int | None = None  # noqa: N815
    comments: _Comments = _Comments()


class _PageInfo(_Model):
    hasNextPage: bool = False  # noqa: N815
    endCursor: str | None = None  # noqa: N815


class _Threads(_Model):
    nodes: list[_Thread | None] = []
    pageInfo: _PageInfo = _PageInfo()  # noqa: N815


@dataclass(frozen=True)
class ThreadState:
    """A review thread as the webhook would carry it, and whether it is resolved."""

    thread: Thread
    resolved: bool


def parse_page(data: dict) -> tuple[list[ThreadState], str | None]:
    """The threads of one answer to QUERY, and the cursor of the next page (None: last). Pure.

    A PR GitHub no longer finds (deleted, or the repository moved) has no threads."""
    pull = ((data.get("repository") or {}).get("pullRequest") or {})
    page = _Threads.model_validate(pull.get("reviewThreads") or {})
    states = []
    for node in page.nodes:
        if node is None:
            continue
        comments = [ReviewComment(id=c.databaseId, path=node.path, line=node.line, original_line=node.originalLine,
                                  body=c.body, user=User(login=c.author.login) if c.author else None, html_url=c.url)
                    for c in node.comments.nodes if c is not None and c.databaseId is not None]
        states.append(ThreadState(Thread(node_id=node.id, comments=comments), node.isResolved))
    return states, (page.pageInfo.endCursor if page.pageInfo.hasNextPage else None)
