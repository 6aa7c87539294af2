"""GitLab (gitlab.com or self-managed) through REST API v4 with a personal, project or group access token.

The project is addressed by its URL-encoded path (`acme%2Fapp`), branch names likewise. Pushing needs
Developer (30) or higher. `GET /projects/:id` reports the caller's level in `permissions`, but leaves
both entries null when the access is inherited from a parent group; the member list that includes
inherited members (`members/all`) answers then.
"""
from __future__ import annotations

from urllib.parse import quote

import requests

from core.errors import IntegrationError
from core.integrations.base import Commit, Comparison, IntegrationConfig, ProviderContext, history_url
from core.integrations.http import HttpClient

DEFAULT_BASE_URL = "https://gitlab.com/api/v4"
DEVELOPER = 30
LEVELS = {0: "no", 5: "Minimal", 10: "Guest", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner"}


def _encoded(value: str) -> str:
    return quote(value, safe="")


class GitLabScm:
    """Reads branch heads and creates release branches in one GitLab project."""

    def __init__(self, http: HttpClient, *, path: str, default_branch: str | None, token: str):
        self.http, self.path, self.default_branch, self._token = http, path, default_branch, token
        self.project = f"projects/{_encoded(path)}"

    def verify(self) -> None:
        """The token works, sees the project, may use the API for writes and can push."""
        project = self._get(self.project, what=f"project {self.path}").json()
        self._check_scopes()
        level = self._access_level(project)
        if level < DEVELOPER:
            raise IntegrationError(
                f"the token's user has {LEVELS.get(level, level)} access to {self.path}; "
                f"pushing needs Developer ({DEVELOPER}) or higher", status=403)
        if self.default_branch:
            self.branch_head(self.default_branch)

    def branch_head(self, branch: str) -> str:
        """The commit sha `branch` points at."""
        response = self._get(self._branch_path(branch), what=f"branch {branch} in {self.path}")
        return response.json()["commit"]["id"]

    def create_branch(self, name: str, from_branch: str) -> str:
        """Create `name` at `from_branch`'s head; an existing `name` at that same commit is success."""
        sha = self.branch_head(from_branch)
        response = self.http.post(f"{self.project}/repository/branches", params={"branch": name, "ref": sha},
                                  expect=())
        if response.status_code == 201:
            return response.json()["commit"]["id"]
        if response.status_code == 400:
            return self._existing(name, sha, from_branch, response)
        raise self._error(response, f"branch {name} in {self.path}")

    def compare(self, base_ref: str | None, head_ref: str, limit: int) -> Comparison:
        """`GET /repository/compare?from=base&to=head` (every commit in one answer, oldest first: GitLab does not
        page it). Without a base, `GET /repository/commits?ref_name=head`, newest first."""
        what = f"{base_ref} or {head_ref} in {self.path}"
        if base_ref is None:
            found = self._get(f"{self.project}/repository/commits", what=what,
                              params={"ref_name": head_ref, "per_page": min(limit, 100)}).json()[:limit]
            commits = tuple(_commit(c) for c in found)
            return Comparison(commits, None if len(commits) == limit else len(commits),
                              history_url(commits[0].url if commits else None, "/-/commit/", head_ref))
        answer = self._get(f"{self.project}/repository/compare", what=what, params={"from": base_ref, "to": head_ref}).json()
        listed = answer.get("commits") or []
        return Comparison(tuple(_commit(c) for c in reversed(listed[-limit:])), len(listed), answer.get("web_url"))

    def _existing(self, name: str, sha: str, from_branch: str, refused: requests.Response) -> str:
        # GitLab answers 400 "Branch already exists" whatever the branch points at: look before deciding.
        current = self.http.get(self._branch_path(name), expect=())
        if current.status_code != 200:
            raise IntegrationError(f"GitLab refused to create branch {name}: {self._message(refused)} (400)",
                                   status=400)
        head = current.json()["commit"]["id"]
        if head != sha:
            raise IntegrationError(f"branch {name} already exists in {self.path} at {head[:12]}, not at "
                                   f"{from_branch}'s head {sha[:12]}", status=409)
        return head

    def _check_scopes(self) -> None:
        response = self.http.get("personal_access_tokens/self", expect=())
        if response.status_code != 200:
            return  # GitLab before 15.5 has no such endpoint; the push itself will tell
        scopes = response.json().get("scopes") or []
        if "api" not in scopes:
            raise IntegrationError(f"the GitLab token has scopes {', '.join(scopes) or 'none'}; "
                                   "creating branches needs the api scope", status=403)

    def _access_level(self, project: dict) -> int:
        permissions = project.get("permissions") or {}
        levels = [(permissions.get(k) or {}).get("access_level") or 0 for k in ("project_access", "group_access")]
        return max(levels) or self._inherited_level()

    def _inherited_level(self) -> int:
        user = self._get("user", what="the token's user").json()
        member = self.http.get(f"{self.project}/members/all/{user['id']}", expect=())
        return member.json().get("access_level", 0) if member.status_code == 200 else 0

    def _branch_path(self, branch: str) -> str:
        return f"{self.project}/repository/branches/{_encoded(branch)}"

    def _get(self, path: str, *, what: str, **kwargs) -> requests.Response:
        response = self.http.get(path, expect=(), **kwargs)
        if response.status_code != 200:
            raise self._error(response, what)
        return response

    def _error(self, response: requests.Response, what: str) -> IntegrationError:
        status = response.status_code
        if status == 401:
            return IntegrationError("GitLab rejected the token (401)", status=401)
        if status == 404:
            return IntegrationError(f"{what} does not exist or the token cannot see it (404)", status=404)
        if status == 403:
            return IntegrationError(f"GitLab refused access to {what}: {self._message(response)} (403)", status=403)
        return self.http.error(response)

    def _message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return "no reason given"
        text = str(body.get("message") or body.get("error_description") or body.get("error") or "no reason given")
        # Never pass on a token GitLab might echo.
        return text.replace(self._token, "[token]")[:300]


def _commit(item: dict) -> Commit:
    title = item.get("title") or (item.get("message") or "").split("\n", 1)[0]
    return Commit(item["id"], title, item.get("author_name") or "someone", item.get("web_url"))


def build(config: IntegrationConfig, ctx: ProviderContext) -> GitLabScm:
    """The GitLab client of an SCM integration (organization = group path, repository = project path)."""
    token = (config.secrets.get("token") or "").strip()
    group = (config.fields.get("organization") or "").strip().strip("/")
    repository = (config.fields.get("repository") or "").strip().strip("/")
    if not token or not group or not repository:
        raise IntegrationError("the GitLab integration needs a token, an organization (group) and a repository")
    http = HttpClient(config.base_url or DEFAULT_BASE_URL, service="GitLab", guard=ctx.guard,
                      headers={"PRIVATE-TOKEN": token, "Accept": "application/json"}, timeout=ctx.timeout)
    return GitLabScm(http, path=f"{group}/{repository}", default_branch=config.fields.get("defaultBranch") or None,
                     token=token)
