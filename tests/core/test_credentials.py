"""Credentials are encrypted at rest and can be re-encrypted with a new key."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core.crypto import CredentialCipher, generate_key
from core.enums import IntegrationKind, VerificationStatus
from core.errors import ConfigurationError, ValidationError
from core.services import integration_writes, integrations
from tests import factories

SECRET = "ghp_secret_token_value"


def raw_credentials(session, table, integration_id) -> str:
    return session.execute(text(f"SELECT encryptedCredentials FROM {table} WHERE id = :id"),
                           {"id": integration_id}).scalar_one()


def test_the_stored_column_holds_no_plaintext(session, cipher):
    tenant = factories.tenant(session)
    scm = factories.scm(session, tenant.id, cipher)
    raw = raw_credentials(session, "tenant_scm_integrations", scm.id)
    assert SECRET not in raw and "token" not in raw
    kind, row = integrations.get_row(session, tenant_id=tenant.id, integration_id=scm.id)
    assert integrations.load_secrets(row, cipher) == {"token": SECRET}


def test_views_never_carry_secrets(session, cipher):
    tenant = factories.tenant(session)
    scm = factories.scm(session, tenant.id, cipher)
    assert SECRET not in repr(scm) and SECRET not in repr(integrations.list_integrations(
        session, tenant_id=tenant.id, kind=IntegrationKind.SCM))


def test_rotation_re_encrypts_everything_with_the_newest_key(session, cipher):
    tenant = factories.tenant(session)
    scm = factories.scm(session, tenant.id, cipher)
    jira = factories.jira(session, tenant.id, cipher)
    before = raw_credentials(session, "tenant_scm_integrations", scm.id)
    new_key = generate_key()
    rotated = CredentialCipher([new_key, *cipher._keys])
    assert integration_writes.reencrypt_all(session, cipher=rotated) >= 2
    after = raw_credentials(session, "tenant_scm_integrations", scm.id)
    assert after != before
    only_new = CredentialCipher([new_key])  # the old key can now be dropped
    kind, row = integrations.get_row(session, tenant_id=tenant.id, integration_id=jira.id)
    assert only_new.decrypt(row.encryptedCredentials)["apiToken"] == "jira-api-token"


def test_a_missing_key_is_a_clear_configuration_error(session):
    tenant = factories.tenant(session)
    with pytest.raises(ConfigurationError, match="RELEASEBOT_SECRET_KEYS is not set"):
        integration_writes.add_integration(session, tenant_id=tenant.id, kind=IntegrationKind.SCM, provider="github",
                                     display_name="x", cipher=CredentialCipher([]),
                                     fields={"organization": "a", "repository": "b"}, secrets={"token": "t"})


def test_a_wrong_key_says_which_setting_to_fix(cipher):
    token = cipher.encrypt({"token": "x"})
    with pytest.raises(ConfigurationError, match="the key that encrypted them is missing"):
        CredentialCipher([generate_key()]).decrypt(token)
    with pytest.raises(ConfigurationError, match="malformed key"):
        CredentialCipher(["not-a-key"])


def test_new_integrations_start_pending(session, cipher):
    tenant = factories.tenant(session)
    view = integration_writes.add_integration(
        session, tenant_id=tenant.id, kind=IntegrationKind.TICKET, provider="linear", display_name="Linear MOB",
        cipher=cipher, fields={"projectKey": "MOB"}, secrets={"apiKey": "lin_api_x"})
    assert view.verificationStatus == VerificationStatus.PENDING and view.baseUrl == "https://api.linear.app"


def test_missing_fields_and_secrets_are_named(session, cipher):
    tenant = factories.tenant(session)
    with pytest.raises(ValidationError) as excinfo:
        integration_writes.add_integration(session, tenant_id=tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins",
                                     display_name="CI", cipher=cipher, base_url="ftp://ci",
                                     fields={"jobPath": "x", "scmIntegrationId": "nope"}, secrets={"username": "u"})
    problems = excinfo.value.by_field()
    assert {"baseUrl", "targetIntegrationId", "apiToken", "scmIntegrationId"} <= set(problems)
    with pytest.raises(ValidationError, match="use one of github, gitlab, bitbucket"):
        integration_writes.add_integration(session, tenant_id=tenant.id, kind=IntegrationKind.SCM, provider="svn",
                                     display_name="x", cipher=cipher)


def test_a_misspelt_field_setting_or_secret_is_named_not_stored(session, cipher):
    world = factories.World(session, cipher)
    with pytest.raises(ValidationError) as excinfo:
        integration_writes.add_integration(
            session, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="CI",
            cipher=cipher, base_url="https://ci.example.com", settings={"colour": "blue"},
            fields={"jobPath": "x", "scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobpath": "y"},
            secrets={"username": "u", "apiToken": "t", "apitoken": "t2"})
    problems = excinfo.value.by_field()
    assert set(problems) == {"jobpath", "colour", "apitoken"}
    assert "Jenkins has no secret apitoken: it takes apiToken, username, webhookSecret" in str(excinfo.value)
    view = integration_writes.add_integration(  # the webhook secret is optional, and accepted
        session, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="CI",
        cipher=cipher, base_url="https://ci.example.com",
        fields={"jobPath": "x", "scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id},
        secrets={"username": "u", "apiToken": "t", "webhookSecret": "w"})
    assert view.provider == "JENKINS"


def test_jira_accepts_either_cloud_or_data_center_credentials(session, cipher):
    tenant = factories.tenant(session)
    for secrets in ({"email": "a@b.c", "apiToken": "t"}, {"personalAccessToken": "pat"}):
        view = integration_writes.add_integration(
            session, tenant_id=tenant.id, kind=IntegrationKind.TICKET, provider="jira", display_name="Jira",
            cipher=cipher, base_url="https://jira.example.com", fields={"projectKey": "MOB"}, secrets=secrets)
        assert view.provider == "JIRA"
    with pytest.raises(ValidationError, match="email\\+apiToken or personalAccessToken"):
        integration_writes.add_integration(
            session, tenant_id=tenant.id, kind=IntegrationKind.TICKET, provider="jira", display_name="Jira",
            cipher=cipher, base_url="https://jira.example.com", fields={"projectKey": "MOB"}, secrets={"email": "x"})
