"""Jira (Cloud or Data Center) through the `jira` library: one epic per release in one project.

Cloud authenticates with email + API token (basic auth), Data Center with a personal access token
(bearer). The library fetches serverInfo when the client is made, to learn Cloud vs Data Center and
the version: that decides how to ask which fields an Epic requires.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from jira import JIRA, JIRAError

from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext, Ticket
from core.integrations.http import _origin, check_url, guard_session
from core.integrations.network import NetworkGuard

EPIC = "Epic"
EPIC_NAME = "Epic Name"


class JiraTickets:
    """Creates release epics in one Jira project."""

    def __init__(self, *, server: str, project_key: str, auth: dict[str, Any], timeout: float, guard: NetworkGuard):
        self.server, self.project_key = server.rstrip("/"), project_key
        self._auth, self.timeout, self.guard = auth, timeout, guard
        self._client: JIRA | None = None

    def verify(self) -> None:
        """The credentials work, the project exists and it has an Epic issue type."""
        with self._translated():
            self._jira().myself()
            self._epic_type(self._project())

    def find_epic(self, marker: str) -> Ticket | None:
        """The oldest issue of the project labelled `marker` (JQL search: /search/jql on Cloud, /search on Data Center)."""
        jql = f'project = "{self.project_key}" AND labels = "{marker}" ORDER BY created ASC'
        with self._translated():
            found = self._jira().search_issues(jql, maxResults=1, fields="summary,labels", json_result=True)
        issues = found.get("issues") or []
        return Ticket(key=issues[0]["key"], url=self.browse_url(issues[0]["key"])) if issues else None

    def create_epic(self, *, title: str, description: str, marker: str | None = None) -> Ticket:
        """Create an Epic (labelled `marker`), filling Epic Name only where the project requires it."""
        with self._translated(creating=True):
            project = self._project()
            epic = self._epic_type(project)
            fields = {"project": {"id": project["id"]}, "issuetype": {"id": epic["id"]},
                      "summary": title, "description": description}
            if marker:
                fields["labels"] = [marker]
            name_field = self._required_epic_name(epic["id"])
            if name_field:
                fields[name_field] = title
            issue = self._jira().create_issue(fields=fields, prefetch=False)
            return Ticket(key=issue.key, url=issue.permalink())

    def close_epic(self, key: str) -> bool:
        """Transition the epic to done: the transition named Done, else the first one into a done-category status."""
        with self._translated(), self._not_found(f"Jira has no issue {key}, or the user cannot see it"):
            jira = self._jira()
            status = (jira.issue(key, fields="status").raw.get("fields") or {}).get("status") or {}
            if (status.get("statusCategory") or {}).get("key") == "done":
                return False
            transition = _done_transition(jira.transitions(key))
            if transition is None:
                raise IntegrationError(f"Jira offers no transition to a done status for {key}: close it by hand, or "
                                       "ask a Jira admin to add one to the Epic workflow")
            jira.transition_issue(key, transition["id"])
            return True

    def browse_url(self, key: str) -> str:
        """Where a person opens the issue."""
        return f"{self.server}/browse/{key}"

    def _jira(self) -> JIRA:
        # max_retries=0: on a connection error the library backs off 10-80 s per retry, far too
        # long inside a Slack interaction; callers get a retryable IntegrationError instead.
        if self._client is None:
            # get_server_info=False: the library would ask before its session is guarded; we ask right after.
            client = JIRA(server=self.server, timeout=self.timeout, max_retries=0, get_server_info=False,
                          options={"check_update": False}, **self._auth)
            guard_session(client._session, self.guard, service="Jira", origin=_origin(self.server))
            _learn_server(client)
            self._client = client
        return self._client

    def _project(self) -> dict[str, Any]:
        with self._not_found(f"project {self.project_key} does not exist or the user cannot see it"):
            return self._jira().project(self.project_key).raw

    def _epic_type(self, project: dict[str, Any]) -> dict[str, Any]:
        epic = next((t for t in project.get("issueTypes", []) if t.get("name") == EPIC and not t.get("subtask")), None)
        if epic is None:
            raise IntegrationError(f"project {self.project_key} has no Epic issue type")
        return epic

    def _required_epic_name(self, epic_type_id: str) -> str | None:
        """The id of the Epic Name field when creating an Epic needs it (Data Center, older projects)."""
        fields = self._epic_create_fields(epic_type_id)
        return next((f["fieldId"] for f in fields if f.get("name") == EPIC_NAME and f.get("required")), None)

    def _epic_create_fields(self, epic_type_id: str) -> list[dict[str, Any]]:
        jira = self._jira()
        if jira.deploymentType != "Cloud":
            try:
                return [f.raw for f in jira.project_issue_fields(self.project_key, epic_type_id, maxResults=False)]
            except JIRAError as exc:
                if exc.status_code is not None:
                    raise
                # No status: the library knows this server predates the per-type endpoint (< 8.4).
        try:
            meta = jira.createmeta(projectKeys=self.project_key, issuetypeIds=[epic_type_id],
                                   expand="projects.issuetypes.fields")
        except JIRAError as exc:
            if exc.status_code == 404 and jira.deploymentType == "Cloud":
                return []  # the endpoint is being retired on Cloud, where Epic Name is no longer required
            raise
        types = [t for p in meta.get("projects", []) for t in p.get("issuetypes", [])]
        return [{"fieldId": key, **field} for t in types for key, field in t.get("fields", {}).items()]

    @contextmanager
    def _not_found(self, message: str) -> Iterator[None]:
        try:
            yield
        except JIRAError as exc:
            if exc.status_code == 404:
                raise IntegrationError(message, status=404) from None
            raise

    @contextmanager
    def _translated(self, *, creating: bool = False) -> Iterator[None]:
        try:
            yield
        except JIRAError as exc:
            raise self._error(exc, creating) from None
        except requests.Timeout:
            raise IntegrationError(f"Jira at {_origin(self.server)} did not answer in time", retryable=True) from None
        except requests.ConnectionError:
            raise IntegrationError(f"cannot reach Jira at {_origin(self.server)}", retryable=True) from None
        except (requests.RequestException, ValueError, KeyError):
            raise IntegrationError(f"{_origin(self.server)} does not answer like Jira: check the URL") from None

    def _error(self, exc: JIRAError, creating: bool) -> IntegrationError:
        status = exc.status_code
        headers = getattr(exc.response, "headers", None) or {}
        if status == 401:
            return IntegrationError("Jira rejected the credentials (401)", status=401)
        if status == 403 and "CAPTCHA" in headers.get("X-Authentication-Denied-Reason", "").upper():
            return IntegrationError("Jira wants a CAPTCHA after failed logins: sign in to Jira in a browser once, "
                                    "then verify again (403)", status=403)
        if status == 403:
            return IntegrationError("Jira refused: the user lacks a permission in the project (403)", status=403)
        if status == 404:
            return IntegrationError(f"no Jira answers at {self.server}: check the URL (404)", status=404)
        if status in (429, 503):
            after = headers.get("Retry-After")
            return IntegrationError(f"Jira is busy or rate-limiting the bot; try again later ({status})", status=status,
                                    retryable=True, retry_after=float(after) if after and after.isdigit() else None)
        if status == 400 and creating and "'labels'" in (exc.text or ""):
            return IntegrationError(f"the Epic screen of Jira project {self.project_key} has no Labels field, which releasebot "
                                    "finds its epics by: ask a Jira admin to add it, then retry (400)", status=400)
        if status == 400 and creating:
            return IntegrationError(f"Jira refused the epic: {_short(exc.text)} (400)", status=400)
        if status is not None and status >= 500:
            return IntegrationError(f"Jira failed ({status})", status=status, retryable=status in (502, 504))
        return IntegrationError(f"Jira refused the request ({status or 'no status'})", status=status)


def _done_transition(transitions: list[dict[str, Any]]) -> dict[str, Any] | None:
    # Workflows name their last step differently ("Done", "Closed", "Resolved"): the category is what is shared.
    named = next((t for t in transitions if str(t.get("name", "")).lower() == "done"), None)
    return named or next((t for t in transitions
                          if ((t.get("to") or {}).get("statusCategory") or {}).get("key") == "done"), None)


def _learn_server(client: JIRA) -> None:
    """What get_server_info=True does in JIRA(): Cloud vs Data Center and the version, which the library
    reads to choose its endpoints."""
    info = client.server_info()
    client._version = tuple(info["versionNumbers"])
    client.deploymentType = info.get("deploymentType")


def _short(text: str | None, limit: int = 300) -> str:
    """Jira's own explanation (field errors), shortened; it never contains the request's credentials."""
    text = (text or "no reason given").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _auth(secrets: dict[str, str]) -> dict[str, Any]:
    if secrets.get("personalAccessToken"):
        return {"token_auth": secrets["personalAccessToken"]}
    if secrets.get("email") and secrets.get("apiToken"):
        return {"basic_auth": (secrets["email"], secrets["apiToken"])}
    raise IntegrationError("Jira needs either email and apiToken (Cloud) or personalAccessToken (Data Center)")


def build(config: IntegrationConfig, ctx: ProviderContext) -> JiraTickets:
    """The Jira client of a TICKET integration (baseUrl = the Jira site, field projectKey)."""
    if not config.base_url:
        raise IntegrationError("the Jira integration has no base URL")
    check_url(config.base_url, ctx.guard)
    key = (config.fields.get("projectKey") or "").strip().upper()
    if not key:
        raise IntegrationError("the Jira integration has no projectKey")
    return JiraTickets(server=config.base_url, project_key=key, auth=_auth(config.secrets), timeout=ctx.timeout,
                       guard=ctx.guard)
