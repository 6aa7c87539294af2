"""The GitHub SCM client (our module + HttpClient/requests) against the fake GitHub API over loopback."""
from __future__ import annotations

import time

import pytest

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from tests.fakes.github import FakeGitHub, sha_of

TOKEN = "ghp_s3cr3tT0kenValue0123456789abcdefXYZ"
MAIN = sha_of("main")


@pytest.fixture
def github():
    fake = FakeGitHub()
    fake.add_token(TOKEN, "releasebot")
    fake.add_repo("acme/app", branches={"main": MAIN, "develop": sha_of("develop")})
    fake.grant("acme/app", "releasebot", "push")
    with fake:
        yield fake


def client(fake: FakeGitHub, *, token: str = TOKEN, repository: str = "app", default_branch: str | None = "main",
           timeout: float = 5.0, prefix: str = ""):
    config = IntegrationConfig(id="gh-1", provider="GITHUB", display_name="GitHub", base_url=f"{fake.url}{prefix}",
                               fields={"organization": "acme", "repository": repository,
                                       "defaultBranch": default_branch},
                               settings={}, secrets={"token": token})
    return build_client(IntegrationKind.SCM, config, ProviderContext(allow_private_networks=True, timeout=timeout))


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    assert TOKEN not in str(caught.value) and "s3cr3t" not in repr(caught.value.args)
    return caught.value


def test_verify_reads_the_repository_and_the_default_branch_with_githubs_headers(github):
    client(github).verify()
    assert github.calls("GET", r"^/repos/acme/app$")
    assert github.calls("GET", r"^/repos/acme/app/git/ref/heads/main$")
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" and r.headers["Accept"] == "application/vnd.github+json"
               and r.headers["X-GitHub-Api-Version"] == "2022-11-28" for r in github.requests)


def test_github_enterprise_is_served_under_api_v3():
    fake = FakeGitHub(prefix="/api/v3")
    fake.add_token(TOKEN)
    fake.add_repo("acme/app", branches={"main": MAIN})
    fake.grant("acme/app", "releasebot", "admin")
    with fake:
        scm = client(fake, prefix="/api/v3")
        scm.verify()
        assert scm.create_branch("release/2.0", "main") == MAIN
        assert fake.calls("GET", r"^/api/v3/repos/acme/app$") and fake.calls("POST", r"^/api/v3/repos/acme/app/git/refs$")
        assert fake.repo("acme/app").branches["release/2.0"] == MAIN


def test_a_wrong_token_is_rejected(github):
    error = failure(client(github, token="ghp_wrong").verify)
    assert (str(error), error.status, error.retryable) == ("GitHub rejected the token (401)", 401, False)


def test_a_missing_repository_says_so(github):
    error = failure(client(github, repository="nope").verify)
    assert (str(error), error.status) == ("repository acme/nope does not exist or the token cannot see it (404)", 404)


def test_a_private_repository_the_token_cannot_see_is_hidden_as_a_404(github):
    github.add_repo("acme/secret")
    error = failure(client(github, repository="secret").verify)
    assert str(error) == "repository acme/secret does not exist or the token cannot see it (404)"


@pytest.mark.parametrize("role", ["pull", "triage"])
def test_read_access_is_not_enough_to_push(github, role):
    github.grant("acme/app", "releasebot", role)
    error = failure(client(github).verify)
    assert str(error) == "the token cannot push to acme/app: it needs write access (Contents: read and write)"
    assert error.status == 403


def test_a_public_repository_without_membership_is_read_only(github):
    github.add_repo("acme/oss", private=False)
    assert "the token cannot push to acme/oss" in str(failure(client(github, repository="oss").verify))


def test_verify_reports_a_missing_default_branch(github):
    error = failure(client(github, default_branch="trunk").verify)
    assert (str(error), error.status) == ("branch trunk does not exist in acme/app", 404)


def test_verify_without_a_default_branch_reads_only_the_repository(github):
    client(github, default_branch=None).verify()
    assert [r.path for r in github.requests] == ["/repos/acme/app"]


