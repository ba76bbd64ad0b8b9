"""Check recorded GitHub traffic against GitHub's own API description and webhook schemas.

`Checker.request(...)` validates one REST exchange (request body and response body against the
operation's schemas in ../shared/github-openapi/api.github.com.subset.json, OpenAPI 3.0.3);
`Checker.webhook(event, payload)` validates a delivery against webhooks.schema.json. Each
returns a list of divergences (empty when it conforms).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jsonschema_rs
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SPEC_DIR = Path("/work/shared/github-openapi")
API_URI = "urn:github:api"
HOOKS_URI = "urn:github:webhooks"
# Parameters that may hold slashes (a file path, a branch name, `base...head`).
_SLASHY = {"path", "ref", "basehead", "tree_sha"}
# Not REST: git over HTTP, the browser pages of OAuth and the manifest flow.
# Real GitHub endpoints the stand-in answers that the subset leaves out (the bot calls none).
BEYOND_SUBSET = [
    ("POST", r"^/repos/[^/]+/[^/]+/pulls$"),
    ("GET", r"^/repos/[^/]+/[^/]+/branches$"),
]
# GraphQL is outside the REST description: `POST /graphql` is checked against the shape of
# GitHub's answer to the one query the bot makes (PR review threads), written from GitHub's
# public GraphQL schema (https://docs.github.com/graphql/reference/objects#pullrequestreviewthread)
# and its error format (`errors[]` with message, locations, path, and `type` or `extensions`).
GRAPHQL_PATHS = ("/graphql", "/api/graphql")
_INT_OR_NULL = {"type": ["integer", "null"]}
_PAGE_INFO = {"type": "object", "additionalProperties": False, "properties": {
    "hasNextPage": {"type": "boolean"}, "hasPreviousPage": {"type": "boolean"},
    "endCursor": {"type": ["string", "null"]}, "startCursor": {"type": ["string", "null"]}}}
_COMMENT = {"type": "object", "additionalProperties": False, "properties": {
    "id": {"type": "string"}, "databaseId": _INT_OR_NULL, "body": {"type": "string"},
    "url": {"type": "string", "format": "uri"}, "path": {"type": "string"},
    "author": {"type": ["object", "null"], "additionalProperties": False,
               "properties": {"login": {"type": "string"}}, "required": ["login"]}}}


def _connection(node: dict) -> dict:
    return {"type": ["object", "null"], "additionalProperties": False, "properties": {
        "nodes": {"type": "array", "items": {"anyOf": [node, {"type": "null"}]}},
        "pageInfo": _PAGE_INFO, "totalCount": {"type": "integer"}}}


_THREAD = {"type": "object", "additionalProperties": False, "properties": {
    "id": {"type": "string"}, "isResolved": {"type": "boolean"}, "isOutdated": {"type": "boolean"},
    "path": {"type": "string"}, "line": _INT_OR_NULL, "originalLine": _INT_OR_NULL,
    "comments": _connection(_COMMENT)}}
GRAPHQL_ANSWER = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "data": {"type": ["object", "null"], "additionalProperties": False, "properties": {
            "repository": {"type": ["object", "null"], "additionalProperties": False, "properties": {
                "pullRequest": {"type": ["object", "null"], "additionalProperties": False, "properties": {
                    "reviewThreads": _connection(_THREAD)}}}}}},
        "errors": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["message"], "additionalProperties": False, "properties": {
                "message": {"type": "string"}, "type": {"type": "string"},
                "path": {"type": "array", "items": {"type": ["string", "integer"]}},
                "locations": {"type": "array", "items": {
                    "type": "object", "required": ["line", "column"], "additionalProperties": False,
                    "properties": {"line": {"type": "integer"}, "column": {"type": "integer"}}}},
                "extensions": {"type": "object", "required": ["code"]}}}}},
    "anyOf": [{"required": ["data"]}, {"required": ["errors"]}],
}
GRAPHQL_REQUEST = {"type": "object", "required": ["query"], "additionalProperties": False,
                   "properties": {"query": {"type": "string"}, "variables": {"type": ["object", "null"]},
                                  "operationName": {"type": ["string", "null"]}}}
_NOT_REST = re.compile(r"^/(login/|settings/|organizations/[^/]+/settings/|[^/]+/[^/]+\.git/)")


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict


def _openapi_to_jsonschema(node: object) -> object:
    """OpenAPI 3.0 schema dialect -> JSON Schema draft 7: `nullable`, discriminated oneOf."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_jsonschema(v) for k, v in node.items()
           if k not in ("example", "examples", "discriminator", "nullable", "xml")}
    # With a discriminator only the mapped branch applies; private-user also matches public-user.
    if "discriminator" in node and "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if node.get("nullable") is True:
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _allow_new_fields(node: object) -> None:
    """GitHub now sends `user_view_type` on users and `client_id` on Apps; the webhook schemas
    predate both (see ../shared/github-openapi/README.md). Likewise `verified_at` on a commit's
    signature verification (the REST description has it, and githubkit's webhook models require
    it in a `status` event)."""
    if isinstance(node, list):
        for n in node:
            _allow_new_fields(n)
        return
    if not isinstance(node, dict):
        return
    props = node.get("properties")
    if isinstance(props, dict):
        if "login" in props and "gravatar_id" in props:
            props.setdefault("user_view_type", {"type": "string"})
        if "slug" in props and "external_url" in props:
            props.setdefault("client_id", {"type": "string"})
        if "verified" in props and "signature" in props and "reason" in props:
            props.setdefault("verified_at", {"type": ["string", "null"]})
    for value in node.values():
        _allow_new_fields(value)


