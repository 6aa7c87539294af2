"""The Jira client (our module + the `jira` library) against the fake Jira over loopback."""
from __future__ import annotations

import base64
import time

import pytest

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext, Ticket
from core.integrations.registry import build_client
from tests.fakes.jira import EPIC_NAME_ID, FakeJira

EMAIL, API_TOKEN, PAT = "bot@example.com", "ATATT-cloud-s3cr3t", "NjM-dc-pat-s3cr3t"
SECRETS = (API_TOKEN, PAT, "wrong-s3cr3t")


@pytest.fixture
def cloud():
    fake = FakeJira(cloud=True)
    fake.add_api_token(EMAIL, API_TOKEN)
    fake.add_project("MOB", simplified=True)  # team-managed: no Epic Name
    with fake:
        yield fake


@pytest.fixture
def datacenter():
    fake = FakeJira(cloud=False, version=(9, 12, 2), captcha_after=3)
    fake.add_pat(PAT)
    fake.add_api_token("releasebot", "dc-password-s3cr3t")
    fake.add_project("MOB", epic_name="required")
    with fake:
        yield fake


def jira(fake: FakeJira, project: str = "MOB", *, secrets: dict | None = None, timeout: float = 5.0,
         private: bool = True):
    secrets = secrets if secrets is not None else ({"email": EMAIL, "apiToken": API_TOKEN} if fake.cloud
                                                   else {"personalAccessToken": PAT})
    config = IntegrationConfig(id="j-1", provider="JIRA", display_name="Jira", base_url=fake.url,
                               fields={"projectKey": project}, settings={}, secrets=secrets)
    return build_client(IntegrationKind.TICKET, config, ProviderContext(allow_private_networks=private, timeout=timeout))


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    for secret in SECRETS + ("dc-password-s3cr3t",):
        assert secret not in str(caught.value) and secret not in repr(caught.value.args)
    return caught.value


def epic_posts(fake: FakeJira) -> list[dict]:
    return [r.json()["fields"] for r in fake.calls("POST", r"/rest/api/2/issue$")]


# --- verify -----------------------------------------------------------------------------------------
def test_verify_on_cloud_with_an_api_token(cloud):
    jira(cloud).verify()
    paths = [r.path for r in cloud.requests]
    assert paths == ["/rest/api/2/serverInfo", "/rest/api/2/myself", "/rest/api/2/project/MOB"]
    expected = "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    assert cloud.requests[1].headers["Authorization"] == expected


def test_verify_on_data_center_with_a_personal_access_token(datacenter):
    jira(datacenter).verify()
    headers = {k.lower(): v for k, v in datacenter.calls("GET", "/myself")[0].headers.items()}
    assert headers["authorization"] == f"Bearer {PAT}"


def test_a_wrong_api_token_is_rejected_without_echoing_it(cloud):
    error = failure(jira(cloud, secrets={"email": EMAIL, "apiToken": "wrong-s3cr3t"}).verify)
    assert (str(error), error.status) == ("Jira rejected the credentials (401)", 401)


def test_a_wrong_personal_access_token_is_rejected(datacenter):
    assert str(failure(jira(datacenter, secrets={"personalAccessToken": "wrong-s3cr3t"}).verify)) == \
        "Jira rejected the credentials (401)"


def test_cloud_does_not_take_personal_access_tokens(cloud):
    cloud.add_pat(PAT)
    assert failure(jira(cloud, secrets={"personalAccessToken": PAT}).verify).status == 401


def test_a_captcha_after_failed_logins_is_explained(datacenter):
    wrong = {"email": "releasebot", "apiToken": "wrong-s3cr3t"}
    for _ in range(3):
        assert failure(jira(datacenter, secrets=wrong).verify).status == 401
    error = failure(jira(datacenter, secrets={"email": "releasebot", "apiToken": "dc-password-s3cr3t"}).verify)
    assert error.status == 403 and "CAPTCHA" in str(error)


def test_verify_reports_a_missing_project(cloud):
    error = failure(jira(cloud, "NOPE").verify)
    assert (str(error), error.status) == ("project NOPE does not exist or the user cannot see it", 404)


