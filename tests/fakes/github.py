"""A fake GitHub REST API (api.github.com, or GitHub Enterprise Server under /api/v3), written from
GitHub's REST docs, changelog and the error bodies people report from the real service.

Routes (under `prefix`, "" like api.github.com or "/api/v3" like GHES):
  GET  /repos/{o}/{r}                                    repository, with the caller's `permissions`
  GET  /repos/{o}/{r}/git/ref/heads/{branch}             one branch ref (`object.sha`); 409 on an empty repo
  POST /repos/{o}/{r}/git/refs                           {"ref": "refs/heads/x", "sha"} → 201
  GET  /repos/{o}/{r}/contents/{path}?ref=               a file, base64 in lines of 60 characters
  GET  /repos/{o}/{r}/actions/workflows/{id|file name}
  POST /repos/{o}/{r}/actions/workflows/{id}/dispatches  204, or 200 {workflow_run_id, run_url, html_url}
                                                         when the body asks `return_run_details`
  GET  /repos/{o}/{r}/actions/workflows/{id}/runs        newest first; ?event= &branch= &status= &per_page= &page=
  GET  /repos/{o}/{r}/actions/runs/{id}
  GET  /repos/{o}/{r}/actions/runs/{id}/artifacts
  POST /repos/{o}/{r}/actions/runs/{id}/cancel           202; 409 once completed
  GET  /rate_limit, GET /user

Behaviour kept from the real one:
- `Authorization: Bearer <token>` or `token <token>`; an unknown token is 401 {"message": "Bad credentials"};
  no header is an anonymous caller, who sees public repositories only.
- A private repository the caller cannot see is 404 {"message": "Not Found"}: GitHub hides its existence.
- `permissions` in the repository reflect the *user's* role; a fine-grained token limited to
  Contents/Actions "read" still shows push: true there, and is refused (403 "Resource not accessible
  by personal access token") only when it writes.
- Errors carry `message`, `documentation_url` and `status` (a string), as GitHub's do now.
- Every answer carries X-RateLimit-Limit/-Remaining/-Reset/-Used/-Resource and X-GitHub-Request-Id.
  `exhaust_rate_limit()` makes the primary limit run out (403, X-RateLimit-Remaining: 0, "API rate
  limit exceeded for user ID …", no Retry-After); `secondary_limit()` answers 403 with Retry-After.
- An unsupported X-GitHub-Api-Version is 400.
- git/refs: 422 "Reference already exists" whatever the existing branch points at; 422 "Object does
  not exist" for an unknown sha; 422 for a ref not under refs/ with two slashes.
- Dispatch: 404 for an unknown workflow; 422 "Cannot trigger a 'workflow_dispatch' on a disabled
  workflow"; 422 "No ref found for: X"; 422 "Workflow does not have 'workflow_dispatch' trigger";
  422 'Unexpected inputs provided: ["X"]'; 422 "Required input 'X' not provided". Defaults of
  undeclared-but-optional inputs are filled in. `supports_run_details = False` plays an older GHES
  that ignores `return_run_details` and always answers 204.
- A run's `display_title` is the workflow's `run-name` with `${{ inputs.X }}`,
  `${{ github.event.inputs.X }}`, `${{ github.ref_name }}`, `${{ github.actor }}` and
  `${{ github.workflow }}` substituted (other expressions render empty), else the workflow's name.
- `list_lag`: a new run is left out of the runs list for that many list requests (GitHub lists a
  dispatched run a few seconds late).
- Cancelling is asynchronous: the run still reads as before until the next GET of it, which shows
  it completed/cancelled.
Auto-advance, as in the Jenkins fake: `start_after_polls` (queued → in_progress after that many GETs
of the run), `finish_after_polls` (in_progress → completed with `auto_conclusion`).
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import yaml

from tests.fakes.base import FakeServer, Request, Response
from tests.fakes.commits import FakeCommit, History

DOCS = "https://docs.github.com/rest"
API_VERSIONS = ("2022-11-28",)
SEGMENT = "([^/]+)"
ROLES = ("pull", "triage", "push", "maintain", "admin")
RELEASE_WORKFLOW = """\
name: Release
run-name: Release ${{ inputs.RELEASE_VERSION }} [${{ inputs.RELEASEBOT_KEY }}]
on:
  workflow_dispatch:
    inputs:
      RELEASE_VERSION:
        description: Version to build
        required: true
      BRANCH:
        description: Release branch
        required: true
      RELEASEBOT_KEY:
        description: Set by releasebot to find this run again
        required: false
        default: ""
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo building
"""


def sha_of(text: str) -> str:
    """A stable 40-hex commit id for a label."""
    return hashlib.sha1(text.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, doc: str = "") -> Response:
    return Response(status, {"message": message, "documentation_url": f"{DOCS}{doc}", "status": str(status)})


@dataclass
class Token:
    login: str
    user_id: int
    fine_grained: bool = False
    contents: str = "write"  # a fine-grained token's own permission: read | write
    actions: str = "write"


@dataclass
class Workflow:
    id: int
    name: str
    path: str
    state: str = "active"  # active | disabled_manually | disabled_inactivity
    next_run_number: int = 1


@dataclass
class Run:
    id: int
    workflow_id: int
    run_number: int
    inputs: dict[str, str]
    branch: str
    head_sha: str
    display_title: str
    actor: str
    status: str = "queued"
    conclusion: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_started_at: datetime | None = None
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    artifacts: list[str] = field(default_factory=list)
    polls: int = 0
    hidden_for: int = 0
    cancel_requested: bool = False


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool = True
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    runs: dict[int, Run] = field(default_factory=dict)
    commits: set[str] = field(default_factory=set)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class FakeGitHub(FakeServer):
    name = "github"

    def __init__(self, *, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}
        self.grants: dict[tuple[str, str], str] = {}
        self._ids = itertools.count(1001)
        self._run_ids = itertools.count(9_100_000_001)
        self.supports_run_details = True
        self.list_lag = 0
        self.start_after_polls: int | None = None
        self.finish_after_polls: int | None = None
        self.auto_conclusion = "success"
        self.rate_limit = 5000
        self.remaining = 5000
        self.reset_at = int(time.time()) + 3600
        self.rate_limit_status = 403
        self._secondary: list[list] = []  # [times, retry_after, status]
        self.history = History()
        super().__init__()

    # --- test helpers ----------------------------------------------------------------------------
    def add_token(self, token: str, login: str = "releasebot", *, fine_grained: bool = False,
                  contents: str = "write", actions: str = "write") -> Token:
        self.tokens[token] = Token(login, 500 + len(self.tokens), fine_grained, contents, actions)
        return self.tokens[token]

    def add_repo(self, full_name: str, *, private: bool = True, default_branch: str = "main",
                 branches: dict[str, str] | None = None) -> Repo:
        owner, name = full_name.split("/", 1)
        repo = Repo(next(self._ids), owner, name, private, default_branch)
        for branch, sha in (branches if branches is not None else {default_branch: sha_of(default_branch)}).items():
            self.add_branch(repo, branch, sha)
        self.repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> Repo:
        return self.repos[full_name.lower()]

    def add_branch(self, repo: Repo | str, name: str, sha: str | None = None) -> str:
        repo = self.repo(repo) if isinstance(repo, str) else repo
        sha = sha or sha_of(f"{repo.full_name}:{name}")
        repo.branches[name] = sha
        repo.commits.add(sha)
        return sha

    def push_commits(self, repo: Repo | str, branch: str, messages: list[str], *, author: str = "Dev") -> list[str]:
        """Commit `messages` on top of `branch` (which moves to the last one); returns the new shas."""
        repo = self.repo(repo) if isinstance(repo, str) else repo
        shas = self.history.push(repo.branches[branch], messages, author=author)
        repo.commits.update(shas)
        repo.branches[branch] = shas[-1]
        return shas

    def grant(self, full_name: str, login: str, role: str = "push") -> None:
        """Give a user a role (pull, triage, push, maintain, admin) on a repository."""
        self.grants[(full_name.lower(), login)] = role

    def add_workflow(self, repo: Repo | str, file: str, *, yaml_text: str = RELEASE_WORKFLOW,
                     state: str = "active") -> Workflow:
        repo = self.repo(repo) if isinstance(repo, str) else repo
        path = f".github/workflows/{file}"
        try:
            doc = yaml.safe_load(yaml_text)
        except yaml.YAMLError:
            doc = None
        name = doc.get("name") if isinstance(doc, dict) and doc.get("name") else path
        workflow = Workflow(next(self._ids) + 160_000_000, str(name), path, state)
        repo.workflows[workflow.id] = workflow
        repo.files[path] = yaml_text
        return workflow

    def start_run(self, run_id: int) -> Run:
        with self.lock:
            run = self._run(run_id)
            run.status, run.run_started_at = "in_progress", datetime.now(UTC)
            run.updated_at, run.polls = run.run_started_at, 0
            return run

    def finish_run(self, run_id: int, conclusion: str = "success", *, artifacts: list[str] | None = None,
                   duration_seconds: float = 93) -> Run:
        with self.lock:
            run = self._run(run_id)
            if run.run_started_at is None:
                run.run_started_at = datetime.now(UTC)
            run.status, run.conclusion = "completed", conclusion
            run.updated_at = run.run_started_at + timedelta(seconds=duration_seconds)
            run.artifacts = artifacts if artifacts is not None else (["app-release"] if conclusion == "success" else [])
            return run

    def runs_with(self, key: str) -> list[Run]:
        """Every run whose inputs carry this RELEASEBOT_KEY, in any repository."""
        return [r for repo in self.repos.values() for r in repo.runs.values() if r.inputs.get("RELEASEBOT_KEY") == key]

    def all_runs(self) -> list[Run]:
        return [r for repo in self.repos.values() for r in repo.runs.values()]

    def exhaust_rate_limit(self, *, reset_in: float = 60, status: int = 403) -> None:
        """The primary limit runs out until `reset_in` seconds from now."""
        self.remaining, self.reset_at, self.rate_limit_status = 0, int(time.time() + reset_in), status

    def secondary_limit(self, *, times: int = 1, retry_after: float = 1, status: int = 403) -> None:
        """The next `times` requests hit a secondary rate limit, with Retry-After."""
        self._secondary.append([times, retry_after, status])

    def _run(self, run_id: int) -> Run:
        return next(repo.runs[run_id] for repo in self.repos.values() if run_id in repo.runs)

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        p = self.prefix
        repo = f"{p}/repos/{SEGMENT}/{SEGMENT}"
        self.route("GET", f"{p}/rate_limit", self._rate_limit_json)
        self.route("GET", f"{p}/user", self._user)
        self.route("GET", repo, self._repo_json)
        self.route("GET", f"{repo}/git/ref/(.+)", self._get_ref)
        self.route("POST", f"{repo}/git/refs", self._create_ref)
        self.route("GET", f"{repo}/contents/(.+)", self._contents)
        self.route("GET", f"{repo}/compare/(.+)", self._compare)
        self.route("GET", f"{repo}/commits", self._commits)
        self.route("GET", f"{repo}/actions/workflows/{SEGMENT}", self._workflow)
        self.route("POST", f"{repo}/actions/workflows/{SEGMENT}/dispatches", self._create_dispatch)
        self.route("GET", f"{repo}/actions/workflows/{SEGMENT}/runs", self._runs)
        self.route("GET", f"{repo}/actions/runs/(\\d+)", self._get_run)
        self.route("GET", f"{repo}/actions/runs/(\\d+)/artifacts", self._artifacts)
        self.route("POST", f"{repo}/actions/runs/(\\d+)/cancel", self._cancel)

    def not_found(self, request: Request) -> Response:
        return _error(404, "Not Found")

    def _route(self, request: Request) -> Response:
        response = self._gate(request)
        if response is None:
            response = super()._route(request)
        response.headers.update({
            "X-RateLimit-Limit": str(self.rate_limit), "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(self.reset_at), "X-RateLimit-Used": str(self.rate_limit - max(self.remaining, 0)),
            "X-RateLimit-Resource": "core", "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            "X-GitHub-Media-Type": "github.v3; format=json", "X-GitHub-Api-Version-Selected": API_VERSIONS[0]})
        return response

    def _gate(self, request: Request) -> Response | None:
        """Version, credentials and rate limits, before any route."""
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in API_VERSIONS:
            return _error(400, f"API version {version} is not supported.", "/about-the-rest-api/api-versions")
        header = request.headers.get("Authorization")
        if header is not None and self._token(request) is None:
            return _error(401, "Bad credentials")
        with self.lock:
            if self.remaining <= 0 and time.time() >= self.reset_at:
                self.remaining, self.reset_at = self.rate_limit, int(time.time()) + 3600
            if self.remaining <= 0:
                token = self._token(request)
                who = f"user ID {token.user_id}" if token else "127.0.0.1"
                return _error(self.rate_limit_status, f"API rate limit exceeded for {who}. If you reach out to GitHub "
                              "Support for help, please include the request ID.",
                              "/overview/rate-limits-for-the-rest-api")
            if self._secondary:
                entry = self._secondary[0]
                entry[0] -= 1
                if entry[0] <= 0:
                    self._secondary.pop(0)
                response = _error(entry[2], "You have exceeded a secondary rate limit. Please wait a few minutes "
                                  "before you try again.", "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
                response.headers["Retry-After"] = str(entry[1])
                return response
            if request.path != f"{self.prefix}/rate_limit":
                self.remaining -= 1
        return None

    def _token(self, request: Request) -> Token | None:
        scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
        return self.tokens.get(value.strip()) if scheme.lower() in ("bearer", "token") else None

    def _role(self, repo: Repo, token: Token | None) -> str | None:
        role = self.grants.get((repo.full_name.lower(), token.login)) if token else None
        return role or (None if repo.private else "pull")

    def _visible(self, request: Request, match: re.Match, need: str = "pull",
                 token_permission: str | None = None) -> tuple[Repo | None, Response | None]:
        """The repository, or the answer GitHub gives this caller instead."""
        repo = self.repos.get(f"{unquote(match.group(1))}/{unquote(match.group(2))}".lower())
        token = self._token(request)
        role = self._role(repo, token) if repo else None
        if repo is None or role is None:
            return None, _error(404, "Not Found")
        if ROLES.index(role) < ROLES.index(need):
            return None, _error(403, "Resource not accessible by personal access token" if token and token.fine_grained
                                else f"Permission to {repo.full_name}.git denied to {token.login if token else 'anonymous'}.")
        if token_permission and token and token.fine_grained and getattr(token, token_permission) != "write":
            return None, _error(403, "Resource not accessible by personal access token")
        return repo, None

    def _api(self, path: str) -> str:
        return f"{self.url}{self.prefix}{path}"

    # --- handlers --------------------------------------------------------------------------------
    def _rate_limit_json(self, request: Request, match: re.Match) -> Response:
        core = {"limit": self.rate_limit, "remaining": max(self.remaining, 0), "reset": self.reset_at,
                "used": self.rate_limit - max(self.remaining, 0)}
        return Response(200, {"resources": {"core": core}, "rate": core})

    def _user(self, request: Request, match: re.Match) -> Response:
        token = self._token(request)
        if token is None:
            return _error(401, "Requires authentication")
        return Response(200, {"login": token.login, "id": token.user_id, "type": "User"})

    def _repo_json(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        role = self._role(repo, self._token(request))
        level = ROLES.index(role)
        return Response(200, {
            "id": repo.id, "node_id": f"R_{repo.id}", "name": repo.name, "full_name": repo.full_name,
            "private": repo.private, "visibility": "private" if repo.private else "public",
            "owner": {"login": repo.owner, "type": "Organization"}, "html_url": f"{self.url}/{repo.full_name}",
            "url": self._api(f"/repos/{repo.full_name}"), "default_branch": repo.default_branch,
            "archived": False, "disabled": False,
            "permissions": {r: level >= ROLES.index(r) for r in ("admin", "maintain", "push", "triage", "pull")}})

    def _ref_json(self, repo: Repo, branch: str) -> dict:
        sha = repo.branches[branch]
        return {"ref": f"refs/heads/{branch}", "node_id": f"REF_{sha[:10]}",
                "url": self._api(f"/repos/{repo.full_name}/git/refs/heads/{branch}"),
                "object": {"sha": sha, "type": "commit", "url": self._api(f"/repos/{repo.full_name}/git/commits/{sha}")}}

    def _get_ref(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        if not repo.branches:
            return _error(409, "Git Repository is empty.", "/git/refs#get-a-reference")
        ref = unquote(match.group(3))
        if not ref.startswith("heads/") or ref[len("heads/"):] not in repo.branches:
            return _error(404, "Not Found", "/git/refs#get-a-reference")
        return Response(200, self._ref_json(repo, ref[len("heads/"):]))

    def _create_ref(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match, "push", "contents")
        if refused:
            return refused
        try:
            body = request.json() or {}
        except ValueError:
            return _error(400, "Problems parsing JSON")
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not isinstance(sha, str):
            return _error(422, "Invalid request.\n\n\"ref\", \"sha\" weren't supplied.", "/git/refs#create-a-reference")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            return _error(422, f"{ref} is not a valid ref name.", "/git/refs#create-a-reference")
        if not ref.startswith("refs/heads/"):
            return _error(422, "the fake only keeps branches (refs/heads/…)", "/git/refs#create-a-reference")
        name = ref[len("refs/heads/"):]
        if name in repo.branches:
            return _error(422, "Reference already exists", "/git/refs#create-a-reference")
        if sha not in repo.commits:
            return _error(422, "Object does not exist", "/git/refs#create-a-reference")
        repo.branches[name] = sha
        return Response(201, self._ref_json(repo, name),
                        {"Location": self._api(f"/repos/{repo.full_name}/git/refs/heads/{name}")})

    def _contents(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        ref = (request.query.get("ref") or [repo.default_branch])[0]
        if ref not in repo.branches and ref not in repo.commits:
            return _error(404, f"No commit found for the ref {ref}", "/repos/contents#get-repository-content")
        path = unquote(match.group(3))
        if path not in repo.files:
            return _error(404, "Not Found", "/repos/contents#get-repository-content")
        raw = repo.files[path].encode()
        encoded = base64.b64encode(raw).decode()
        content = "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)) + "\n"
        return Response(200, {"type": "file", "encoding": "base64", "size": len(raw), "name": path.rsplit("/", 1)[-1],
                              "path": path, "content": content, "sha": hashlib.sha1(raw).hexdigest(),
                              "url": self._api(f"/repos/{repo.full_name}/contents/{path}?ref={ref}")})

    def _resolve(self, repo: Repo, ref: str) -> str | None:
        return repo.branches.get(ref) or (ref if ref in repo.commits else None)

    def _commit_json(self, repo: Repo, commit: FakeCommit) -> dict:
        who = {"name": commit.author, "email": commit.email, "date": _iso(commit.at)}
        return {"sha": commit.sha, "node_id": f"C_{commit.sha[:10]}", "url": self._api(f"/repos/{repo.full_name}/commits/{commit.sha}"),
                "html_url": f"{self.url}/{repo.full_name}/commit/{commit.sha}",
                "commit": {"author": who, "committer": who, "message": commit.message},
                "author": None, "committer": None, "parents": [{"sha": commit.parent}] if commit.parent else []}

    def _page(self, request: Request, default: int = 30) -> tuple[int, int] | Response:
        try:
            per_page = min(int((request.query.get("per_page") or [default])[0]), 100)
            page = max(int((request.query.get("page") or ["1"])[0]), 1)
        except ValueError:
            return _error(422, "Invalid request: per_page and page must be integers.")
        return per_page, page

    def _compare(self, request: Request, match: re.Match) -> Response:
        """Compare two commits: `base...head`, commits oldest first; without page/per_page at most 250 of them."""
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        base_name, dots, head_name = unquote(match.group(3)).partition("...")
        base, head = self._resolve(repo, base_name), self._resolve(repo, head_name) if dots else None
        if base is None or head is None:
            return _error(404, "Not Found", "/commits/commits#compare-two-commits")
        commits = self.history.between(base, head)
        behind = self.history.between(head, base)
        if "page" in request.query or "per_page" in request.query:
            paging = self._page(request)
            if isinstance(paging, Response):
                return paging
            per_page, page = paging
            shown = commits[(page - 1) * per_page:page * per_page]
        else:
            shown = commits[:250]
        status = "identical" if not commits and not behind else ("ahead" if not behind else ("behind" if not commits else "diverged"))
        return Response(200, {
            "url": self._api(f"/repos/{repo.full_name}/compare/{base_name}...{head_name}"),
            "html_url": f"{self.url}/{repo.full_name}/compare/{base_name}...{head_name}",
            "status": status, "ahead_by": len(commits), "behind_by": len(behind), "total_commits": len(commits),
            "commits": [self._commit_json(repo, c) for c in shown], "files": []})

    def _commits(self, request: Request, match: re.Match) -> Response:
        """List commits reachable from `sha` (a branch or a sha; the default branch without), newest first."""
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        head = self._resolve(repo, (request.query.get("sha") or [repo.default_branch])[0])
        if head is None:
            return _error(404, "No commit found for SHA", "/commits/commits#list-commits")
        paging = self._page(request)
        if isinstance(paging, Response):
            return paging
        per_page, page = paging
        log = self.history.log(head)
        return Response(200, [self._commit_json(repo, c) for c in log[(page - 1) * per_page:page * per_page]])

    def _find_workflow(self, repo: Repo, ident: str) -> Workflow | None:
        ident = unquote(ident)
        if ident.isdigit():
            return repo.workflows.get(int(ident))
        return next((w for w in repo.workflows.values() if w.path.rsplit("/", 1)[-1] == ident), None)

    def _workflow_json(self, repo: Repo, workflow: Workflow) -> dict:
        return {"id": workflow.id, "node_id": f"W_{workflow.id}", "name": workflow.name, "path": workflow.path,
                "state": workflow.state, "created_at": "2024-05-01T10:00:00.000Z", "updated_at": "2024-05-01T10:00:00.000Z",
                "url": self._api(f"/repos/{repo.full_name}/actions/workflows/{workflow.id}"),
                "html_url": f"{self.url}/{repo.full_name}/blob/{repo.default_branch}/{workflow.path}",
                "badge_url": f"{self.url}/{repo.full_name}/workflows/{workflow.name}/badge.svg"}

    def _workflow(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        workflow = self._find_workflow(repo, match.group(3))
        if workflow is None:
            return _error(404, "Not Found", "/actions/workflows#get-a-workflow")
        return Response(200, self._workflow_json(repo, workflow))

    def _create_dispatch(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match, "push", "actions")
        if refused:
            return refused
        workflow = self._find_workflow(repo, match.group(3))
        if workflow is None:
            return _error(404, "Not Found", "/actions/workflows#create-a-workflow-dispatch-event")
        try:
            body = request.json() or {}
        except ValueError:
            return _error(400, "Problems parsing JSON")
        doc = "/actions/workflows#create-a-workflow-dispatch-event"
        if workflow.state != "active":
            return _error(422, "Cannot trigger a 'workflow_dispatch' on a disabled workflow", doc)
        ref = str(body.get("ref") or "")
        branch = ref.removeprefix("refs/heads/")
        if not ref:
            return _error(422, "Invalid request.\n\n\"ref\" wasn't supplied.", doc)
        if branch not in repo.branches:
            return _error(422, f"No ref found for: {ref}", doc)
        declared = _dispatch_inputs(repo.files.get(workflow.path, ""))
        if declared is None:
            return _error(422, "Workflow does not have 'workflow_dispatch' trigger", doc)
        given = body.get("inputs") or {}
        unexpected = [k for k in given if k not in declared]
        if unexpected:
            return _error(422, f"Unexpected inputs provided: {json.dumps(unexpected)}", doc)
        for name, spec in declared.items():
            if (spec or {}).get("required") and name not in given and (spec or {}).get("default") is None:
                return _error(422, f"Required input '{name}' not provided", doc)
        inputs = {name: str(given.get(name, (spec or {}).get("default") or "")) for name, spec in declared.items()}
        token = self._token(request)
        run = Run(next(self._run_ids), workflow.id, workflow.next_run_number, inputs, branch, repo.branches[branch],
                  "", token.login if token else "anonymous", hidden_for=self.list_lag)
        run.display_title = _render(repo.files.get(workflow.path, ""), workflow, run)
        workflow.next_run_number += 1
        repo.runs[run.id] = run
        if body.get("return_run_details") is True and self.supports_run_details:
            return Response(200, {"workflow_run_id": run.id,
                                  "run_url": self._api(f"/repos/{repo.full_name}/actions/runs/{run.id}"),
                                  "html_url": self._html(repo, run)})
        return Response(204)

    def _html(self, repo: Repo, run: Run) -> str:
        return f"{self.url}/{repo.full_name}/actions/runs/{run.id}"

    def _run_json(self, repo: Repo, run: Run) -> dict:
        workflow = repo.workflows[run.workflow_id]
        api = self._api(f"/repos/{repo.full_name}/actions/runs/{run.id}")
        return {"id": run.id, "name": workflow.name, "node_id": f"WFR_{run.id}", "head_branch": run.branch,
                "head_sha": run.head_sha, "path": workflow.path, "display_title": run.display_title,
                "run_number": run.run_number, "run_attempt": 1, "event": "workflow_dispatch", "status": run.status,
                "conclusion": run.conclusion, "workflow_id": workflow.id, "url": api, "html_url": self._html(repo, run),
                "created_at": _iso(run.created_at), "updated_at": _iso(run.updated_at),
                "run_started_at": _iso(run.run_started_at or run.created_at),
                "actor": {"login": run.actor}, "triggering_actor": {"login": run.actor},
                "jobs_url": f"{api}/jobs", "logs_url": f"{api}/logs", "artifacts_url": f"{api}/artifacts",
                "cancel_url": f"{api}/cancel", "rerun_url": f"{api}/rerun",
                "workflow_url": self._api(f"/repos/{repo.full_name}/actions/workflows/{workflow.id}")}

    def _runs(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        workflow = self._find_workflow(repo, match.group(3))
        if workflow is None:
            return _error(404, "Not Found", "/actions/workflow-runs#list-workflow-runs-for-a-workflow")
        q = {k: v[0] for k, v in request.query.items()}
        runs = []
        for run in sorted(repo.runs.values(), key=lambda r: -r.id):
            if run.workflow_id != workflow.id:
                continue
            if run.hidden_for > 0:
                run.hidden_for -= 1
                continue
            if q.get("event") not in (None, "workflow_dispatch") or q.get("branch") not in (None, run.branch):
                continue
            if q.get("status") not in (None, run.status, run.conclusion):
                continue
            runs.append(run)
        per_page = min(int(q.get("per_page", 30)), 100)
        page = max(int(q.get("page", 1)), 1)
        chosen = runs[(page - 1) * per_page:page * per_page]
        return Response(200, {"total_count": len(runs), "workflow_runs": [self._run_json(repo, r) for r in chosen]})

    def _polled(self, repo: Repo, run_id: int) -> Run | None:
        run = repo.runs.get(run_id)
        if run is None:
            return None
        if run.cancel_requested and run.status != "completed":
            self.finish_run(run.id, "cancelled", artifacts=[], duration_seconds=1)
            return run
        run.polls += 1
        if run.status == "queued" and self.start_after_polls is not None and run.polls >= self.start_after_polls:
            self.start_run(run.id)
        elif run.status == "in_progress" and self.finish_after_polls is not None and run.polls >= self.finish_after_polls:
            self.finish_run(run.id, self.auto_conclusion)
        return run

    def _get_run(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        run = self._polled(repo, int(match.group(3)))
        if run is None:
            return _error(404, "Not Found", "/actions/workflow-runs#get-a-workflow-run")
        return Response(200, self._run_json(repo, run))

    def _artifacts(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match)
        if refused:
            return refused
        run = repo.runs.get(int(match.group(3)))
        if run is None:
            return _error(404, "Not Found", "/actions/artifacts#list-workflow-run-artifacts")
        api = self._api(f"/repos/{repo.full_name}/actions/artifacts")
        return Response(200, {"total_count": len(run.artifacts), "artifacts": [
            {"id": run.id * 10 + i, "name": name, "size_in_bytes": 1024, "expired": False,
             "url": f"{api}/{run.id * 10 + i}", "archive_download_url": f"{api}/{run.id * 10 + i}/zip",
             "created_at": _iso(run.updated_at), "workflow_run": {"id": run.id, "head_branch": run.branch}}
            for i, name in enumerate(run.artifacts)]})

    def _cancel(self, request: Request, match: re.Match) -> Response:
        repo, refused = self._visible(request, match, "push", "actions")
        if refused:
            return refused
        run = repo.runs.get(int(match.group(3)))
        if run is None:
            return _error(404, "Not Found", "/actions/workflow-runs#cancel-a-workflow-run")
        if run.status == "completed":
            return _error(409, "Cannot cancel a workflow run that is completed.",
                          "/actions/workflow-runs#cancel-a-workflow-run")
        run.cancel_requested = True
        return Response(202, {})


def _dispatch_inputs(yaml_text: str) -> dict | None:
    """The inputs of the workflow_dispatch trigger (empty when it has none), or None without one."""
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict):
        return None
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as true
    if on == "workflow_dispatch" or (isinstance(on, list) and "workflow_dispatch" in on):
        return {}
    if isinstance(on, dict) and "workflow_dispatch" in on:
        return dict(((on["workflow_dispatch"] or {}).get("inputs")) or {})
    return None


def _render(yaml_text: str, workflow: Workflow, run: Run) -> str:
    """A run's display title: the run-name with the expressions GitHub would evaluate here."""
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        doc = None
    template = doc.get("run-name") if isinstance(doc, dict) else None
    if not template:
        return workflow.name

    def value(found: re.Match) -> str:
        expr = found.group(1).strip()
        for prefix in ("inputs.", "github.event.inputs."):
            if expr.startswith(prefix):
                return run.inputs.get(expr[len(prefix):], "")
        return {"github.ref_name": run.branch, "github.actor": run.actor, "github.workflow": workflow.name}.get(expr, "")

    return re.sub(r"\$\{\{(.*?)\}\}", value, str(template))
