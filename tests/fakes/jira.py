"""A fake Jira REST API v2 (Cloud or Data Center), written from Atlassian's REST reference.

What the `jira` library and our client call: serverInfo (anonymous), myself, project/{key},
issue/createmeta (the old one, gone from Data Center 9), issue/createmeta/{key}/issuetypes[/{id}]
(Data Center 8.4+ shape `values`, Cloud shape `issueTypes`/`fields`), POST issue and GET issue/{key},
JQL search (`search/jql` on Cloud, where the old `search` is gone with 410; `search` on Data Center) for
`project = X AND labels = Y ORDER BY created` (after GET field, which the library reads first), and
issue transitions (GET/POST issue/{key}/transitions)
on a To Do → In Progress → Done workflow (`done_transition` names the last step, e.g. "Closed").
Errors are `{"errorMessages": [...], "errors": {...}}`; every answer has `X-AREQUESTID`; Data Center
adds `X-Seraph-LoginReason` on authentication failures and a CAPTCHA 403 after repeated ones.

A test adds credentials (`add_api_token`, `add_pat`) and projects (`add_project`) and reads
`issues` (what was created) and `requests`.
"""
from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

API = "/rest/api/2"
STANDARD_FIELDS = {
    "summary": {"name": "Summary", "required": True, "schema": {"type": "string", "system": "summary"}},
    "issuetype": {"name": "Issue Type", "required": True, "schema": {"type": "issuetype", "system": "issuetype"}},
    "project": {"name": "Project", "required": True, "schema": {"type": "project", "system": "project"}},
    "description": {"name": "Description", "required": False, "schema": {"type": "string", "system": "description"}},
    "labels": {"name": "Labels", "required": False, "schema": {"type": "array", "items": "string", "system": "labels"}},
}
STATUSES = {"new": ("10000", "To Do"), "indeterminate": ("3", "In Progress"), "done": ("10001", "Done")}
JQL_CLAUSE = re.compile(r'^\s*(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([\w.-]+))\s*$')
EPIC_NAME_ID = "customfield_10011"


@dataclass
class Project:
    key: str
    id: str
    name: str
    issue_types: list[dict[str, Any]]
    fields: dict[str, dict[str, dict[str, Any]]]  # issue type id -> field id -> createmeta field
    simplified: bool = False
    issues: list[dict[str, Any]] = field(default_factory=list)


