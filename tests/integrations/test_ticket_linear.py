"""The Linear client (our module + HttpClient/requests) against the fake Linear GraphQL API."""
from __future__ import annotations

import pytest

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext, Ticket
from core.integrations.registry import build_client
from tests.fakes.linear import FakeLinear

API_KEY = "lin_api_s3cr3tpersonalkey"


@pytest.fixture
def linear():
    fake = FakeLinear()
    fake.add_api_key(API_KEY)
    fake.add_team("MOB", "Mobile")
    with fake:
        yield fake


def client(fake: FakeLinear, team: str = "MOB", *, api_key: str = API_KEY, timeout: float = 5.0, private: bool = True):
    config = IntegrationConfig(id="l-1", provider="LINEAR", display_name="Linear", base_url=fake.url,
                               fields={"projectKey": team}, settings={}, secrets={"apiKey": api_key})
    return build_client(IntegrationKind.TICKET, config, ProviderContext(allow_private_networks=private, timeout=timeout))


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    for secret in (API_KEY, "lin_api_wrong"):
        assert secret not in str(caught.value) and secret not in repr(caught.value.args)
    assert "s3cr3t" not in str(caught.value)
    return caught.value


def test_verify_sends_the_bare_key_and_finds_the_team(linear):
    client(linear).verify()
    assert [name for name, _ in linear.operations] == ["Viewer", "TeamByKey"]
    assert linear.operations[1][1] == {"key": "MOB"}
    assert all(r.headers["Authorization"] == API_KEY for r in linear.requests)


def test_a_wrong_key_is_rejected(linear):
    error = failure(client(linear, api_key="lin_api_wrong").verify)
    assert (str(error), error.status) == ("Linear rejected the API key (AUTHENTICATION_ERROR)", 401)


def test_a_personal_key_behind_bearer_is_rejected_like_linear_does(linear):
    assert "AUTHENTICATION_ERROR" in str(failure(client(linear, api_key=f"Bearer {API_KEY}").verify))


def test_an_oauth_token_keeps_its_bearer_prefix(linear):
    linear.add_oauth_token("lin_oauth_token")
    client(linear, api_key="Bearer lin_oauth_token").verify()
    assert linear.requests[-1].headers["Authorization"] == "Bearer lin_oauth_token"


def test_verify_reports_a_missing_team(linear):
    error = failure(client(linear, "NOPE").verify)
    assert str(error) == "Linear has no team with key NOPE, or the API key cannot see it"


def test_create_epic_creates_an_issue_in_the_team(linear):
    ticket = client(linear).create_epic(title="Release 1.2.0", description="Android and iOS")
    assert ticket == Ticket(key="MOB-1", url="https://linear.app/acme/issue/MOB-1/release-1-2-0")
    [issue] = linear.issues
    assert (issue["team"]["key"], issue["title"], issue["description"]) == ("MOB", "Release 1.2.0", "Android and iOS")


def test_the_workspace_web_url_comes_from_the_organizations_url_key_where_issue_urls_live(linear):
    assert client(linear).web_url() == "https://linear.app/acme"
    assert [name for name, _ in linear.operations] == ["Organization"]
    ticket = client(linear).create_epic(title="Release 1.2.0", description="")
    assert ticket.url.startswith(f"{client(linear).web_url()}/issue/{ticket.key}")


def test_the_workspace_web_url_needs_a_working_key(linear):
    assert "AUTHENTICATION_ERROR" in str(failure(client(linear, api_key="lin_api_wrong").web_url))


def test_a_refused_input_is_reported_with_linears_reason(linear):
    error = failure(lambda: client(linear).create_epic(title="", description=""))
    assert str(error) == "Linear refused the request: title must be a string (INVALID_INPUT)"
    assert linear.issues == []


def test_a_rate_limit_is_retryable_until_the_reset(linear):
    linear.rate_limit()
    error = failure(client(linear).verify)
    assert error.retryable and error.status == 429
    assert 20 < error.retry_after <= 30


def test_an_http_429_is_retried_by_the_shared_client(linear):
    linear.fail(429, {"errors": [{"message": "Too many requests"}]}, path="/graphql", headers={"Retry-After": "0"})
    client(linear).verify()
    assert len(linear.requests) == 3


def test_a_linear_that_is_gone_is_unreachable(linear):
    linear_client = client(linear)
    linear.stop()
    error = failure(linear_client.verify)
    assert str(error).startswith("cannot reach Linear at http://127.0.0.1:") and error.retryable


def test_a_linear_that_does_not_answer_in_time_times_out(linear):
    linear.delay = 2
    assert "did not answer in time" in str(failure(client(linear, timeout=0.5).verify))


def test_a_server_error_page_is_reported_with_its_status(linear):
    linear.fail(500, "<html>oops</html>", path="/graphql")
    error = failure(client(linear).verify)
    assert (str(error), error.status) == ("Linear failed (500)", 500)


def test_a_private_linear_url_is_refused_unless_allowed(linear):
    assert "resolves to a private address" in str(failure(lambda: client(linear, private=False)))
    assert linear.requests == []