class Checker:
    """Validates REST exchanges and webhook payloads; collects what it has seen."""

    def __init__(self, spec_dir: Path = SPEC_DIR) -> None:
        api = json.loads((spec_dir / "api.github.com.subset.json").read_text())
        self.api = _openapi_to_jsonschema(api)
        hooks = json.loads((spec_dir / "webhooks.schema.json").read_text())
        _allow_new_fields(hooks)
        self.hooks = hooks
        self.registry = Registry().with_resources([
            (API_URI, Resource(contents=self.api, specification=DRAFT7)),
            (HOOKS_URI, Resource(contents=self.hooks, specification=DRAFT7)),
        ])
        self._fast_registry = jsonschema_rs.Registry([(API_URI, self.api), (HOOKS_URI, self.hooks)])
        self._fast: dict[str, jsonschema_rs.Draft7Validator] = {}
        self.seen_operations: set[str] = set()
        self.seen_events: set[str] = set()
        self.beyond_subset: set[str] = set()
        self.refused_bodies = 0

    @cached_property
    def operations(self) -> list[Operation]:
        ops = []
        for template, methods in self.api["paths"].items():
            regex = re.sub(
                r"\{([^}]+)\}",
                lambda m: "(.+)" if m.group(1) in _SLASHY else "([^/]+)",
                re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
            )
            for method, spec in methods.items():
                if method in ("get", "post", "patch", "put", "delete"):
                    ops.append(Operation(method.upper(), template, re.compile(f"^{regex}$"), spec))
        # Most literal text first: `/commits/{ref}/check-runs` before `/commits/{ref}`.
        ops.sort(key=lambda o: len(re.sub(r"\{[^}]+\}", "", o.template)), reverse=True)
        return ops

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation a request is, or None."""
        return next((o for o in self.operations
                     if o.method == method and o.pattern.match(path)), None)

    def _validate(self, schema: dict, instance: object, base: str, where: str) -> list[str]:
        # A whole run records ~2,000 exchanges: jsonschema-rs, compiled once per schema (`where`
        # names it: operation, status, request or response; or the event), answers whether one
        # conforms in ~0.1 ms; jsonschema's messages are made only for those that do not. The
        # two agreed on every exchange of a whole run (formats are not checked by either).
        fast = self._fast.get(where)
        if fast is None:
            fast = self._fast[where] = jsonschema_rs.Draft7Validator(
                schema, registry=self._fast_registry, validate_formats=False)
        if fast.is_valid(instance):
            return []
        validator = Draft7Validator(schema, registry=self.registry)
        problems = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.path))[:5]:
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{where}: {at}: {error.message[:300]}")
        return problems

    def _schema(self, node: dict) -> dict:
        """A schema fragment from the API description made resolvable in the registry."""
        return _rebase(copy.deepcopy(node), API_URI)

    def request(self, method: str, path: str, status: int, request_body: object,
                response_body: object, *, injected: bool = False) -> list[str]:
        """Divergences of one REST exchange from GitHub's description."""
        if _NOT_REST.match(path):
            return []
        if path in GRAPHQL_PATHS:
            return self.graphql(method, status, request_body, response_body, injected=injected)
        op = self.operation(method, path)
        if op is None:
            template = next((t for m, t in BEYOND_SUBSET if m == method and re.match(t, path)), None)
            if template is not None or status == 404:
                # A real GitHub endpoint the subset leaves out, or a path GitHub would not know.
                self.beyond_subset.add(f"{method} {path}")
                return []
            return [f"{method} {path}: not an operation in GitHub's API description"]
        self.seen_operations.add(f"{method} {op.template}")
        where = f"{method} {op.template} [{status}]"
        problems = []
        body_spec = (op.spec.get("requestBody") or {}).get("content", {}).get("application/json")
        if body_spec and request_body is not None and method != "GET":
            refused = self._validate(self._schema(body_spec["schema"]), request_body, API_URI,
                                     f"{where} request")
            # A body the description refuses must be refused (GitHub answers 422); one it
            # allows may still be refused for rules the schema cannot say.
            if refused and not injected and status < 400:
                problems += [f"{p} (yet answered {status})" for p in refused]
            if refused:
                self.refused_bodies += 1
        if injected or response_body is None:
            return problems
        responses = op.spec.get("responses", {})
        answer = responses.get(str(status))
        if answer is None and status >= 400:
            # GitHub documents only some error statuses per operation; all share basic-error.
            answer = {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/basic-error"}}}}
        if answer is None:
            return [*problems, f"{where}: status {status} is not documented for the operation"]
        if "$ref" in answer:
            answer = _resolve(self.api, answer["$ref"])
        content = answer.get("content") or {}
        chosen = content.get("application/json") or next(iter(content.values()), {})
        schema = chosen.get("schema")
        if schema is not None:
            problems += self._validate(self._schema(schema), response_body, API_URI,
                                       f"{where} response")
        return problems

    def graphql(self, method: str, status: int, request_body: object, response_body: object, *,
                injected: bool = False) -> list[str]:
        """Divergences of one GraphQL exchange from GitHub's answer shape (see GRAPHQL_ANSWER)."""
        where = f"{method} /graphql [{status}]"
        if method != "POST":
            return [f"{where}: GitHub's GraphQL endpoint takes POST only"]
        self.seen_operations.add("POST /graphql")
        problems = self._validate(GRAPHQL_REQUEST, request_body, API_URI, f"{where} request")
        if injected or response_body is None:
            return problems
        if status != 200:  # refused before GraphQL ran (401, 400): REST's error shape
            schema = self._schema({"$ref": "#/components/schemas/basic-error"})
            return problems + self._validate(schema, response_body, API_URI, f"{where} response")
        return problems + self._validate(GRAPHQL_ANSWER, response_body, API_URI, f"{where} response")

    def webhook(self, event: str, payload: dict) -> list[str]:
        """Divergences of one webhook payload from GitHub's schema for its event and action."""
        # Events without actions (ping, status) are named `<event>$event` in the schemas.
        action = payload.get("action")
        name = f"{event}$event" if action is None else f"{event}${action}"
        self.seen_events.add(name)
        if name not in self.hooks["definitions"]:
            return [f"webhook {name}: no such event/action in GitHub's webhook schemas"]
        schema = {"$ref": f"{HOOKS_URI}#/definitions/{name}"}
        return self._validate(schema, payload, HOOKS_URI, f"webhook {name}")


def _resolve(doc: dict, ref: str) -> dict:
    node: object = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]  # type: ignore[index]
    return node  # type: ignore[return-value]


def _rebase(node: object, base: str) -> object:
    """Turn local refs (`#/components/...`) into refs into the registered document."""
    if isinstance(node, list):
        return [_rebase(n, base) for n in node]
    if isinstance(node, dict):
        out = {k: _rebase(v, base) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out["$ref"] = base + ref
        return out
    return node