def test_branch_head_returns_the_commit_sha(github):
    assert client(github).branch_head("develop") == sha_of("develop")


def test_a_branch_name_with_a_slash_keeps_its_slash_and_other_characters_are_encoded(github):
    github.add_branch("acme/app", "release/1.0", sha_of("r1"))
    github.add_branch("acme/app", "feature/a b#c", sha_of("odd"))
    scm = client(github)
    assert scm.branch_head("release/1.0") == sha_of("r1")
    assert scm.branch_head("feature/a b#c") == sha_of("odd")
    assert github.calls("GET", r"/git/ref/heads/release/1\.0$") and github.calls("GET", r"/heads/feature/a%20b%23c$")


def test_an_empty_repository_says_so(github):
    github.add_repo("acme/empty", branches={})
    github.grant("acme/empty", "releasebot", "push")
    error = failure(lambda: client(github, repository="empty").branch_head("main"))
    assert (str(error), error.status) == ("acme/empty is empty: push a first commit to main", 409)


def test_create_branch_branches_from_the_head_sha(github):
    assert client(github).create_branch("release/1.2.0", "main") == MAIN
    assert github.repo("acme/app").branches["release/1.2.0"] == MAIN
    [post] = github.calls("POST")
    assert post.json() == {"ref": "refs/heads/release/1.2.0", "sha": MAIN}


def test_create_branch_again_at_the_same_commit_succeeds(github):
    scm = client(github)
    scm.create_branch("release/1.2.0", "main")
    assert scm.create_branch("release/1.2.0", "main") == MAIN
    assert len(github.calls("POST")) == 2


def test_an_existing_branch_at_another_commit_is_a_conflict(github):
    github.add_branch("acme/app", "release/1.2.0", sha_of("elsewhere"))
    error = failure(lambda: client(github).create_branch("release/1.2.0", "main"))
    assert str(error) == (f"branch release/1.2.0 already exists in acme/app at {sha_of('elsewhere')[:12]}, "
                          f"not at main's head {MAIN[:12]}")
    assert error.status == 409
    assert github.repo("acme/app").branches["release/1.2.0"] == sha_of("elsewhere")


def test_creating_from_a_missing_branch_says_which(github):
    error = failure(lambda: client(github).create_branch("release/1.2.0", "nope"))
    assert str(error) == "branch nope does not exist in acme/app"
    assert not github.calls("POST")


def test_a_fine_grained_token_with_read_only_contents_passes_verify_but_cannot_create(github):
    github.add_token("github_pat_readonly", fine_grained=True, contents="read")
    scm = client(github, token="github_pat_readonly")
    scm.verify()  # GitHub shows the user's role, not the token's
    error = failure(lambda: scm.create_branch("release/1.2.0", "main"))
    assert str(error) == ("GitHub refused to create branch release/1.2.0 in acme/app: Resource not accessible by "
                          "personal access token; the token needs Contents: read and write (403)")
    assert error.status == 403 and "release/1.2.0" not in github.repo("acme/app").branches


def test_another_unprocessable_create_reports_githubs_reason(github):
    github.fail(422, {"message": "Reference update failed", "documentation_url": "https://docs.github.com/rest"},
                path="/git/refs$", method="POST")
    error = failure(lambda: client(github).create_branch("release/1.2.0", "main"))
    assert str(error) == "GitHub refused the request about branch release/1.2.0 in acme/app: Reference update failed (422)"


def test_a_message_echoing_the_token_is_masked(github):
    github.fail(403, {"message": f"token {TOKEN} is suspended"}, path="/repos/acme/app$")
    error = failure(client(github).verify)
    assert str(error) == "GitHub refused access to repository acme/app: token [token] is suspended (403)"


def test_every_answer_carries_rate_limit_headers(github):
    scm = client(github)
    scm.branch_head("main")
    response = scm.api.get("repos/acme/app")
    assert response.headers["X-RateLimit-Remaining"] == str(github.rate_limit - 2)
    assert {"X-RateLimit-Limit", "X-RateLimit-Reset", "X-GitHub-Request-Id"} <= set(response.headers)


