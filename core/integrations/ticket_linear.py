"""Linear through its GraphQL API: one issue per release and platform in one team (projectKey = the team key).

Personal API keys go bare in `Authorization` (Linear refuses them behind "Bearer"); OAuth tokens
keep their "Bearer " prefix. Linear reports failures in `errors[].extensions.code`, often with an
HTTP 400 or even 200, so the body decides, not the status.
"""
from __future__ import annotations

import time
from typing import Any

import requests

from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext, Ticket
from core.integrations.http import HttpClient

DEFAULT_BASE_URL = "https://api.linear.app"
VIEWER = "query Viewer { viewer { id name } }"
TEAM = "query TeamByKey($key: String!) { teams(filter: {key: {eq: $key}}) { nodes { id key name } } }"
FIND = ("query FindIssue($filter: IssueFilter!) "
        "{ issues(filter: $filter, first: 1) { nodes { id identifier url title } } }")
ISSUE = "query Issue($id: String!) { issue(id: $id) { id identifier state { id type } team { id } } }"
COMPLETED = ("query CompletedStates($filter: WorkflowStateFilter!) "
             "{ workflowStates(filter: $filter) { nodes { id name type position } } }")
UPDATE = ("mutation CloseIssue($id: String!, $input: IssueUpdateInput!) "
          "{ issueUpdate(id: $id, input: $input) { success issue { id identifier } } }")
FINISHED = ("completed", "canceled")
ORGANIZATION = "query Organization { organization { urlKey } }"
WEB_URL = "https://linear.app"  # issues are at <WEB_URL>/<organization urlKey>/issue/<identifier>
CREATE = ("mutation CreateIssue($input: IssueCreateInput!) "
          "{ issueCreate(input: $input) { success issue { id identifier url } } }")


