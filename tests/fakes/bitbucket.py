"""A fake Bitbucket Cloud API 2.0, served under /2.0, written from Bitbucket's OpenAPI description and
support articles.

Routes: GET /repositories/{workspace}/{slug}, GET and POST /repositories/{workspace}/{slug}/refs/branches
(GET …/refs/branches/{name}, slashes in names unencoded), GET /user/permissions/repositories
(q=repository.full_name="ws/slug"). Tokens are Bearer tokens; every authenticated answer carries
`X-OAuth-Scopes`, and access tokens `X-Credential-Type` (repo_access_token, workspace_access_token).

Errors look like Bitbucket's: {"type": "error", "error": {"message": …, "detail": …}}: 401 for an
unknown token, 403 for a private repository the token may not see and for missing scopes ("Your
credentials lack one or more required privilege scopes."), 404 for what does not exist, 400 with
BRANCH_ALREADY_EXISTS for a taken branch name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.base import FakeServer, Request, Response
from tests.fakes.commits import FakeCommit, History

PREFIX = "/2.0"
REPO = f"{PREFIX}/repositories/([^/]+)/([^/]+)"


@dataclass
class Token:
    scopes: list[str]
    credential_type: str | None = None  # None: a user's token
    resource: str | None = None  # the repository (ws/slug) or workspace an access token is bound to
    permissions: dict[str, str] = field(default_factory=dict)  # a user's permission per repository


def error(status: int, message: str, **more: Any) -> Response:
    return Response(status, {"type": "error", "error": {"message": message, **more}})


class FakeBitbucket(FakeServer):
    name = "bitbucket"

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.repositories: dict[str, dict[str, str]] = {}  # full name -> branch -> hash
        self.history = History()
        super().__init__()

    # --- test helpers ----------------------------------------------------------------------------
    def add_repository(self, full_name: str, branches: dict[str, str]) -> None:
        self.repositories[full_name] = dict(branches)

    def push_commits(self, full_name: str, branch: str, messages: list[str], *, author: str = "Dev") -> list[str]:
        """Commit `messages` on top of `branch` (which moves to the last one); returns the new hashes."""
        shas = self.history.push(self.repositories[full_name][branch], messages, author=author)
        self.repositories[full_name][branch] = shas[-1]
        return shas

    def add_repository_token(self, token: str, full_name: str, scopes: list[str]) -> None:
        self.tokens[token] = Token(scopes, "repo_access_token", full_name)

    def add_workspace_token(self, token: str, workspace: str, scopes: list[str]) -> None:
        self.tokens[token] = Token(scopes, "workspace_access_token", workspace)

    def add_user_token(self, token: str, scopes: list[str], permissions: dict[str, str]) -> None:
        self.tokens[token] = Token(scopes, None, None, dict(permissions))

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", REPO, self._authorized(self._repository))
        self.route("GET", f"{REPO}/refs/branches/(.+)", self._authorized(self._branch))
        self.route("POST", f"{REPO}/refs/branches", self._authorized(self._create_branch))
        self.route("GET", f"{PREFIX}/user/permissions/repositories", self._authorized(self._permissions))
        self.route("GET", f"{REPO}/commits", self._authorized(self._commits))

    def not_found(self, request: Request) -> Response:
        return error(404, "Resource not found")

    def _authorized(self, handler):
        def wrapped(request: Request, match: re.Match) -> Response:
            value = request.headers.get("Authorization") or ""
            token = self.tokens.get(value[7:]) if value.startswith("Bearer ") else None
            if token is None:
                return error(401, "Token is invalid or not supported for this endpoint.")
            response = handler(request, match, token)
            response.headers["X-OAuth-Scopes"] = ", ".join(token.scopes)
            if token.credential_type:
                response.headers["X-Credential-Type"] = token.credential_type
            return response
        return wrapped

    def _access(self, token: Token, full_name: str) -> str | None:
        """read, write or admin for this token on the repository, None without access."""
        if token.credential_type == "repo_access_token":
            return "admin" if token.resource == full_name else None
        if token.credential_type == "workspace_access_token":
            return "admin" if full_name.split("/")[0] == token.resource else None
        return token.permissions.get(full_name)

    def _visible(self, token: Token, match: re.Match) -> tuple[str | None, Response | None]:
        full_name = f"{match.group(1)}/{match.group(2)}"
        if full_name not in self.repositories:
            return None, error(404, f"Repository {full_name} not found")
        if self._access(token, full_name) is None or not any(s.startswith("repository") for s in token.scopes):
            return None, error(403, "Access denied. You must have read access to this repository.")
        return full_name, None

    def _repository(self, request: Request, match: re.Match, token: Token) -> Response:
        full_name, refused = self._visible(token, match)
        if refused:
            return refused
        return Response(200, {"type": "repository", "full_name": full_name, "is_private": True, "scm": "git",
                              "mainbranch": {"type": "branch", "name": "main"}})

    def _branch(self, request: Request, match: re.Match, token: Token) -> Response:
        full_name, refused = self._visible(token, match)
        if refused:
            return refused
        name = match.group(3)
        if name not in self.repositories[full_name]:
            return error(404, f"Branch \"{name}\" not found")
        return Response(200, branch_json(full_name, name, self.repositories[full_name][name]))

    def _create_branch(self, request: Request, match: re.Match, token: Token) -> Response:
        full_name, refused = self._visible(token, match)
        if refused:
            return refused
        if "repository:write" not in token.scopes:
            return error(403, "Your credentials lack one or more required privilege scopes.",
                         detail={"granted": token.scopes, "required": ["repository:write"]})
        if self._access(token, full_name) not in ("write", "admin"):
            return error(403, "You do not have write access to this repository.")
        payload = request.json() or {}
        return self._new_branch(full_name, payload.get("name"), (payload.get("target") or {}).get("hash"))

    def _new_branch(self, full_name: str, name: str | None, target: str | None) -> Response:
        branches = self.repositories[full_name]
        # A full hash or a short prefix of one, as Bitbucket accepts.
        sha = next((h for h in branches.values() if target and h.startswith(target)), None)
        if not name or sha is None:
            return error(400, "Invalid branch name or target", data={"key": "INVALID_REQUEST"})
        if name in branches:
            return error(400, f"BRANCH_ALREADY_EXISTS: Branch \"{name}\" already exists",
                         data={"key": "BRANCH_ALREADY_EXISTS"})
        branches[name] = sha
        return Response(201, branch_json(full_name, name, sha))

    def _commits(self, request: Request, match: re.Match, token: Token) -> Response:
        """Commits reachable from `include` and not from `exclude`, newest first, paged: `pagelen` (at most 100)
        per page and a `next` link carrying the page number (no `size`: Bitbucket does not count commits)."""
        full_name, refused = self._visible(token, match)
        if refused:
            return refused
        branches = self.repositories[full_name]

        def resolve(ref: str) -> str | None:
            return branches.get(ref) or (ref if ref in self.history.commits or ref in branches.values() else None)

        include = [resolve(r) for r in request.query.get("include") or [next(iter(branches))]]
        exclude = [resolve(r) for r in request.query.get("exclude") or []]
        if None in include or None in exclude:
            return error(404, "Commit not found")
        try:
            pagelen = min(int((request.query.get("pagelen") or ["30"])[0]), 100)
            page = max(int((request.query.get("page") or ["1"])[0]), 1)
        except ValueError:
            return error(400, "Invalid page")
        log = list(reversed(self.history.between(exclude[0], include[0]))) if exclude else self.history.log(include[0])
        body = {"pagelen": pagelen, "page": page,
                "values": [self._commit_json(full_name, c) for c in log[(page - 1) * pagelen:page * pagelen]]}
        if page * pagelen < len(log):
            query = "&".join([f"include={r}" for r in request.query.get("include") or []]
                             + [f"exclude={r}" for r in request.query.get("exclude") or []] + [f"pagelen={pagelen}", f"page={page + 1}"])
            body["next"] = f"{self.url}{PREFIX}/repositories/{full_name}/commits?{query}"
        return Response(200, body)

    def _commit_json(self, full_name: str, commit: FakeCommit) -> dict:
        return {"type": "commit", "hash": commit.sha, "date": commit.at.isoformat(), "message": commit.message,
                "summary": {"raw": commit.message, "markup": "markdown", "html": commit.message},
                "author": {"type": "author", "raw": f"{commit.author} <{commit.email}>"},
                "parents": [{"type": "commit", "hash": commit.parent}] if commit.parent else [],
                "links": {"html": {"href": f"https://bitbucket.org/{full_name}/commits/{commit.sha}"}}}

    def _permissions(self, request: Request, match: re.Match, token: Token) -> Response:
        if token.credential_type:
            return error(403, "This endpoint is not available to access tokens.")
        wanted = re.search(r'repository\.full_name\s*=\s*"([^"]+)"', (request.query.get("q") or [""])[0])
        values = [{"type": "repository_permission", "permission": permission,
                   "repository": {"type": "repository", "full_name": name}}
                  for name, permission in token.permissions.items() if wanted is None or wanted.group(1) == name]
        return Response(200, {"pagelen": 10, "page": 1, "size": len(values), "values": values})


def branch_json(full_name: str, name: str, sha: str) -> dict:
    return {"type": "branch", "name": name, "default_merge_strategy": "merge_commit",
            "target": {"type": "commit", "hash": sha, "repository": {"type": "repository", "full_name": full_name}},
            "links": {"html": {"href": f"https://bitbucket.org/{full_name}/branch/{name}"}}}
