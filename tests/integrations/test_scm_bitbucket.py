"""The Bitbucket Cloud client (our module + HttpClient/requests) against the fake Bitbucket API over loopback."""
from __future__ import annotations

import pytest

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from tests.fakes.bitbucket import FakeBitbucket
from tests.fakes.gitlab import sha_of

TOKEN = "ATCTT3xFfGN0s3cr3tRepoToken"
MAIN = sha_of("main")


@pytest.fixture
def bitbucket():
    fake = FakeBitbucket()
    fake.add_repository("acme/app", {"main": MAIN, "develop": sha_of("develop")})
    fake.add_repository_token(TOKEN, "acme/app", ["repository:write", "repository"])
    with fake:
        yield fake


def client(fake: FakeBitbucket, *, token: str = TOKEN, repository: str = "app", default_branch: str | None = "main",
           timeout: float = 5.0):
    config = IntegrationConfig(id="b-1", provider="BITBUCKET", display_name="Bitbucket", base_url=f"{fake.url}/2.0",
                               fields={"organization": "acme", "repository": repository,
                                       "defaultBranch": default_branch},
                               settings={}, secrets={"token": token})
    return build_client(IntegrationKind.SCM, config, ProviderContext(allow_private_networks=True, timeout=timeout))


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    assert TOKEN not in str(caught.value) and "s3cr3t" not in repr(caught.value.args)
    return caught.value


def test_verify_with_a_repository_access_token_reads_its_scopes_and_skips_user_endpoints(bitbucket):
    client(bitbucket).verify()
    assert bitbucket.calls("GET", r"/2.0/repositories/acme/app$")
    assert not bitbucket.calls("GET", "/user/")
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in bitbucket.requests)


def test_a_wrong_token_is_rejected(bitbucket):
    error = failure(client(bitbucket, token="wrong").verify)
    assert (str(error), error.status) == ("Bitbucket rejected the token (401)", 401)


def test_a_missing_repository_says_so(bitbucket):
    error = failure(client(bitbucket, repository="nope").verify)
    assert str(error) == "repository acme/nope does not exist or the token cannot see it (404)"


def test_a_token_of_another_repository_is_refused(bitbucket):
    bitbucket.add_repository("acme/web", {"main": MAIN})
    error = failure(client(bitbucket, repository="web").verify)
    assert str(error) == ("Bitbucket refused access to repository acme/web: "
                          "Access denied. You must have read access to this repository. (403)")


def test_a_read_only_access_token_cannot_push(bitbucket):
    bitbucket.add_repository_token("read-token", "acme/app", ["repository"])
    error = failure(client(bitbucket, token="read-token").verify)
    assert str(error) == "the Bitbucket token has scopes repository; creating branches needs repository:write"


def test_a_workspace_access_token_with_write_scope_passes(bitbucket):
    bitbucket.add_workspace_token("ws-token", "acme", ["repository:write"])
    client(bitbucket, token="ws-token").verify()
    assert not bitbucket.calls("GET", "/user/")


def test_a_users_token_is_checked_against_the_users_permission(bitbucket):
    bitbucket.add_user_token("user-token", ["repository:write", "account"], {"acme/app": "write"})
    client(bitbucket, token="user-token").verify()
    [check] = bitbucket.calls("GET", "/user/permissions/repositories$")
    assert check.query == {"q": ['repository.full_name="acme/app"']}


def test_a_user_with_read_permission_cannot_push(bitbucket):
    bitbucket.add_user_token("user-token", ["repository:write"], {"acme/app": "read"})
    error = failure(client(bitbucket, token="user-token").verify)
    assert str(error) == "the token's user has read access to acme/app; pushing needs write or admin"


def test_verify_reports_a_missing_default_branch(bitbucket):
    error = failure(client(bitbucket, default_branch="trunk").verify)
    assert str(error) == "branch trunk in acme/app does not exist or the token cannot see it (404)"


def test_branch_head_returns_the_target_hash(bitbucket):
    assert client(bitbucket).branch_head("develop") == sha_of("develop")


def test_create_branch_posts_the_name_and_the_head_hash(bitbucket):
    assert client(bitbucket).create_branch("release/1.2.0", "main") == MAIN
    [post] = bitbucket.calls("POST")
    assert post.json() == {"name": "release/1.2.0", "target": {"hash": MAIN}}
    assert bitbucket.repositories["acme/app"]["release/1.2.0"] == MAIN


def test_create_branch_again_at_the_same_commit_succeeds(bitbucket):
    scm = client(bitbucket)
    scm.create_branch("release/1.2.0", "main")
    assert scm.create_branch("release/1.2.0", "main") == MAIN
    assert bitbucket.calls("GET", r"/refs/branches/release/1\.2\.0$")


def test_an_existing_branch_at_another_commit_is_a_conflict(bitbucket):
    bitbucket.repositories["acme/app"]["release/1.2.0"] = sha_of("elsewhere")
    error = failure(lambda: client(bitbucket).create_branch("release/1.2.0", "main"))
    assert str(error) == (f"branch release/1.2.0 already exists in acme/app at {sha_of('elsewhere')[:12]}, "
                          f"not at main's head {MAIN[:12]}")


def test_a_refused_name_reports_bitbuckets_reason(bitbucket):
    bitbucket.fail(400, {"type": "error", "error": {"message": "Invalid branch name"}}, path="/refs/branches$",
                   method="POST")
    error = failure(lambda: client(bitbucket).create_branch("bad..name", "main"))
    assert str(error) == "Bitbucket refused to create branch bad..name: Invalid branch name (400)"
    assert error.status == 400


def test_a_missing_scope_on_create_reports_bitbuckets_reason(bitbucket):
    bitbucket.add_repository_token("read-token", "acme/app", ["repository"])
    error = failure(lambda: client(bitbucket, token="read-token").create_branch("release/1.2.0", "main"))
    assert "Your credentials lack one or more required privilege scopes. (403)" in str(error)


def test_a_server_error_is_reported_with_its_status(bitbucket):
    bitbucket.fail(500, "<html>oops</html>", path="/repositories/")
    error = failure(client(bitbucket).verify)
    assert (str(error), error.status) == ("Bitbucket failed (500)", 500)


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_unavailability_are_retried_after_retry_after(bitbucket, status):
    bitbucket.fail(status, {"type": "error", "error": {"message": "Rate limit"}}, path="/branches/develop$", times=2,
                   headers={"Retry-After": "0"})
    assert client(bitbucket).branch_head("develop") == sha_of("develop")
    assert len(bitbucket.calls("GET", "/branches/develop$")) == 3


def test_a_bitbucket_that_is_gone_is_unreachable(bitbucket):
    scm = client(bitbucket)
    bitbucket.stop()
    error = failure(scm.verify)
    assert str(error).startswith("cannot reach Bitbucket at http://127.0.0.1:") and error.retryable


def test_a_bitbucket_that_does_not_answer_in_time_times_out(bitbucket):
    bitbucket.delay = 1
    error = failure(client(bitbucket, timeout=0.2).verify)
    assert "did not answer in time" in str(error) and error.retryable