class LinearTickets:
    """Creates release issues in one Linear team."""

    def __init__(self, http: HttpClient, *, team_key: str, api_key: str):
        self.http, self.team_key, self._api_key = http, team_key, api_key

    def verify(self) -> None:
        """The API key works and the team exists."""
        self._query("Viewer", VIEWER)
        self._team_id()

    def find_epic(self, marker: str) -> Ticket | None:
        """The team's issue whose title carries `[marker]` (Linear has no free-form labels per issue without
        creating them in the workspace, so the mark lives in the title)."""
        filter_ = {"team": {"key": {"eq": self.team_key}}, "title": {"contains": f"[{marker}]"}}
        nodes = (self._query("FindIssue", FIND, {"filter": filter_}).get("issues") or {}).get("nodes") or []
        return Ticket(key=nodes[0]["identifier"], url=nodes[0].get("url")) if nodes else None

    def create_epic(self, *, title: str, description: str, marker: str | None = None) -> Ticket:
        """Create an issue in the team (its title ending in `[marker]`); returns its identifier (MOB-12) and URL."""
        title = f"{title} [{marker}]" if marker else title
        variables = {"input": {"teamId": self._team_id(), "title": title, "description": description}}
        result = self._query("CreateIssue", CREATE, variables).get("issueCreate") or {}
        issue = result.get("issue")
        if not result.get("success") or not issue:
            raise IntegrationError("Linear did not create the issue")
        return Ticket(key=issue["identifier"], url=issue.get("url"))

    def web_url(self) -> str:
        """Where the workspace's issues are shown (`https://linear.app/<urlKey>`): the changelog links keys under it."""
        url_key = (self._query("Organization", ORGANIZATION).get("organization") or {}).get("urlKey")
        if not url_key:
            raise IntegrationError("Linear did not say the workspace's URL key")
        return f"{WEB_URL}/{url_key}"

    def close_epic(self, key: str) -> bool:
        """Move the issue to its team's first completed workflow state (by position); False if already finished."""
        issue = self._query("Issue", ISSUE, {"id": key}).get("issue")
        if not issue:
            raise IntegrationError(f"Linear has no issue {key}, or the API key cannot see it", status=404)
        if (issue.get("state") or {}).get("type") in FINISHED:
            return False
        filter_ = {"team": {"id": {"eq": issue["team"]["id"]}}, "type": {"eq": "completed"}}
        states = (self._query("CompletedStates", COMPLETED, {"filter": filter_}).get("workflowStates") or {}).get("nodes") or []
        if not states:
            raise IntegrationError(f"the Linear team {self.team_key} has no completed workflow state: close {key} by hand")
        state = min(states, key=lambda st: st.get("position") or 0)
        result = self._query("CloseIssue", UPDATE, {"id": issue["id"], "input": {"stateId": state["id"]}}).get("issueUpdate") or {}
        if not result.get("success"):
            raise IntegrationError(f"Linear did not move {key} to {state.get('name', 'done')}")
        return True

    def _team_id(self) -> str:
        teams = (self._query("TeamByKey", TEAM, {"key": self.team_key}).get("teams") or {}).get("nodes") or []
        if not teams:
            raise IntegrationError(f"Linear has no team with key {self.team_key}, or the API key cannot see it")
        return teams[0]["id"]

    def _query(self, operation: str, query: str, variables: dict | None = None) -> dict[str, Any]:
        payload = {"operationName": operation, "query": query, "variables": variables or {}}
        response = self.http.post("graphql", json=payload, expect=())
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("errors"):
            raise self._error(body["errors"][0], response)
        if response.status_code != 200:
            raise self.http.error(response)
        if not isinstance(body, dict):
            raise IntegrationError("the Linear URL does not answer like Linear's API: check it")
        return body.get("data") or {}

    def _error(self, error: dict[str, Any], response: requests.Response) -> IntegrationError:
        extensions = error.get("extensions") or {}
        code = str(extensions.get("code") or extensions.get("type") or response.status_code)
        if code in ("AUTHENTICATION_ERROR", "authentication error") or response.status_code == 401:
            return IntegrationError("Linear rejected the API key (AUTHENTICATION_ERROR)", status=401)
        if code == "RATELIMITED":
            return IntegrationError("Linear is rate-limiting the bot; try again later (RATELIMITED)", status=429,
                                    retryable=True, retry_after=_reset_in(response))
        if code == "FORBIDDEN":
            return IntegrationError("the Linear API key lacks a permission (FORBIDDEN)", status=403)
        reason = extensions.get("userPresentableMessage") or error.get("message") or "no reason given"
        return IntegrationError(f"Linear refused the request: {self._scrub(str(reason))} ({code})",
                                status=response.status_code)

    def _scrub(self, text: str) -> str:
        # Some GraphQL servers echo request headers in messages: never pass the key on.
        return text.replace(self._api_key, "[API key]")[:300]


def _reset_in(response: requests.Response) -> float | None:
    """Seconds until Linear's request budget resets (X-RateLimit-Requests-Reset is epoch milliseconds)."""
    reset = response.headers.get("X-RateLimit-Requests-Reset")
    try:
        return max(0.0, int(reset) / 1000 - time.time()) if reset else None
    except ValueError:
        return None


def build(config: IntegrationConfig, ctx: ProviderContext) -> LinearTickets:
    """The Linear client of a TICKET integration (field projectKey = team key, secret apiKey)."""
    api_key = (config.secrets.get("apiKey") or "").strip()
    team_key = (config.fields.get("projectKey") or "").strip().upper()
    if not api_key or not team_key:
        raise IntegrationError("the Linear integration needs an apiKey and a projectKey (the team key)")
    http = HttpClient(config.base_url or DEFAULT_BASE_URL, service="Linear", guard=ctx.guard,
                      headers={"Authorization": api_key, "Content-Type": "application/json"},
                      timeout=ctx.timeout)
    return LinearTickets(http, team_key=team_key, api_key=api_key)
