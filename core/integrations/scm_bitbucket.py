"""Bitbucket Cloud through API 2.0 with a Bearer token (repository, project or workspace access token,
or a user's OAuth token); organization = workspace, repository = repository slug.

Whether the token can push is read in two ways. Every answer names the token's scopes in
`X-OAuth-Scopes`, and pushing needs `repository:write` (Bitbucket's docs: `repository:admin` does not
imply it). An access token (`X-Credential-Type: repo_access_token`, `project_access_token`,
`workspace_access_token`) is not a user, so its scopes are its permission and the user endpoints are
not asked. A user's token is also checked against the user's own permission on the repository
(`/user/permissions/repositories`: read, write or admin).
"""
from __future__ import annotations

from urllib.parse import quote

import requests

from core.errors import IntegrationError
from core.integrations.base import Commit, Comparison, IntegrationConfig, ProviderContext
from core.integrations.http import HttpClient

DEFAULT_BASE_URL = "https://api.bitbucket.org/2.0"
WRITE_SCOPE = "repository:write"
PUSHING = ("write", "admin")
WEB_URL = "https://bitbucket.org"
PAGE = 100  # the largest `pagelen` the commits endpoint takes


class BitbucketScm:
    """Reads branch heads and creates release branches in one Bitbucket Cloud repository."""

    def __init__(self, http: HttpClient, *, full_name: str, default_branch: str | None, token: str):
        self.http, self.full_name, self.default_branch, self._token = http, full_name, default_branch, token
        self.repo = f"repositories/{full_name}"

    def verify(self) -> None:
        """The token works, sees the repository and can push to it."""
        response = self._get(self.repo, what=f"repository {self.full_name}")
        self._check_scopes(response)
        if not response.headers.get("X-Credential-Type", "").endswith("access_token"):
            self._check_user_permission()
        if self.default_branch:
            self.branch_head(self.default_branch)

    def branch_head(self, branch: str) -> str:
        """The commit sha `branch` points at."""
        response = self._get(self._branch_path(branch), what=f"branch {branch} in {self.full_name}")
        return response.json()["target"]["hash"]

    def create_branch(self, name: str, from_branch: str) -> str:
        """Create `name` at `from_branch`'s head; an existing `name` at that same commit is success."""
        sha = self.branch_head(from_branch)
        response = self.http.post(f"{self.repo}/refs/branches", json={"name": name, "target": {"hash": sha}},
                                  expect=())
        if response.status_code == 201:
            return response.json()["target"]["hash"]
        if response.status_code in (400, 409):
            return self._existing(name, sha, from_branch, response)
        raise self._error(response, f"branch {name} in {self.full_name}")

    def compare(self, base_ref: str | None, head_ref: str, limit: int) -> Comparison:
        """`GET /commits?include=head&exclude=base`, newest first, following `next` until `limit` commits
        (Bitbucket does not count them: the total is known only when every page was read)."""
        params = {"include": head_ref, "pagelen": min(limit, PAGE)}
        if base_ref is not None:
            params["exclude"] = base_ref
        found, path = [], f"{self.repo}/commits"
        while path and len(found) < limit:
            page = self._get(path, what=f"{base_ref or head_ref} or {head_ref} in {self.full_name}", params=params).json()
            found += page.get("values") or []
            path, params = page.get("next"), None  # `next` carries the query
        commits = tuple(_commit(c) for c in found[:limit])
        total = None if path else len(found)
        where = (f"branches/compare/{quote(head_ref, safe='')}%0D{quote(base_ref, safe='')}" if base_ref
                 else f"commits/branch/{quote(head_ref, safe='')}")
        return Comparison(commits, total, f"{WEB_URL}/{self.full_name}/{where}")

    def _existing(self, name: str, sha: str, from_branch: str, refused: requests.Response) -> str:
        # A taken name answers 400 (BRANCH_ALREADY_EXISTS); so do bad names: look before deciding.
        current = self.http.get(self._branch_path(name), expect=())
        if current.status_code != 200:
            raise IntegrationError(f"Bitbucket refused to create branch {name}: {self._message(refused)} "
                                   f"({refused.status_code})", status=refused.status_code)
        head = current.json()["target"]["hash"]
        if head != sha:
            raise IntegrationError(f"branch {name} already exists in {self.full_name} at {head[:12]}, not at "
                                   f"{from_branch}'s head {sha[:12]}", status=409)
        return head

    def _check_scopes(self, response: requests.Response) -> None:
        header = response.headers.get("X-OAuth-Scopes")
        if header is None:
            return
        scopes = [s.strip() for s in header.split(",") if s.strip()]
        if WRITE_SCOPE not in scopes:
            raise IntegrationError(f"the Bitbucket token has scopes {', '.join(scopes) or 'none'}; "
                                   f"creating branches needs {WRITE_SCOPE}", status=403)

    def _check_user_permission(self) -> None:
        query = {"q": f'repository.full_name="{self.full_name}"'}
        values = self._get("user/permissions/repositories", what="the token's user", params=query).json()
        permission = next((v.get("permission") for v in values.get("values") or []), None)
        if permission not in PUSHING:
            raise IntegrationError(f"the token's user has {permission or 'no'} access to {self.full_name}; "
                                   "pushing needs write or admin", status=403)

    def _branch_path(self, branch: str) -> str:
        # Bitbucket takes slashes in branch names as they are (refs/branches/release/1.0).
        return f"{self.repo}/refs/branches/{quote(branch, safe='/')}"

    def _get(self, path: str, *, what: str, **kwargs) -> requests.Response:
        response = self.http.get(path, expect=(), **kwargs)
        if response.status_code != 200:
            raise self._error(response, what)
        return response

    def _error(self, response: requests.Response, what: str) -> IntegrationError:
        status = response.status_code
        if status == 401:
            return IntegrationError("Bitbucket rejected the token (401)", status=401)
        if status == 404:
            return IntegrationError(f"{what} does not exist or the token cannot see it (404)", status=404)
        if status == 403:
            return IntegrationError(f"Bitbucket refused access to {what}: {self._message(response)} (403)", status=403)
        return self.http.error(response)

    def _message(self, response: requests.Response) -> str:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            return "no reason given"
        text = str(error.get("message") or "no reason given")
        return text.replace(self._token, "[token]")[:300]


def _commit(item: dict) -> Commit:
    author = item.get("author") or {}
    name = (author.get("user") or {}).get("display_name") or (author.get("raw") or "someone").split(" <", 1)[0]
    url = ((item.get("links") or {}).get("html") or {}).get("href")
    return Commit(item["hash"], (item.get("message") or "").split("\n", 1)[0], name, url)


def build(config: IntegrationConfig, ctx: ProviderContext) -> BitbucketScm:
    """The Bitbucket client of an SCM integration (organization = workspace, repository = repo slug)."""
    token = (config.secrets.get("token") or "").strip()
    workspace = (config.fields.get("organization") or "").strip().strip("/")
    slug = (config.fields.get("repository") or "").strip().strip("/")
    if not token or not workspace or not slug:
        raise IntegrationError("the Bitbucket integration needs a token, an organization (workspace) and a repository")
    http = HttpClient(config.base_url or DEFAULT_BASE_URL, service="Bitbucket",
                      guard=ctx.guard, timeout=ctx.timeout,
                      headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    return BitbucketScm(http, full_name=f"{workspace}/{slug}", token=token,
                        default_branch=config.fields.get("defaultBranch") or None)
