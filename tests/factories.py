"""Builders of test data through the real services (integrations are verified the way the
verification service records it; no test marks a row VALID behind the services' back)."""
from __future__ import annotations

import uuid

from core.crypto import CredentialCipher
from core.enums import IntegrationKind as K
from core.enums import Role
from core.services import integration_writes, tenants, verification


def tenant(session, name="Acme Mobile"):
    return tenants.add_tenant(session, name=name, slack_team_id="T" + uuid.uuid4().hex[:10].upper())


def account(session, tenant_id, name="Ada", role=Role.ADMIN):
    return tenants.add_account(session, tenant_id=tenant_id, slack_user_id="U" + uuid.uuid4().hex[:10].upper(),
                               display_name=name, role=role)


def _valid(session, tenant_id, view, valid=True):
    return verification.record_verification(session, tenant_id=tenant_id, integration_id=view.id,
                                            error=None if valid else "GitHub rejected the token (401)")


SCM_TOKEN = "ghp_secret_token_value"


def scm(session, tenant_id, cipher: CredentialCipher, name="iOS app repo", valid=True, repository="app", base_url=None):
    view = integration_writes.add_integration(
        session, tenant_id=tenant_id, kind=K.SCM, provider="github", display_name=name, cipher=cipher, base_url=base_url,
        fields={"organization": "acme", "repository": repository}, secrets={"token": SCM_TOKEN})
    return _valid(session, tenant_id, view, valid)


def target(session, tenant_id, cipher, name="App Store", provider="app_store", valid=True):
    settings = {"keyId": "KEY123", "issuerId": "iss"} if provider == "app_store" else {}
    secrets = {"privateKey": "-----BEGIN PRIVATE KEY-----x"} if provider == "app_store" else {"serviceAccountJson": "{}"}
    view = integration_writes.add_integration(
        session, tenant_id=tenant_id, kind=K.TARGET, provider=provider, display_name=name, cipher=cipher,
        fields={"appIdentifier": "com.acme.app"}, settings=settings, secrets=secrets)
    return _valid(session, tenant_id, view, valid)


def pipeline(session, tenant_id, cipher, scm_id, target_id, name="Jenkins iOS", valid=True):
    view = integration_writes.add_integration(
        session, tenant_id=tenant_id, kind=K.PIPELINE, provider="jenkins", display_name=name, cipher=cipher,
        base_url="https://ci.example.com", fields={"scmIntegrationId": scm_id, "targetIntegrationId": target_id,
                                                   "jobPath": "mobile/ios-release"},
        secrets={"username": "bot", "apiToken": "jenkins-api-token"})
    return _valid(session, tenant_id, view, valid)


def slack_channel(session, tenant_id, cipher, name="#releases", valid=True):
    view = integration_writes.add_integration(
        session, tenant_id=tenant_id, kind=K.COMMUNICATION, provider="slack", display_name=name, cipher=cipher,
        fields={"channelId": "C" + uuid.uuid4().hex[:8].upper(), "channelName": name.lstrip("#")})
    return _valid(session, tenant_id, view, valid)


def jira(session, tenant_id, cipher, name="Jira MOB", valid=True):
    view = integration_writes.add_integration(
        session, tenant_id=tenant_id, kind=K.TICKET, provider="jira", display_name=name, cipher=cipher,
        base_url="https://acme.atlassian.net", fields={"projectKey": "MOB"},
        secrets={"email": "bot@acme.test", "apiToken": "jira-api-token"})
    return _valid(session, tenant_id, view, valid)


class World:
    """One tenant with an admin, a verified repo, two targets, two pipelines, a channel and Jira."""

    def __init__(self, session, cipher, name="Acme Mobile", existing_tenant=None, scm_base_url=None):
        self.tenant = existing_tenant or tenant(session, name)
        self.admin = account(session, self.tenant.id, "Ada")
        self.member = account(session, self.tenant.id, "Grace", role=Role.MEMBER)
        self.scm = scm(session, self.tenant.id, cipher, base_url=scm_base_url)
        self.ios = target(session, self.tenant.id, cipher, "App Store")
        self.android = target(session, self.tenant.id, cipher, "Play Store", provider="play_store")
        self.ios_pipeline = pipeline(session, self.tenant.id, cipher, self.scm.id, self.ios.id, "Jenkins iOS")
        self.android_pipeline = pipeline(session, self.tenant.id, cipher, self.scm.id, self.android.id, "Jenkins Android")
        self.channel = slack_channel(session, self.tenant.id, cipher)
        self.jira = jira(session, self.tenant.id, cipher)

    def draft(self, **overrides):
        # No tracker unless asked (ticket_integration_id=world.jira.id): kickoff opens epics in a release's tracker,
        # and this Jira is not a fake on loopback.
        from core.services.release_creation import ReleaseDraft

        values = dict(version="1.5.0", scm_integration_id=self.scm.id, target_ids=(self.ios.id, self.android.id),
                      pipeline_ids=(self.ios_pipeline.id, self.android_pipeline.id),
                      communication_integration_id=self.channel.id, ticket_integration_id=None,
                      release_pilot_id=self.member.id, description="New onboarding")
        values.update(overrides)
        return ReleaseDraft(**values)


def github_for(world_repo: str = "acme/app"):
    """A started fake GitHub holding the World's repository (main only) and its token, with push."""
    from tests.fakes.github import FakeGitHub

    fake = FakeGitHub().start()
    fake.add_token(SCM_TOKEN)
    fake.add_repo(world_repo)
    fake.grant(world_repo, "releasebot", "push")
    return fake
