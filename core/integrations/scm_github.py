"""GitHub (github.com, or GitHub Enterprise Server at https://HOST/api/v3) through the REST API with a
personal access token (classic or fine-grained) or an app token; organization = owner, repository = name.

`GET /repos/{owner}/{repo}` reports the token's *user's* role in `permissions`; a fine-grained token
limited to Contents "read" still shows push there, so creating a branch can be refused (403) after
verify() passed: that refusal names the permission. GitHub answers 404, not 403, for a private
repository the token cannot see.

Rate limits: GitHub answers 403 or 429 when a limit is hit, with `X-RateLimit-Remaining: 0` (the
hourly limit: wait until `X-RateLimit-Reset`) or `Retry-After` (a secondary limit). `GitHubApi` does the
retrying instead of HttpClient (whose 429 backoff would be wasted on an exhausted hourly limit): it
waits out a Retry-After of up to MAX_RETRY_AFTER on 403/429/503, backs off on 429/503 without one,
and turns the rest into a retryable IntegrationError with `retry_after`. `GitHubApi` is shared with
the GitHub Actions client.
"""
from __future__ import annotations

import time
from urllib.parse import quote

import requests

from core.errors import IntegrationError
from core.integrations.base import Commit, Comparison, IntegrationConfig, ProviderContext, history_url
from core.integrations.http import (
    MAX_RETRIES,
    MAX_RETRY_AFTER,
    HttpClient,
    retry_after_seconds,
)

DEFAULT_BASE_URL = "https://api.github.com"
PAGE = 100  # the compare and commits endpoints' largest page
API_VERSION = "2022-11-28"


def is_rate_limited(response: requests.Response) -> bool:
    """GitHub's way of saying slow down: 403/429 with no requests left, or with Retry-After."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    if response.headers.get("X-RateLimit-Remaining") == "0" or "Retry-After" in response.headers:
        return True
    try:  # a secondary limit does not always say so in its headers
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "rate limit" in str(body.get("message") or "").lower()


def wait_seconds(response: requests.Response) -> float | None:
    """How long GitHub asks to wait: Retry-After, else until X-RateLimit-Reset."""
    try:
        if "Retry-After" in response.headers:
            return max(float(response.headers["Retry-After"]), 0.0)
        if "X-RateLimit-Reset" in response.headers:
            return max(float(response.headers["X-RateLimit-Reset"]) - time.time(), 0.0)
    except ValueError:
        pass
    return None


class GitHubApi:
    """HttpClient plus GitHub's rate-limit answers and error bodies. Every call returns the response
    whatever its status; callers map the statuses they expect and pass the rest to `error`."""

    def __init__(self, http: HttpClient, token: str):
        self.http, self._token = http, token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Send a request, retrying 429/503 and secondary-limit 403s as GitHub asks; never sleep through
        an exhausted hourly limit (its reset can be an hour away): the caller gets a retryable error."""
        for attempt in range(MAX_RETRIES + 1):
            response = self.http.request(method, path, expect=(), **kwargs)
            limited = is_rate_limited(response)
            if attempt == MAX_RETRIES or not (limited or response.status_code == 503):
                return response
            if "Retry-After" in response.headers:
                wait = wait_seconds(response)
            elif response.headers.get("X-RateLimit-Remaining") == "0":
                return response
            else:
                wait = retry_after_seconds(response, attempt)
            if wait is None or wait > MAX_RETRY_AFTER:
                return response
            time.sleep(wait)
        return response  # pragma: no cover - the loop always returns

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def message(self, response: requests.Response) -> str:
        """GitHub's own `message`, shortened and with the token masked should it ever appear."""
        try:
            body = response.json()
        except ValueError:
            return "no reason given"
        text = str((body or {}).get("message") or "no reason given") if isinstance(body, dict) else "no reason given"
        return text.replace(self._token, "[token]")[:300]

    def error(self, response: requests.Response, what: str | None = None) -> IntegrationError:
        """An IntegrationError for an answer the caller did not expect."""
        status = response.status_code
        if is_rate_limited(response):
            wait = wait_seconds(response)
            when = f"; try again in {int(wait + 0.999)} s" if wait is not None else "; try again later"
            return IntegrationError(f"GitHub is rate-limiting the token ({self.message(response)}){when} ({status})",
                                    status=status, retryable=True, retry_after=wait)
        if status == 401:
            return IntegrationError("GitHub rejected the token (401)", status=401)
        if status == 404 and what:
            return IntegrationError(f"{what} does not exist or the token cannot see it (404)", status=404)
        if status == 403:
            target = f" to {what}" if what else ""
            return IntegrationError(f"GitHub refused access{target}: {self.message(response)} (403)", status=403)
        if status in (409, 422):
            target = f" about {what}" if what else ""
            return IntegrationError(f"GitHub refused the request{target}: {self.message(response)} ({status})",
                                    status=status)
        return self.http.error(response)

    def json(self, path: str, *, what: str, **kwargs) -> dict:
        """GET `path`, expecting 200."""
        response = self.get(path, **kwargs)
        if response.status_code != 200:
            raise self.error(response, what)
        return response.json()


