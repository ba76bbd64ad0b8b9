"""`POST /graphql`: the part of GitHub's GraphQL API the bot reads (a PR's review threads).

REST has no thread state, so the bot reads whether review threads are resolved through
GraphQL. This answers queries made of the types below, with GitHub's field names, argument
rules and error shapes (https://docs.github.com/graphql; the schema is GitHub's public
`schema.docs.graphql`). A field outside them is answered as GitHub answers a field that
does not exist (`undefinedField`), so a query this stand-in cannot answer fails loudly
instead of returning less than GitHub would. Fragments, directives and mutations are not
supported (a parse error). The stand-in tracks no diff positions: no thread is outdated.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from standin.api import Auth, GitHubError

if TYPE_CHECKING:
    from standin.stand_in import GitHubStandIn

DOCS = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
_PAGED = {"first", "after", "last", "before"}
# type -> field -> (object type it returns or None for a scalar, arguments it accepts)
SCHEMA: dict[str, dict[str, tuple[str | None, set[str]]]] = {
    "Query": {"repository": ("Repository", {"owner", "name", "followRenames"})},
    "Repository": {"id": (None, set()), "name": (None, set()), "nameWithOwner": (None, set()),
                   "pullRequest": ("PullRequest", {"number"})},
    "PullRequest": {"id": (None, set()), "number": (None, set()),
                    "reviewThreads": ("PullRequestReviewThreadConnection", _PAGED)},
    "PullRequestReviewThreadConnection": {"nodes": ("PullRequestReviewThread", set()),
                                          "pageInfo": ("PageInfo", set()), "totalCount": (None, set())},
    "PullRequestReviewThread": {"id": (None, set()), "isResolved": (None, set()), "isOutdated": (None, set()),
                                "path": (None, set()), "line": (None, set()), "originalLine": (None, set()),
                                "comments": ("PullRequestReviewCommentConnection", _PAGED)},
    "PullRequestReviewCommentConnection": {"nodes": ("PullRequestReviewComment", set()),
                                           "pageInfo": ("PageInfo", set()), "totalCount": (None, set())},
    "PullRequestReviewComment": {"id": (None, set()), "databaseId": (None, set()), "body": (None, set()),
                                 "url": (None, set()), "path": (None, set()), "author": ("Actor", set())},
    "Actor": {"login": (None, set())},
    "PageInfo": {"hasNextPage": (None, set()), "hasPreviousPage": (None, set()),
                 "endCursor": (None, set()), "startCursor": (None, set())},
}
SCALAR_TYPES = {"id": "ID", "isResolved": "Boolean", "isOutdated": "Boolean", "line": "Int", "number": "Int",
                "databaseId": "Int", "totalCount": "Int", "hasNextPage": "Boolean", "hasPreviousPage": "Boolean"}
_TOKEN = re.compile(r'\s+|,|#[^\n]*|(?P<p>[{}():!$\[\]=])|(?P<n>[_A-Za-z][_0-9A-Za-z]*)|(?P<i>-?\d+)'
                    r'|(?P<s>"(?:[^"\\]|\\.)*")|(?P<x>\.\.\.|@|.)')


class GraphQLError(Exception):
    """One error as GitHub reports it in `errors` (with no `data`: the query was refused)."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.body = {"message": message, **extra}


@dataclass
class Field:
    name: str
    alias: str
    args: dict[str, Any]
    line: int
    column: int
    selections: list[Field] | None = None
    path: list[str] = field(default_factory=list)


