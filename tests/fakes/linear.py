"""A fake Linear GraphQL API (POST /graphql), written from Linear's developer docs.

It answers the root fields the bot uses — `viewer`, `teams(filter: {key: {eq: …}})`, `team(id:)`,
`issueCreate(input:)`, `issues(filter: $filter)` (team id/key `eq`, title `eq`/`contains`),
`issue(id:)` (an id or an identifier such as MOB-1), `workflowStates(filter: $filter)` (team, type) and
`issueUpdate(id:, input: {stateId})` — reading arguments from literals or `$variables`; the root field
is the first one in the operation's selection. Each team has Linear's default workflow (Backlog, Todo,
In Progress, Done, Canceled); a new issue is in Todo. It does not apply selection sets: objects come back
whole. Errors look like Linear's: `{"errors": [{"message", "extensions":
{"type", "code", "userPresentableMessage"}}], "data": null}` with HTTP 400 for authentication and
rate limits (RATELIMITED, with X-RateLimit-Requests-* headers) and 200 for entity errors.

A test adds keys (`add_api_key`, OAuth via `add_oauth_token`) and teams (`add_team`), can script
`rate_limit(times)`, and reads `issues` and `operations`.
"""
from __future__ import annotations

import itertools
import re
import time
import uuid
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

ROOT_FIELDS = ("viewer", "organization", "teams", "team", "issueCreate", "issues", "issue", "workflowStates", "issueUpdate")
DEFAULT_WORKFLOW = (("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"), ("Done", "completed"),
                    ("Canceled", "canceled"))


def graphql_error(message: str, code: str, kind: str, presentable: str | None = None, **more: Any) -> dict:
    return {"message": message, "extensions": {"type": kind, "code": code,
                                               "userPresentableMessage": presentable or message, **more}}


