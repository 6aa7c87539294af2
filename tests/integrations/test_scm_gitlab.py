"""The GitLab client (our module + HttpClient/requests) against the fake GitLab API over loopback."""
from __future__ import annotations

import pytest

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from tests.fakes.gitlab import FakeGitLab, sha_of

TOKEN = "glpat-s3cr3tT0kenValue"
MAIN = sha_of("main")


@pytest.fixture
def gitlab():
    fake = FakeGitLab()
    fake.add_token(TOKEN, user_id=7)
    fake.add_project("acme/app", branches={"main": MAIN, "develop": sha_of("develop")})
    fake.grant("acme/app", 7, 30)
    with fake:
        yield fake


def client(fake: FakeGitLab, *, token: str = TOKEN, repository: str = "app", default_branch: str | None = "main",
           timeout: float = 5.0):
    config = IntegrationConfig(id="g-1", provider="GITLAB", display_name="GitLab", base_url=f"{fake.url}/api/v4",
                               fields={"organization": "acme", "repository": repository,
                                       "defaultBranch": default_branch},
                               settings={}, secrets={"token": token})
    return build_client(IntegrationKind.SCM, config, ProviderContext(allow_private_networks=True, timeout=timeout))


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    assert TOKEN not in str(caught.value) and "s3cr3t" not in repr(caught.value.args)
    return caught.value


def test_verify_reads_the_url_encoded_project_and_sends_the_private_token(gitlab):
    client(gitlab).verify()
    assert gitlab.calls("GET", r"/projects/acme%2Fapp$")
    assert gitlab.calls("GET", r"/repository/branches/main$")
    assert all(r.headers["PRIVATE-TOKEN"] == TOKEN for r in gitlab.requests)


def test_a_wrong_token_is_rejected(gitlab):
    error = failure(client(gitlab, token="glpat-wrong").verify)
    assert (str(error), error.status) == ("GitLab rejected the token (401)", 401)


def test_a_missing_project_says_so(gitlab):
    error = failure(client(gitlab, repository="nope").verify)
    assert str(error) == "project acme/nope does not exist or the token cannot see it (404)"


def test_reporter_access_is_not_enough_to_push(gitlab):
    gitlab.grant("acme/app", 7, 20)
    error = failure(client(gitlab).verify)
    assert str(error) == ("the token's user has Reporter access to acme/app; "
                          "pushing needs Developer (30) or higher")


def test_group_access_counts(gitlab):
    gitlab.grant("acme/app", 7, 40, via="group")
    client(gitlab).verify()
    assert not gitlab.calls("GET", "/members/all/")


def test_access_inherited_from_a_parent_group_is_found_in_the_member_list(gitlab):
    gitlab.grant("acme/app", 7, 30, via="parent_group")
    client(gitlab).verify()
    assert gitlab.calls("GET", r"/projects/acme%2Fapp/members/all/7$")


def test_inherited_guest_access_is_refused(gitlab):
    gitlab.grant("acme/app", 7, 10, via="parent_group")
    assert "has Guest access to acme/app" in str(failure(client(gitlab).verify))


def test_a_read_only_token_is_refused_before_it_fails_a_release(gitlab):
    gitlab.add_token("glpat-readonly", scopes=["read_api", "read_repository"])
    error = failure(client(gitlab, token="glpat-readonly").verify)
    assert str(error) == "the GitLab token has scopes read_api, read_repository; creating branches needs the api scope"


def test_verify_reports_a_missing_default_branch(gitlab):
    error = failure(client(gitlab, default_branch="trunk").verify)
    assert str(error) == "branch trunk in acme/app does not exist or the token cannot see it (404)"


def test_branch_head_returns_the_commit_id(gitlab):
    assert client(gitlab).branch_head("develop") == sha_of("develop")