class _Parser:
    """Queries (named or not, with variables) of fields, arguments and selection sets."""

    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        self.tokens: list[tuple[str, str, int, int]] = []
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind:
                line = text.count("\n", 0, m.start()) + 1
                self.tokens.append((kind, m.group(), line, m.start() - text.rfind("\n", 0, m.start())))
        self.tokens.append(("end", "", 0, 0))
        self.pos, self.variables, self.declared = 0, variables, set()

    def peek(self) -> tuple[str, str, int, int]:
        return self.tokens[self.pos]

    def take(self, value: str | None = None, kind: str | None = None) -> tuple[str, str, int, int]:
        token = self.peek()
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind) \
                or token[0] in ("x", "end"):
            shown = "end of file" if token[0] == "end" else f'"{token[1]}"'
            raise GraphQLError(f"Parse error on {shown} at [{token[2]}, {token[3]}]",
                               locations=[{"line": token[2], "column": token[3]}])
        self.pos += 1
        return token

    def document(self) -> list[Field]:
        if self.peek()[1] == "query":
            self.take()
            if self.peek()[0] == "n":
                self.take()
            if self.peek()[1] == "(":
                self.take("(")
                while self.peek()[1] != ")":
                    self.take("$")
                    self.declared.add(self.take(kind="n")[1])
                    self.take(":")
                    self._type()
                    if self.peek()[1] == "=":
                        self.take("=")
                        self.value()
                self.take(")")
        selections = self.selection_set([])
        self.take(kind="end") if self.peek()[0] != "end" else None
        return selections

    def _type(self) -> None:
        if self.peek()[1] == "[":
            self.take("[")
            self._type()
            self.take("]")
        else:
            self.take(kind="n")
        if self.peek()[1] == "!":
            self.take("!")

    def selection_set(self, path: list[str]) -> list[Field]:
        self.take("{")
        fields = []
        while self.peek()[1] != "}":
            _, name, line, column = self.take(kind="n")
            alias = name
            if self.peek()[1] == ":":
                self.take(":")
                name = self.take(kind="n")[1]
            args: dict[str, Any] = {}
            if self.peek()[1] == "(":
                self.take("(")
                while self.peek()[1] != ")":
                    arg = self.take(kind="n")[1]
                    self.take(":")
                    args[arg] = self.value()
                self.take(")")
            f = Field(name, alias, args, line, column, path=[*path, alias])
            if self.peek()[1] == "{":
                f.selections = self.selection_set(f.path)
            fields.append(f)
        self.take("}")
        return fields

    def value(self) -> Any:
        kind, text, line, column = self.peek()
        if text == "$":
            self.take("$")
            name = self.take(kind="n")[1]
            if name not in self.declared:
                raise GraphQLError(f"Variable ${name} is used but not declared",
                                   locations=[{"line": line, "column": column}],
                                   extensions={"code": "variableNotDefined", "variableName": name})
            return self.variables.get(name)
        self.take()
        if kind == "i":
            return int(text)
        if kind == "s":
            return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return {"true": True, "false": False, "null": None}.get(text, text)