class FakeLinear(FakeServer):
    name = "linear"

    def __init__(self, *, workspace: str = "acme"):
        self.workspace = workspace
        self.api_keys: set[str] = set()
        self.oauth_tokens: set[str] = set()
        self.teams: dict[str, dict[str, Any]] = {}
        self.issues: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []  # workflow states of every team
        self.operations: list[tuple[str | None, dict[str, Any]]] = []  # (operationName, variables)
        self._rate_limited = 0
        self._numbers: dict[str, itertools.count] = {}
        super().__init__()

    # --- test helpers ----------------------------------------------------------------------------
    def add_api_key(self, key: str) -> None:
        """A personal API key, sent bare in Authorization."""
        self.api_keys.add(key)

    def add_oauth_token(self, token: str) -> None:
        """An OAuth access token, sent as `Bearer <token>`."""
        self.oauth_tokens.add(token)

    def add_team(self, key: str, name: str | None = None) -> dict[str, Any]:
        team = {"id": str(uuid.uuid4()), "key": key, "name": name or key.title()}
        self.teams[team["id"]] = team
        self._numbers[team["id"]] = itertools.count(1)
        self.states.extend({"id": str(uuid.uuid4()), "name": name, "type": kind, "position": float(n), "team": team}
                           for n, (name, kind) in enumerate(DEFAULT_WORKFLOW))
        return team

    def rate_limit(self, *, times: int = 1) -> None:
        """Answer the next `times` requests with RATELIMITED."""
        with self.lock:
            self._rate_limited = times

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", "/graphql", self._graphql)

    def _answer(self, status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
        limits = {"X-RateLimit-Requests-Limit": "5000", "X-RateLimit-Requests-Remaining": "4999",
                  "X-RateLimit-Requests-Reset": str(int((time.time() + 3600) * 1000))}
        return Response(status, body, {**limits, **(headers or {})})

    def _errors(self, status: int, *errors: dict, headers: dict[str, str] | None = None) -> Response:
        return self._answer(status, {"errors": list(errors), "data": None}, headers)

    def _graphql(self, request: Request, match: re.Match) -> Response:
        if not self._authenticated(request):
            return self._errors(400, graphql_error("Authentication required, not authenticated",
                                                   "AUTHENTICATION_ERROR", "authentication error",
                                                   "You need to authenticate to access this operation.",
                                                   statusCode=401))
        if self._rate_limited > 0:
            self._rate_limited -= 1
            reset = str(int((time.time() + 30) * 1000))
            return self._errors(400, graphql_error("Rate limit exceeded", "RATELIMITED", "ratelimited"),
                                headers={"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": reset})
        payload = request.json() or {}
        query, variables = payload.get("query") or "", payload.get("variables") or {}
        self.operations.append((payload.get("operationName"), variables))
        root = re.match(r"\s*(?:(?:query|mutation)\b[^{]*)?\{\s*(\w+)", query)
        if root is None or root[1] not in ROOT_FIELDS:
            return self._errors(400, graphql_error("Cannot query field on type \"Query\".",
                                                   "GRAPHQL_VALIDATION_FAILED", "graphql error"))
        return self._resolve(root[1], query, variables)

    def _authenticated(self, request: Request) -> bool:
        value = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
        if value.lower().startswith("bearer "):
            return value[7:] in self.oauth_tokens
        return value in self.api_keys

    def _resolve(self, root: str, query: str, variables: dict) -> Response:
        if root == "viewer":
            return self._answer(200, {"data": {"viewer": {"id": "u-1", "name": "Release Bot",
                                                          "email": "bot@example.com"}}})
        if root == "organization":  # the viewer's workspace; issue URLs are https://linear.app/<urlKey>/issue/…
            return self._answer(200, {"data": {"organization": {"id": "org-1", "name": self.workspace.title(),
                                                                "urlKey": self.workspace}}})
        if root == "teams":
            key = _argument(query, r"key:\s*\{\s*eq:\s*", variables)
            return self._answer(200, {"data": {"teams": {"nodes": [t for t in self.teams.values() if t["key"] == key]}}})
        if root == "team":
            team = self.teams.get(_argument(query, r"team\(\s*id:\s*", variables) or "")
            if team is None:
                return self._errors(200, graphql_error("Entity not found: Team", "INPUT_ERROR", "invalid input",
                                                       "Could not find referenced Team."))
            return self._answer(200, {"data": {"team": team}})
        if root == "issueCreate":
            return self._create_issue(_argument(query, r"issueCreate\(\s*input:\s*", variables) or {})
        return self._resolve_more(root, query, variables)

    def _resolve_more(self, root: str, query: str, variables: dict) -> Response:
        if root == "issues":
            found = [i for i in self.issues if _matches(i, _argument(query, r"issues\(\s*filter:\s*", variables) or {})]
            return self._answer(200, {"data": {"issues": {"nodes": found[:50], "pageInfo": {"hasNextPage": len(found) > 50}}}})
        if root == "workflowStates":
            found = [st for st in self.states if _matches(st, _argument(query, r"workflowStates\(\s*filter:\s*", variables) or {})]
            return self._answer(200, {"data": {"workflowStates": {"nodes": found}}})
        issue_id = _argument(query, rf"{root}\(\s*id:\s*", variables) or ""
        issue = next((i for i in self.issues if issue_id in (i["id"], i["identifier"])), None)
        if issue is None:
            return self._errors(200, graphql_error("Entity not found: Issue", "INPUT_ERROR", "invalid input",
                                                   "Could not find referenced Issue."))
        if root == "issue":
            return self._answer(200, {"data": {"issue": issue}})
        return self._update_issue(issue, _argument(query, r"input:\s*", variables) or {})

    def _update_issue(self, issue: dict, data: dict) -> Response:
        state = next((st for st in self.states if st["id"] == data.get("stateId")), None)
        if "stateId" in data and (state is None or state["team"]["id"] != issue["team"]["id"]):
            return self._errors(200, graphql_error("Entity not found: WorkflowState", "INPUT_ERROR", "invalid input",
                                                   "Could not find referenced WorkflowState."))
        if state is not None:
            issue["state"] = {k: state[k] for k in ("id", "name", "type")}
        return self._answer(200, {"data": {"issueUpdate": {"success": True, "issue": issue}}})

    def _create_issue(self, data: dict) -> Response:
        team = self.teams.get(data.get("teamId") or "")
        if not data.get("title"):
            return self._errors(200, graphql_error("Argument Validation Error", "INVALID_INPUT", "invalid input",
                                                   "title must be a string"))
        if team is None:
            return self._errors(200, graphql_error("Entity not found: Team", "INPUT_ERROR", "invalid input",
                                                   "Could not find referenced Team."))
        identifier = f"{team['key']}-{next(self._numbers[team['id']])}"
        slug = re.sub(r"[^a-z0-9]+", "-", data["title"].lower()).strip("-")
        issue = {"id": str(uuid.uuid4()), "identifier": identifier, "title": data["title"],
                 "description": data.get("description"), "team": team,
                 "state": next({k: st[k] for k in ("id", "name", "type")} for st in self.states
                               if st["team"]["id"] == team["id"] and st["type"] == "unstarted"),
                 "url": f"https://linear.app/{self.workspace}/issue/{identifier}/{slug}"}
        self.issues.append(issue)
        return self._answer(200, {"data": {"issueCreate": {"success": True, "issue": issue}}})


def _argument(query: str, prefix: str, variables: dict) -> Any:
    """The value after `prefix` in the query: a `$variable` (looked up) or a string literal."""
    found = re.search(prefix + r'(\$\w+|"(?:[^"\\]|\\.)*")', query)
    if found is None:
        return None
    token = found.group(1)
    return variables.get(token[1:]) if token.startswith("$") else token[1:-1]


def _matches(entity: dict, filter_: dict) -> bool:
    """Linear's filter semantics for what the bot sends: nested objects (team: {key: …}) and comparators eq/contains."""
    for name, condition in filter_.items():
        value = entity.get(name)
        if isinstance(value, dict):
            if not _matches(value, condition):
                return False
            continue
        for comparator, expected in condition.items():
            if comparator == "eq" and value != expected:
                return False
            if comparator == "contains" and (value is None or expected not in value):
                return False
            if comparator not in ("eq", "contains"):
                raise ValueError(f"the fake Linear does not know the comparator {comparator}")
    return True