class FakeJira(FakeServer):
    name = "jira"

    def __init__(self, *, cloud: bool = True, version: tuple[int, int, int] | None = None,
                 captcha_after: int | None = None, done_transition: str = "Done"):
        self.cloud = cloud
        self.done_transition = done_transition
        self.version = version or ((1001, 0, 0) if cloud else (9, 12, 2))
        self.captcha_after = captcha_after
        self.basic: dict[str, str] = {}  # email (Cloud) or username (Data Center) -> API token / password
        self.pats: set[str] = set()
        self.projects: dict[str, Project] = {}
        self.issues: list[dict[str, Any]] = []
        self.failed_logins: dict[str, int] = {}
        self._ids = itertools.count(10000)
        super().__init__()

    # --- test helpers ----------------------------------------------------------------------------
    def add_api_token(self, email: str, token: str) -> None:
        """Basic auth `email:token` (Cloud; on Data Center, username:password)."""
        self.basic[email] = token

    def add_pat(self, token: str) -> None:
        """A Data Center personal access token (Authorization: Bearer); Cloud does not take them."""
        self.pats.add(token)

    def add_project(self, key: str, *, epic: bool = True, epic_name: str | None = None,
                    simplified: bool = False, labels: bool = True) -> Project:
        """A project; `epic_name` is None (no such field), "optional" or "required" on its Epic screen;
        `labels=False` takes Labels off its screens (Jira then refuses an issue created with labels)."""
        types = [{"id": "10001", "name": "Task", "subtask": False}, {"id": "10003", "name": "Sub-task", "subtask": True}]
        if epic:
            types.insert(0, {"id": "10000", "name": "Epic", "subtask": False})
        fields = {t["id"]: {k: dict(v) for k, v in STANDARD_FIELDS.items() if labels or k != "labels"} for t in types}
        if epic and epic_name:
            fields["10000"][EPIC_NAME_ID] = {"name": "Epic Name", "required": epic_name == "required",
                                             "schema": {"type": "string", "custom": "com.pyxis.greenhopper.jira:gh-epic-label",
                                                        "customId": 10011}}
        project = Project(key, str(next(self._ids)), f"{key.title()} project", types, fields, simplified)
        self.projects[key] = project
        return project

    # --- routes ----------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        for method, path, handler in (
            ("GET", "/serverInfo", self._server_info),
            ("GET", "/myself", self._myself),
            ("GET", r"/project/(?P<key>[^/]+)", self._project),
            ("GET", "/issue/createmeta", self._createmeta),
            ("GET", r"/issue/createmeta/(?P<key>[^/]+)/issuetypes", self._createmeta_types),
            ("GET", r"/issue/createmeta/(?P<key>[^/]+)/issuetypes/(?P<type>[^/]+)", self._createmeta_fields),
            ("POST", "/issue", self._create_issue),
            ("GET", r"/issue/(?P<key>[A-Z][A-Z0-9]*-\d+)", self._issue),
            ("GET", "/field", self._all_fields),
            ("GET", "/search", self._search_v2),
            ("GET", "/search/jql", self._search_jql),
            ("GET", r"/issue/(?P<key>[A-Z][A-Z0-9]*-\d+)/transitions", self._transitions),
            ("POST", r"/issue/(?P<key>[A-Z][A-Z0-9]*-\d+)/transitions", self._transition),
        ):
            self.route(method, API + path, self._guarded(handler, anonymous=path == "/serverInfo"))

    def not_found(self, request: Request) -> Response:
        return self._answer(404, {"errorMessages": ["null for uri: " + request.path], "errors": {}})

    def _guarded(self, handler, *, anonymous: bool):
        def run(request: Request, match: re.Match) -> Response:
            denied = self._authenticate(request, anonymous)
            return denied or handler(request, match)
        return run

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(status, body, {"X-AREQUESTID": f"{next(self._ids)}x1", **(headers or {})})

    def _authenticate(self, request: Request, anonymous: bool) -> Response | None:
        header = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
        if header.lower().startswith("bearer "):
            return None if not self.cloud and header[7:] in self.pats else self._unauthorized()
        if header.lower().startswith("basic "):
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return self._check_basic(user, secret)
        return None if anonymous else self._unauthorized(anonymous_request=True)

    def _check_basic(self, user: str, secret: str) -> Response | None:
        if not self.cloud and self.captcha_after is not None and self.failed_logins.get(user, 0) >= self.captcha_after:
            return self._answer(403, "", {"X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
                                          "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={self.url}/login.jsp"})
        if self.basic.get(user) == secret:
            self.failed_logins.pop(user, None)
            return None
        self.failed_logins[user] = self.failed_logins.get(user, 0) + 1
        return self._unauthorized()

    def _unauthorized(self, anonymous_request: bool = False) -> Response:
        if self.cloud:
            return self._answer(401, "Client must be authenticated to access this resource.",
                                {"Content-Type": "text/html;charset=UTF-8"})
        headers = {} if anonymous_request else {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
        message = "You are not authenticated. Authentication required to perform this operation."
        return self._answer(401, {"errorMessages": [message], "errors": {}}, headers)

    # --- handlers --------------------------------------------------------------------------------
    def _server_info(self, request: Request, match: re.Match) -> Response:
        return self._answer(200, {
            "baseUrl": self.url, "version": ".".join(map(str, self.version)), "versionNumbers": list(self.version),
            "deploymentType": "Cloud" if self.cloud else "Server", "buildNumber": 100254,
            "buildDate": "2024-01-01T00:00:00.000+0000", "serverTime": "2024-01-02T00:00:00.000+0000",
            "scmInfo": "fake", "serverTitle": "Jira"})

    def _myself(self, request: Request, match: re.Match) -> Response:
        me = {"self": f"{self.url}{API}/user", "emailAddress": "bot@example.com", "displayName": "Release Bot",
              "active": True, "timeZone": "Europe/Paris"}
        me.update({"accountId": "5b10ac8d82e05b22cc7d4ef5", "accountType": "atlassian"} if self.cloud
                  else {"key": "JIRAUSER10100", "name": "releasebot"})
        return self._answer(200, me)

    def _find(self, key_or_id: str) -> Project | None:
        return self.projects.get(key_or_id) or next((p for p in self.projects.values() if p.id == key_or_id), None)

    def _no_project(self, key: str) -> Response:
        return self._answer(404, {"errorMessages": [f"No project could be found with key '{key}'."], "errors": {}})

    def _project(self, request: Request, match: re.Match) -> Response:
        project = self._find(match["key"])
        if project is None:
            return self._no_project(match["key"])
        return self._answer(200, {
            "self": f"{self.url}{API}/project/{project.id}", "id": project.id, "key": project.key,
            "name": project.name, "projectTypeKey": "software", "simplified": project.simplified,
            "style": "next-gen" if project.simplified else "classic",
            "issueTypes": [self._type_json(t) for t in project.issue_types]})

    def _type_json(self, issue_type: dict[str, Any]) -> dict[str, Any]:
        return {"self": f"{self.url}{API}/issuetype/{issue_type['id']}", "description": "",
                "iconUrl": f"{self.url}/images/icons/{issue_type['id']}.svg", **issue_type}

    def _createmeta(self, request: Request, match: re.Match) -> Response:
        if not self.cloud and self.version >= (9, 0, 0):
            return self.not_found(request)  # removed in Data Center 9
        keys = ",".join(request.query.get("projectKeys", [])).split(",")
        type_ids = set(request.query.get("issuetypeIds", []))
        with_fields = "projects.issuetypes.fields" in ",".join(request.query.get("expand", []))
        projects = [p for p in self.projects.values() if p.key in keys]
        return self._answer(200, {"expand": "projects", "projects": [{
            "self": f"{self.url}{API}/project/{p.id}", "id": p.id, "key": p.key, "name": p.name,
            "issuetypes": [{**self._type_json(t), **({"fields": self._fields(p, t["id"])} if with_fields else {})}
                           for t in p.issue_types if not type_ids or t["id"] in type_ids]} for p in projects]})

    def _fields(self, project: Project, type_id: str) -> dict[str, dict[str, Any]]:
        return {fid: {"key": fid, "hasDefaultValue": False, "operations": ["set"], **f}
                for fid, f in project.fields[type_id].items()}

    def _page(self, items: list, key: str) -> dict[str, Any]:
        return {"maxResults": 50, "startAt": 0, "total": len(items), "isLast": True, key: items}

    def _createmeta_types(self, request: Request, match: re.Match) -> Response:
        project = self._find(match["key"])
        if project is None:
            return self._no_project(match["key"])
        types = [self._type_json(t) for t in project.issue_types]
        return self._answer(200, self._page(types, "issueTypes" if self.cloud else "values"))

    def _createmeta_fields(self, request: Request, match: re.Match) -> Response:
        project = self._find(match["key"])
        if project is None or match["type"] not in project.fields:
            return self._answer(404, {"errorMessages": ["Issue Does Not Exist"], "errors": {}})
        fields = [{"fieldId": fid, **f} for fid, f in self._fields(project, match["type"]).items()]
        return self._answer(200, self._page(fields, "fields" if self.cloud else "values"))

    def _create_issue(self, request: Request, match: re.Match) -> Response:
        fields = (request.json() or {}).get("fields", {})
        project = self._find(str((fields.get("project") or {}).get("id") or (fields.get("project") or {}).get("key")))
        if project is None:
            return self._answer(400, {"errorMessages": [], "errors": {"project": "valid project is required"}})
        type_id = str((fields.get("issuetype") or {}).get("id"))
        if type_id not in project.fields:
            return self._answer(400, {"errorMessages": [], "errors": {"issuetype": "valid issue type is required"}})
        errors = self._field_errors(project.fields[type_id], fields)
        if errors:
            return self._answer(400, {"errorMessages": [], "errors": errors})
        issue_id = str(next(self._ids))
        issue = {"id": issue_id, "key": f"{project.key}-{len(project.issues) + 1}", "self": f"{self.url}{API}/issue/{issue_id}",
                 "fields": {"labels": [], **fields, "status": self._status("new"), "created": "2026-01-01T00:00:00.000+0000"}}
        project.issues.append(issue)
        self.issues.append(issue)
        return self._answer(201, {k: issue[k] for k in ("id", "key", "self")})

    @staticmethod
    def _field_errors(screen: dict[str, dict[str, Any]], given: dict[str, Any]) -> dict[str, str]:
        errors = {fid: f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."
                  for fid in given if fid not in screen}
        errors.update({fid: f"{f['name']} is required." for fid, f in screen.items()
                       if f["required"] and not given.get(fid)})
        return errors

    def _issue(self, request: Request, match: re.Match) -> Response:
        issue = next((i for i in self.issues if i["key"] == match["key"]), None)
        if issue is None:
            return self._answer(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                                      "errors": {}})
        return self._answer(200, issue)

    # --- search and transitions ----------------------------------------------------------------------
    def _all_fields(self, request: Request, match: re.Match) -> Response:
        """GET field: every field of the site (the library reads it before a search, to translate names)."""
        known = {**STANDARD_FIELDS, "status": {"name": "Status", "schema": {"type": "status", "system": "status"}},
                 EPIC_NAME_ID: {"name": "Epic Name", "schema": {"type": "string", "customId": 10011}}}
        return self._answer(200, [{"id": fid, "key": fid, "name": f["name"], "custom": fid.startswith("customfield_"),
                                   "orderable": True, "navigable": True, "searchable": True,
                                   "clauseNames": [fid, f["name"].lower()], "schema": f["schema"]} for fid, f in known.items()])

    def _status(self, category: str) -> dict[str, Any]:
        status_id, name = STATUSES[category]
        return {"id": status_id, "name": self.done_transition if category == "done" else name,
                "statusCategory": {"key": category, "name": {"new": "To Do", "indeterminate": "In Progress",
                                                             "done": "Done"}[category]}}

    def _search_v2(self, request: Request, match: re.Match) -> Response:
        if self.cloud:  # removed from Cloud in 2025: clients must use /search/jql
            return self._answer(410, {"errorMessages": ["The requested API has been removed. Please migrate to the "
                                                        "/rest/api/3/search/jql API."], "errors": {}})
        return self._search(request, paged={"startAt": int(request.query.get("startAt", ["0"])[0])})

    def _search_jql(self, request: Request, match: re.Match) -> Response:
        if not self.cloud:
            return self.not_found(request)
        return self._search(request, paged={"isLast": True})

    def _search(self, request: Request, *, paged: dict[str, Any]) -> Response:
        jql = request.query.get("jql", [""])[0]
        matching = self._jql(jql)
        if isinstance(matching, str):
            return self._answer(400, {"errorMessages": [matching], "errors": {}})
        limit = int(request.query.get("maxResults", ["50"])[0])
        wanted = ",".join(request.query.get("fields", [])).split(",")
        issues = [{"id": i["id"], "key": i["key"], "self": i["self"],
                   "fields": {k: v for k, v in i["fields"].items() if "*all" in wanted or k in wanted}}
                  for i in matching[:limit]]
        extra = {} if self.cloud else {"total": len(matching), "maxResults": limit}
        return self._answer(200, {**paged, **extra, "issues": issues})

    def _jql(self, jql: str) -> list[dict[str, Any]] | str:
        """Issues matching `a = b AND c = d [ORDER BY created ASC|DESC]` (project, labels, key), or Jira's error."""
        where, *order = re.split(r"\s+ORDER\s+BY\s+", jql, maxsplit=1, flags=re.I)
        issues = list(self.issues)
        for clause in re.split(r"\s+AND\s+", where, flags=re.I) if where.strip() else []:
            found = JQL_CLAUSE.match(clause)
            if found is None or found[1].lower() not in ("project", "labels", "key"):
                return f"Error in the JQL Query: cannot parse '{clause.strip()}' (the fake knows field = value clauses)."
            name, value = found[1].lower(), found[2] if found[2] is not None else found[3]
            if name == "project" and self._find(value) is None:
                return f"The value '{value}' does not exist for the field 'project'."
            issues = [i for i in issues if self._matches(i, name, value)]
        if order:  # ids grow with creation, as `created` does
            issues.sort(key=lambda i: int(i["id"]), reverse=order[0].strip().upper().endswith("DESC"))
        return issues

    def _matches(self, issue: dict[str, Any], name: str, value: str) -> bool:
        if name == "labels":
            return value in issue["fields"].get("labels", [])  # JQL labels compare exactly (case-sensitive)
        if name == "key":
            return issue["key"] == value.upper()
        project = self._find(value)
        return issue["key"].rsplit("-", 1)[0] == project.key

    def _available(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        if issue["fields"]["status"]["statusCategory"]["key"] == "done":
            return [{"id": "41", "name": "Reopen", "to": self._status("new")}]
        return [{"id": "21", "name": "Start Progress", "to": self._status("indeterminate")},
                {"id": "31", "name": self.done_transition, "to": self._status("done")}]

    def _issue_or_404(self, key: str) -> dict[str, Any] | Response:
        issue = next((i for i in self.issues if i["key"] == key), None)
        return issue or self._answer(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                                           "errors": {}})

    def _transitions(self, request: Request, match: re.Match) -> Response:
        issue = self._issue_or_404(match["key"])
        if isinstance(issue, Response):
            return issue
        return self._answer(200, {"expand": "transitions", "transitions": self._available(issue)})

    def _transition(self, request: Request, match: re.Match) -> Response:
        issue = self._issue_or_404(match["key"])
        if isinstance(issue, Response):
            return issue
        wanted = str(((request.json() or {}).get("transition") or {}).get("id"))
        transition = next((t for t in self._available(issue) if t["id"] == wanted), None)
        if transition is None:
            return self._answer(400, {"errorMessages": [f"Transition id '{wanted}' is not valid for this issue."], "errors": {}})
        issue["fields"]["status"] = transition["to"]
        return self._answer(204, b"")