def validate(fields: list[Field], type_name: str = "Query") -> list[dict]:
    """GitHub's static checks: fields exist, arguments are accepted, objects have selections."""
    errors = []
    for f in fields:
        where = {"locations": [{"line": f.line, "column": f.column}], "path": ["query", *f.path]}
        if f.name == "__typename":
            continue
        spec = SCHEMA[type_name].get(f.name)
        if spec is None:
            errors.append({**where, "extensions": {"code": "undefinedField", "typeName": type_name,
                                                   "fieldName": f.name},
                           "message": f"Field '{f.name}' doesn't exist on type '{type_name}'"})
            continue
        returns, accepted = spec
        for arg in f.args:
            if arg not in accepted:
                errors.append({**where, "extensions": {"code": "argumentNotAccepted", "name": f.name,
                                                       "typeName": "Field", "argumentName": arg},
                               "message": f"Field '{f.name}' doesn't accept argument '{arg}'"})
        if returns and f.selections is None:
            errors.append({**where, "extensions": {"code": "selectionMismatch", "nodeName": f"field '{f.name}'",
                                                   "typeName": returns},
                           "message": f"Field must have selections (field '{f.name}' returns {returns} but has no "
                                      f"selections. Did you mean '{f.name} {{ ... }}'?)"})
        elif returns:
            errors += validate(f.selections or [], returns)
        elif f.selections is not None:
            scalar = SCALAR_TYPES.get(f.name, "String")
            errors.append({**where, "extensions": {"code": "selectionMismatch", "nodeName": f"field '{f.name}'",
                                                   "typeName": scalar},
                           "message": f"Selections can't be made on scalars (field '{f.name}' returns {scalar} "
                                      f"but has selections [{', '.join(s.name for s in f.selections)}])"})
    return errors


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index(cursor: Any) -> int:
    try:
        return int(base64.b64decode(str(cursor)).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        return -1


@dataclass
class _Page:
    items: list[Any]
    total: int
    start: int
    has_next: bool
    has_previous: bool


class _Executor:
    """Resolves validated fields against the stand-in's state, as the holder of `token` sees it."""

    def __init__(self, gh: GitHubStandIn, token: Any) -> None:
        self.gh, self.state, self.token = gh, gh.state, token
        self.errors: list[dict] = []

    def select(self, type_name: str, obj: Any, fields: list[Field]) -> dict:
        out: dict[str, Any] = {}
        for f in fields:
            if f.name == "__typename":
                out[f.alias] = type_name
                continue
            returns = SCHEMA[type_name][f.name][0]
            value = self.resolve(type_name, obj, f)
            if returns is None or value is None:
                out[f.alias] = value
            elif isinstance(value, list):
                out[f.alias] = [self.select(returns, v, f.selections or []) for v in value]
            else:
                out[f.alias] = self.select(returns, value, f.selections or [])
        return out

    def _error(self, f: Field, kind: str, message: str) -> None:
        self.errors.append({"type": kind, "path": f.path, "locations": [{"line": f.line, "column": f.column}],
                            "message": message})

    def _page(self, f: Field, items: list[Any], name: str) -> _Page | None:
        first, last = f.args.get("first"), f.args.get("last")
        if first is None and last is None:
            self._error(f, "MISSING_PAGINATION_BOUNDARIES", f"You must provide a `first` or `last` value to "
                        f"properly paginate the `{name}` connection.")
            return None
        for arg, n in (("first", first), ("last", last)):
            if n is not None and (not isinstance(n, int) or n > 100 or n < 0):
                self._error(f, "EXCESSIVE_PAGINATION", f"Requesting {n} records on the `{name}` connection "
                            f"exceeds the `{arg}` limit of 100 records.")
                return None
        start = _index(f.args["after"]) + 1 if f.args.get("after") else 0
        end = _index(f.args["before"]) if f.args.get("before") else len(items)
        start, end = max(0, start), max(0, min(end, len(items)))
        if first is not None:
            end = min(end, start + first)
        if last is not None:
            start = max(start, end - last)
        return _Page(items[start:end], len(items), start, end < len(items), start > 0)

    def resolve(self, type_name: str, obj: Any, f: Field) -> Any:
        a, state = f.args, self.state
        if type_name == "Query":
            name = f"{a.get('owner')}/{a.get('name')}"
            repo = next((r for k, r in state.repos.items() if k.lower() == name.lower()), None)
            visible = repo is not None and (state.role(repo, self.token.login) != "none" if self.token.login
                                            else repo.installation_id == self.token.installation_id)
            if not visible:
                self._error(f, "NOT_FOUND", f"Could not resolve to a Repository with the name '{name}'.")
                return None
            return repo
        if type_name == "Repository":
            if f.name == "pullRequest":
                pr = state.pulls.get((obj.full_name, a.get("number")))
                if pr is None:
                    self._error(f, "NOT_FOUND", f"Could not resolve to a PullRequest with the number of "
                                f"{a.get('number')}.")
                return pr
            return {"id": f"R_standin{obj.id}", "name": obj.name, "nameWithOwner": obj.full_name}[f.name]
        if type_name == "PullRequest":
            if f.name == "reviewThreads":
                threads = [t for t in state.threads.values() if (t.repo, t.number) == (obj.repo, obj.number)]
                return self._page(f, threads, "reviewThreads")
            return {"id": f"PR_standin{obj.number}", "number": obj.number}[f.name]
        if type_name.endswith("Connection"):
            return {"nodes": obj.items, "pageInfo": obj, "totalCount": obj.total}[f.name]
        if type_name == "PageInfo":
            return {"hasNextPage": obj.has_next, "hasPreviousPage": obj.has_previous,
                    "startCursor": _cursor(obj.start) if obj.items else None,
                    "endCursor": _cursor(obj.start + len(obj.items) - 1) if obj.items else None}[f.name]
        if type_name == "PullRequestReviewThread":
            comments = [state.review_comments[i] for i in obj.comment_ids if i in state.review_comments]
            if f.name == "comments":
                return self._page(f, comments, "comments")
            root = comments[0] if comments else None
            return {"id": obj.node_id, "isResolved": obj.resolved, "isOutdated": False,
                    "path": root.path if root else "", "line": root.line if root else None,
                    "originalLine": root.line if root else None}[f.name]
        if type_name == "PullRequestReviewComment":
            return {"id": f"PRRC_standin{obj.id}", "databaseId": obj.id, "body": obj.body, "path": obj.path,
                    "url": f"{self.gh.renderer.web}/{obj.repo}/pull/{obj.number}#discussion_r{obj.id}",
                    "author": obj.user}[f.name]
        return obj  # Actor: the login itself


def answer(gh: GitHubStandIn, token: Any, body: dict) -> dict:
    """GitHub's answer to one GraphQL request body (`query`, optional `variables`)."""
    query, variables = body.get("query"), body.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        return {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    try:
        fields = _Parser(query, variables).document()
    except GraphQLError as exc:
        return {"errors": [exc.body]}
    errors = validate(fields)
    if errors:
        return {"errors": errors}
    executor = _Executor(gh, token)
    with gh.state.lock:
        data = executor.select("Query", None, fields)
    return {"data": data, **({"errors": executor.errors} if executor.errors else {})}


def register(app: FastAPI, gh: GitHubStandIn, auth: Auth) -> None:
    """Add `POST /graphql` to the stand-in's app."""

    @app.post("/graphql")
    async def graphql(request: Request) -> JSONResponse:
        try:
            token = auth.require_installation(request)
        except GitHubError as exc:
            raise GitHubError(401, "This endpoint requires you to be authenticated.", docs=DOCS) from exc
        return JSONResponse(answer(gh, token, await auth.json_body(request)))