def test_verify_reports_a_project_without_epics(cloud):
    cloud.add_project("OPS", epic=False)
    assert str(failure(jira(cloud, "OPS").verify)) == "project OPS has no Epic issue type"


def test_missing_credentials_are_reported_before_any_call(cloud):
    error = failure(lambda: jira(cloud, secrets={"email": EMAIL}))
    assert "either email and apiToken" in str(error)
    assert cloud.requests == []


def test_a_private_jira_url_is_refused_unless_allowed(cloud):
    assert "resolves to a private address" in str(failure(lambda: jira(cloud, private=False)))
    assert cloud.requests == []


# --- create_epic ------------------------------------------------------------------------------------
def test_create_epic_in_a_team_managed_cloud_project_sends_no_epic_name(cloud):
    ticket = jira(cloud).create_epic(title="Release 1.2.0", description="Android and iOS")
    assert ticket == Ticket(key="MOB-1", url=f"{cloud.url}/browse/MOB-1")
    [fields] = epic_posts(cloud)
    assert fields == {"project": {"id": cloud.projects["MOB"].id}, "issuetype": {"id": "10000"},
                      "summary": "Release 1.2.0", "description": "Android and iOS"}


def test_create_epic_on_data_center_fills_the_required_epic_name(datacenter):
    ticket = jira(datacenter).create_epic(title="Release 1.2.0", description="notes")
    assert ticket.key == "MOB-1"
    [fields] = epic_posts(datacenter)
    assert fields[EPIC_NAME_ID] == "Release 1.2.0"
    assert datacenter.calls("GET", "/issue/createmeta/MOB/issuetypes/10000"), "asked the per-type endpoint"


def test_an_optional_epic_name_is_left_out(cloud):
    cloud.add_project("APP", epic_name="optional")
    jira(cloud, "APP").create_epic(title="Release 2.0.0", description="")
    assert EPIC_NAME_ID not in epic_posts(cloud)[0]
    assert cloud.calls("GET", r"/issue/createmeta$")[0].query["expand"] == ["projects.issuetypes.fields"]


def test_an_older_data_center_is_asked_through_the_old_createmeta(datacenter):
    old = FakeJira(cloud=False, version=(8, 0, 0))
    old.add_pat(PAT)
    old.add_project("MOB", epic_name="required")
    with old:
        assert jira(old).create_epic(title="Release 1.0.0", description="").key == "MOB-1"
        assert epic_posts(old)[0][EPIC_NAME_ID] == "Release 1.0.0"
        assert old.calls("GET", r"/issue/createmeta$")


def test_a_field_jira_refuses_is_reported_with_jiras_reason(cloud):
    cloud.fail(400, {"errorMessages": [], "errors": {"summary": "Summary must be less than 255 characters."}},
               path=r"/rest/api/2/issue$", method="POST")
    error = failure(lambda: jira(cloud).create_epic(title="x" * 300, description=""))
    assert str(error) == "Jira refused the epic: Summary must be less than 255 characters. (400)"


def test_a_rate_limit_is_retryable_with_its_retry_after(cloud):
    cloud.fail(429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, path="/project/", headers={"Retry-After": "7"})
    error = failure(jira(cloud).verify)
    assert (error.status, error.retryable, error.retry_after) == (429, True, 7.0)


def test_a_jira_that_is_gone_fails_fast(cloud):
    client = jira(cloud)
    cloud.stop()
    started = time.monotonic()
    error = failure(client.verify)
    assert str(error).startswith("cannot reach Jira at http://127.0.0.1:") and error.retryable
    assert time.monotonic() - started < 3


def test_a_jira_that_does_not_answer_in_time_times_out(cloud):
    cloud.delay = 2
    error = failure(jira(cloud, timeout=0.5).verify)
    assert "did not answer in time" in str(error) and error.retryable


def test_a_url_that_is_not_jira_is_reported(cloud):
    cloud.fail(200, "<html>a wiki</html>", path="/serverInfo")
    assert "does not answer like Jira" in str(failure(jira(cloud).verify))
