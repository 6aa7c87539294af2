"""A fake GitLab REST API v4, served under /api/v4, written from GitLab's API docs.

Routes: GET /projects/:id (URL-encoded path only: an unencoded slash is another route, 404, as on
GitLab), GET /user, GET /personal_access_tokens/self, GET /projects/:id/members/all/:user_id,
GET /projects/:id/repository/branches/:branch, POST /projects/:id/repository/branches
(?branch=&ref=, a sha or a branch name). Tokens go in the PRIVATE-TOKEN header.

Errors look like GitLab's: 401 {"message": "401 Unauthorized"}, 404 {"message": "404 Project Not Found"}
or "404 Branch Not Found", 403 insufficient_scope {"error", "error_description", "scope"}, 400
{"message": "Branch already exists"} and {"message": "Invalid reference name: …"}. Quirk kept:
`permissions.project_access` and `group_access` are null when the access comes from a parent group.
"""
from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from tests.fakes.base import FakeServer, Request, Response
from tests.fakes.commits import FakeCommit, History

PREFIX = "/api/v4"
SEGMENT = "([^/]+)"


@dataclass
class Token:
    user_id: int
    scopes: list[str] = field(default_factory=lambda: ["api"])


@dataclass
class Membership:
    level: int
    via: str = "project"  # project | group | parent_group


def authorized(handler):
    """Answer 401 unless PRIVATE-TOKEN is a known token; pass the token on."""
    def wrapped(self, request: Request, match: re.Match) -> Response:
        token = self.tokens.get(request.headers.get("PRIVATE-TOKEN") or "")
        if token is None:
            return Response(401, {"message": "401 Unauthorized"})
        return handler(self, request, match, token)
    return wrapped