def test_an_exhausted_rate_limit_is_retryable_after_the_reset(github):
    github.exhaust_rate_limit(reset_in=120)
    error = failure(client(github).verify)
    assert error.retryable and error.status == 403 and 110 <= error.retry_after <= 120
    assert str(error).startswith("GitHub is rate-limiting the token (API rate limit exceeded for user ID")
    assert len(github.calls()) == 1  # an hour-long wait is not slept through


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_is_waited_out_as_retry_after_says(github, status):
    github.secondary_limit(times=1, retry_after=1, status=status)
    started = time.monotonic()
    assert client(github).branch_head("develop") == sha_of("develop")
    assert time.monotonic() - started >= 1 and len(github.calls("GET")) == 2


@pytest.mark.parametrize("status", [403, 429])
def test_persistent_rate_limiting_is_retryable(github, status):
    github.secondary_limit(times=10, retry_after=0, status=status)
    error = failure(lambda: client(github).branch_head("develop"))
    assert error.status == status and error.retryable and error.retry_after == 0
    assert "exceeded a secondary rate limit" in str(error) and len(github.calls()) == 4


def test_an_unavailable_github_is_retried(github):
    github.fail(503, {"message": "Service Unavailable"}, path="/git/ref/", times=2, headers={"Retry-After": "0"})
    assert client(github).branch_head("develop") == sha_of("develop")
    assert len(github.calls("GET", "/git/ref/")) == 3


def test_a_retry_after_longer_than_the_cap_is_not_slept_through(github):
    github.secondary_limit(times=1, retry_after=600)
    error = failure(client(github).verify)
    assert error.retryable and error.retry_after == 600 and len(github.calls()) == 1


def test_a_plain_403_is_not_mistaken_for_a_rate_limit(github):
    github.fail(403, {"message": "Repository access blocked"}, path="/repos/acme/app$")
    error = failure(client(github).verify)
    assert (error.status, error.retryable) == (403, False) and "Repository access blocked" in str(error)


def test_an_unsupported_api_version_is_refused_by_the_fake_as_by_github(github):
    scm = client(github)
    scm.api.http.session.headers["X-GitHub-Api-Version"] = "2099-01-01"
    error = failure(scm.verify)
    assert error.status == 400


def test_a_server_error_is_reported_with_its_status(github):
    github.fail(500, "<html>oops</html>", path="/repos/")
    error = failure(client(github).verify)
    assert (str(error), error.status, error.retryable) == ("GitHub failed (500)", 500, False)


def test_a_github_that_is_gone_is_unreachable(github):
    scm = client(github)
    github.stop()
    error = failure(scm.verify)
    assert str(error).startswith("cannot reach GitHub at http://127.0.0.1:") and error.retryable


def test_a_github_that_does_not_answer_in_time_times_out(github):
    github.delay = 1
    error = failure(client(github, timeout=0.2).verify)
    assert "did not answer in time" in str(error) and error.retryable


def test_a_loopback_url_is_refused_unless_private_networks_are_allowed(github):
    config = IntegrationConfig(id="gh", provider="GITHUB", display_name="GitHub", base_url=github.url,
                               fields={"organization": "acme", "repository": "app"}, settings={},
                               secrets={"token": TOKEN})
    with pytest.raises(IntegrationError, match="private address"):
        build_client(IntegrationKind.SCM, config, ProviderContext(allow_private_networks=False))
    assert github.calls() == []


def test_an_incomplete_configuration_is_refused():
    config = IntegrationConfig(id="gh", provider="GITHUB", display_name="GitHub", base_url=None,
                               fields={"organization": "acme", "repository": ""}, settings={}, secrets={"token": TOKEN})
    error = failure(lambda: build_client(IntegrationKind.SCM, config, ProviderContext()))
    assert "needs a token, an organization (owner) and a repository" in str(error)