def test_a_branch_name_with_a_slash_is_url_encoded(gitlab):
    gitlab.branches["acme/app"]["release/1.0"] = sha_of("r1")
    assert client(gitlab).branch_head("release/1.0") == sha_of("r1")
    assert gitlab.calls("GET", r"/repository/branches/release%2F1\.0$")


def test_create_branch_branches_from_the_head_sha(gitlab):
    assert client(gitlab).create_branch("release/1.2.0", "main") == MAIN
    assert gitlab.branches["acme/app"]["release/1.2.0"] == MAIN
    [post] = gitlab.calls("POST")
    assert post.query == {"branch": ["release/1.2.0"], "ref": [MAIN]}


def test_create_branch_again_at_the_same_commit_succeeds(gitlab):
    scm = client(gitlab)
    scm.create_branch("release/1.2.0", "main")
    assert scm.create_branch("release/1.2.0", "main") == MAIN
    assert len(gitlab.calls("POST")) == 2


def test_an_existing_branch_at_another_commit_is_a_conflict(gitlab):
    gitlab.branches["acme/app"]["release/1.2.0"] = sha_of("elsewhere")
    error = failure(lambda: client(gitlab).create_branch("release/1.2.0", "main"))
    assert str(error) == (f"branch release/1.2.0 already exists in acme/app at {sha_of('elsewhere')[:12]}, "
                          f"not at main's head {MAIN[:12]}")
    assert error.status == 409


def test_creating_from_a_missing_branch_says_which(gitlab):
    error = failure(lambda: client(gitlab).create_branch("release/1.2.0", "nope"))
    assert str(error) == "branch nope in acme/app does not exist or the token cannot see it (404)"


def test_a_forbidden_create_reports_gitlabs_reason(gitlab):
    gitlab.fail(403, {"message": "403 Forbidden - You are not allowed to push into this branch"},
                path="/repository/branches$", method="POST")
    error = failure(lambda: client(gitlab).create_branch("release/1.2.0", "main"))
    assert str(error) == ("GitLab refused access to branch release/1.2.0 in acme/app: "
                          "403 Forbidden - You are not allowed to push into this branch (403)")


def test_a_server_error_is_reported_with_its_status(gitlab):
    gitlab.fail(500, "<html>oops</html>", path="/projects/")
    error = failure(client(gitlab).verify)
    assert (str(error), error.status, error.retryable) == ("GitLab failed (500)", 500, False)


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_unavailability_are_retried_after_retry_after(gitlab, status):
    gitlab.fail(status, {"message": "slow down"}, path="/branches/develop$", times=2, headers={"Retry-After": "0"})
    assert client(gitlab).branch_head("develop") == sha_of("develop")
    assert len(gitlab.calls("GET", "/branches/develop$")) == 3


def test_persistent_rate_limiting_is_retryable(gitlab):
    gitlab.fail(429, {"message": "Retry later"}, path="/branches/develop$", times=10, headers={"Retry-After": "0"})
    error = failure(lambda: client(gitlab).branch_head("develop"))
    assert error.status == 429 and error.retryable


def test_a_gitlab_that_is_gone_is_unreachable(gitlab):
    scm = client(gitlab)
    gitlab.stop()
    error = failure(scm.verify)
    assert str(error).startswith("cannot reach GitLab at http://127.0.0.1:") and error.retryable


def test_a_gitlab_that_does_not_answer_in_time_times_out(gitlab):
    gitlab.delay = 1
    error = failure(client(gitlab, timeout=0.2).verify)
    assert "did not answer in time" in str(error) and error.retryable


def test_an_incomplete_configuration_is_refused():
    config = IntegrationConfig(id="g", provider="GITLAB", display_name="GitLab", base_url=None,
                               fields={"organization": "acme", "repository": ""}, settings={}, secrets={"token": TOKEN})
    error = failure(lambda: build_client(IntegrationKind.SCM, config, ProviderContext()))
    assert "needs a token, an organization (group) and a repository" in str(error)