class FakeGitLab(FakeServer):
    name = "gitlab"

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.projects: dict[str, dict] = {}
        self.branches: dict[str, dict[str, str]] = {}
        self.members: dict[tuple[str, int], Membership] = {}
        self._ids = itertools.count(101)
        self.history = History()
        super().__init__()

    # --- test helpers ----------------------------------------------------------------------------
    def add_token(self, token: str, *, user_id: int = 7, scopes: list[str] | None = None) -> None:
        self.tokens[token] = Token(user_id, scopes if scopes is not None else ["api"])

    def add_project(self, path: str, *, branches: dict[str, str] | None = None) -> dict:
        project = {"id": next(self._ids), "path_with_namespace": path, "default_branch": "main",
                   "name": path.rsplit("/", 1)[-1]}
        self.projects[path] = project
        self.branches[path] = dict(branches or {"main": sha_of("main")})
        return project

    def push_commits(self, path: str, branch: str, messages: list[str], *, author: str = "Dev") -> list[str]:
        """Commit `messages` on top of `branch` (which moves to the last one); returns the new shas."""
        shas = self.history.push(self.branches[path][branch], messages, author=author)
        self.branches[path][branch] = shas[-1]
        return shas

    def grant(self, path: str, user_id: int, level: int, *, via: str = "project") -> None:
        self.members[(path, user_id)] = Membership(level, via)

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        project = f"{PREFIX}/projects/{SEGMENT}"
        self.route("GET", f"{PREFIX}/user", self._user)
        self.route("GET", f"{PREFIX}/personal_access_tokens/self", self._token_self)
        self.route("GET", project, self._project)
        self.route("GET", f"{project}/members/all/(\\d+)", self._member)
        self.route("GET", f"{project}/repository/branches/{SEGMENT}", self._branch)
        self.route("POST", f"{project}/repository/branches", self._create_branch)
        self.route("GET", f"{project}/repository/compare", self._compare)
        self.route("GET", f"{project}/repository/commits", self._commits)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": "404 Not Found"})

    def _visible(self, match: re.Match, token: Token) -> str | None:
        path = unquote(match.group(1))
        if path not in self.projects or (path, token.user_id) not in self.members:
            return None
        return path

    @authorized
    def _user(self, request: Request, match: re.Match, token: Token) -> Response:
        return Response(200, {"id": token.user_id, "username": f"user{token.user_id}", "state": "active"})

    @authorized
    def _token_self(self, request: Request, match: re.Match, token: Token) -> Response:
        return Response(200, {"id": 1, "name": "releasebot", "scopes": token.scopes, "active": True,
                              "revoked": False, "user_id": token.user_id})

    @authorized
    def _project(self, request: Request, match: re.Match, token: Token) -> Response:
        path = self._visible(match, token)
        if path is None:
            return Response(404, {"message": "404 Project Not Found"})
        member = self.members[(path, token.user_id)]
        access = {"access_level": member.level, "notification_level": 3}
        permissions = {"project_access": access if member.via == "project" else None,
                       "group_access": access if member.via == "group" else None}
        return Response(200, {**self.projects[path], "permissions": permissions})

    @authorized
    def _member(self, request: Request, match: re.Match, token: Token) -> Response:
        path = self._visible(match, token)
        member = self.members.get((path, int(match.group(2)))) if path else None
        if member is None:
            return Response(404, {"message": "404 Not found"})
        return Response(200, {"id": int(match.group(2)), "access_level": member.level, "state": "active"})

    @authorized
    def _branch(self, request: Request, match: re.Match, token: Token) -> Response:
        path = self._visible(match, token)
        if path is None:
            return Response(404, {"message": "404 Project Not Found"})
        name = unquote(match.group(2))
        if name not in self.branches[path]:
            return Response(404, {"message": "404 Branch Not Found"})
        return Response(200, branch_json(name, self.branches[path][name]))

    @authorized
    def _create_branch(self, request: Request, match: re.Match, token: Token) -> Response:
        path = self._visible(match, token)
        if path is None:
            return Response(404, {"message": "404 Project Not Found"})
        if "api" not in token.scopes:
            return Response(403, {"error": "insufficient_scope", "scope": "api", "error_description":
                                  "The request requires higher privileges than provided by the access token."})
        if self.members[(path, token.user_id)].level < 30:
            return Response(403, {"message": "403 Forbidden"})
        return self._new_branch(path, _param(request, "branch"), _param(request, "ref"))

    def _resolve(self, path: str, ref: str | None) -> str | None:
        branches = self.branches[path]
        return branches.get(ref or "") or (ref if ref in self.history.commits or ref in branches.values() else None)

    def _commit_json(self, path: str, commit: FakeCommit) -> dict:
        at = commit.at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {"id": commit.sha, "short_id": commit.sha[:8], "title": commit.title, "message": commit.message,
                "author_name": commit.author, "author_email": commit.email, "authored_date": at,
                "committer_name": commit.author, "committer_email": commit.email, "committed_date": at, "created_at": at,
                "parent_ids": [commit.parent] if commit.parent else [],
                "web_url": f"{self.url}/{path}/-/commit/{commit.sha}"}

    @authorized
    def _compare(self, request: Request, match: re.Match, token: Token) -> Response:
        """Compare from...to (through their merge base unless straight=true): every commit, oldest first, no paging."""
        path = self._visible(match, token)
        if path is None:
            return Response(404, {"message": "404 Project Not Found"})
        ref_from, ref_to = _param(request, "from"), _param(request, "to")
        if not ref_from or not ref_to:
            return Response(400, {"error": "from is missing, to is missing"})
        base, head = self._resolve(path, ref_from), self._resolve(path, ref_to)
        if base is None or head is None:
            return Response(404, {"message": "404 Ref Not Found"})
        commits = self.history.between(base, head)
        last = self._commit_json(path, commits[-1]) if commits else None
        return Response(200, {"commit": last, "commits": [self._commit_json(path, c) for c in commits], "diffs": [],
                              "compare_timeout": False, "compare_same_ref": base == head,
                              "web_url": f"{self.url}/{path}/-/compare/{ref_from}...{ref_to}"})

    @authorized
    def _commits(self, request: Request, match: re.Match, token: Token) -> Response:
        """List a ref's commits, newest first, paged by per_page (at most 100) and page."""
        path = self._visible(match, token)
        if path is None:
            return Response(404, {"message": "404 Project Not Found"})
        head = self._resolve(path, _param(request, "ref_name") or "main")
        if head is None:
            return Response(404, {"message": "404 Commit Not Found"})
        try:
            per_page = min(int(_param(request, "per_page") or 20), 100)
            page = max(int(_param(request, "page") or 1), 1)
        except ValueError:
            return Response(400, {"error": "per_page is invalid, page is invalid"})
        log = self.history.log(head)
        return Response(200, [self._commit_json(path, c) for c in log[(page - 1) * per_page:page * per_page]],
                        {"X-Total": str(len(log)), "X-Page": str(page), "X-Per-Page": str(per_page)})

    def _new_branch(self, path: str, name: str | None, ref: str | None) -> Response:
        if not name or not ref:
            return Response(400, {"error": "branch is missing, ref is missing"})
        branches = self.branches[path]
        sha = branches.get(ref) or (ref if ref in branches.values() else None)
        if sha is None:
            return Response(400, {"message": f"Invalid reference name: {ref}"})
        if name in branches:
            return Response(400, {"message": "Branch already exists"})
        branches[name] = sha
        return Response(201, branch_json(name, sha))


def _param(request: Request, name: str) -> str | None:
    values = request.query.get(name) or (request.form().get(name) if request.body else None)
    return values[0] if values else None


def sha_of(text: str) -> str:
    """A stable 40-hex commit id for a label."""
    return hashlib.sha1(text.encode()).hexdigest()


def branch_json(name: str, sha: str) -> dict:
    return {"name": name, "merged": False, "protected": name == "main", "default": name == "main",
            "developers_can_push": False, "developers_can_merge": False, "can_push": True,
            "web_url": f"https://gitlab.example.com/-/tree/{name}",
            "commit": {"id": sha, "short_id": sha[:8], "title": "Commit", "message": "Commit",
                       "parent_ids": [], "author_name": "Dev", "authored_date": "2024-05-01T10:00:00.000Z"}}