def github_api(config: IntegrationConfig, ctx: ProviderContext, token: str) -> GitHubApi:
    """A GitHubApi for an integration's base URL (api.github.com unless it is a GHES .../api/v3)."""
    http = HttpClient(config.base_url or DEFAULT_BASE_URL, service="GitHub", guard=ctx.guard,
                      headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                               "X-GitHub-Api-Version": API_VERSION},
                      timeout=ctx.timeout, max_retries=0)  # GitHubApi retries: it knows GitHub's limits
    return GitHubApi(http, token)


class GitHubScm:
    """Reads branch heads and creates release branches in one GitHub repository."""

    def __init__(self, api: GitHubApi, *, full_name: str, default_branch: str | None):
        self.api, self.full_name, self.default_branch = api, full_name, default_branch
        self.repo = f"repos/{full_name}"

    def verify(self) -> None:
        """The token works, sees the repository, can push to it, and the default branch exists."""
        repo = self.api.json(self.repo, what=f"repository {self.full_name}")
        if not (repo.get("permissions") or {}).get("push"):
            raise IntegrationError(f"the token cannot push to {self.full_name}: it needs write access "
                                   "(Contents: read and write)", status=403)
        if self.default_branch:
            self.branch_head(self.default_branch)

    def branch_head(self, branch: str) -> str:
        """The commit sha `branch` points at."""
        response = self.api.get(self._ref_path(branch))
        if response.status_code == 200:
            return response.json()["object"]["sha"]
        if response.status_code == 404:
            raise IntegrationError(f"branch {branch} does not exist in {self.full_name}", status=404)
        if response.status_code == 409:  # "Git Repository is empty."
            raise IntegrationError(f"{self.full_name} is empty: push a first commit to {branch}", status=409)
        raise self.api.error(response, f"branch {branch} in {self.full_name}")

    def create_branch(self, name: str, from_branch: str) -> str:
        """Create `name` at `from_branch`'s head; an existing `name` at that same commit is success."""
        sha = self.branch_head(from_branch)
        response = self.api.post(f"{self.repo}/git/refs", json={"ref": f"refs/heads/{name}", "sha": sha})
        if response.status_code == 201:
            return response.json()["object"]["sha"]
        if response.status_code == 422 and "already exists" in self.api.message(response).lower():
            return self._existing(name, sha, from_branch)
        if response.status_code == 403 and not is_rate_limited(response):
            raise IntegrationError(f"GitHub refused to create branch {name} in {self.full_name}: "
                                   f"{self.api.message(response)}; the token needs Contents: read and write (403)",
                                   status=403)
        raise self.api.error(response, f"branch {name} in {self.full_name}")

    def compare(self, base_ref: str | None, head_ref: str, limit: int) -> Comparison:
        """`GET /compare/{base}...{head}`, paged (oldest first, `total_commits` counts them): only the pages
        holding the newest `limit` are read. Without a base, `GET /commits?sha=head`."""
        if base_ref is None:
            found = self.api.json(f"{self.repo}/commits", what=f"branch {head_ref} in {self.full_name}",
                                  params={"sha": head_ref, "per_page": min(limit, PAGE)})[:limit]
            commits = tuple(_commit(c) for c in found)
            return Comparison(commits, None if len(commits) == limit else len(commits),
                              history_url(commits[0].url if commits else None, "/commit/", head_ref))
        path = f"{self.repo}/compare/{quote(base_ref, safe='/')}...{quote(head_ref, safe='/')}"
        what = f"{base_ref} or {head_ref} in {self.full_name}"
        first = self.api.json(path, what=what, params={"per_page": PAGE, "page": 1})
        total = int(first.get("total_commits") or 0)
        start = max(total - limit, 0)  # the newest `limit` are the last ones
        first_page = start // PAGE + 1
        listed = []
        for page in range(first_page, (total - 1) // PAGE + 2):
            answer = first if page == 1 else self.api.json(path, what=what, params={"per_page": PAGE, "page": page})
            listed += answer["commits"]
        wanted = listed[start - (first_page - 1) * PAGE:]
        return Comparison(tuple(_commit(c) for c in reversed(wanted)), total, first.get("html_url"))

    def _existing(self, name: str, sha: str, from_branch: str) -> str:
        # GitHub answers 422 "Reference already exists" whatever the branch points at: look before deciding.
        head = self.branch_head(name)
        if head != sha:
            raise IntegrationError(f"branch {name} already exists in {self.full_name} at {head[:12]}, not at "
                                   f"{from_branch}'s head {sha[:12]}", status=409)
        return head

    def _ref_path(self, branch: str) -> str:
        return f"{self.repo}/git/ref/heads/{quote(branch, safe='/')}"


def _commit(item: dict) -> Commit:
    commit = item.get("commit") or {}
    author = (item.get("author") or {}).get("login") or (commit.get("author") or {}).get("name") or "someone"
    return Commit(item["sha"], (commit.get("message") or "").split("\n", 1)[0], author, item.get("html_url"))


def build(config: IntegrationConfig, ctx: ProviderContext) -> GitHubScm:
    """The GitHub client of an SCM integration (organization = owner, repository = repository name)."""
    token = (config.secrets.get("token") or "").strip()
    owner = (config.fields.get("organization") or "").strip().strip("/")
    repository = (config.fields.get("repository") or "").strip().strip("/")
    if not token or not owner or not repository:
        raise IntegrationError("the GitHub integration needs a token, an organization (owner) and a repository")
    return GitHubScm(github_api(config, ctx, token), full_name=f"{owner}/{repository}",
                     default_branch=config.fields.get("defaultBranch") or None)
