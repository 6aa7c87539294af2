"""Integrations managed by admins: each change checked in core, recorded in the audit table (never a
secret), edits that keep secrets, and what removal does to releases that ended."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.enums import IntegrationKind as K
from core.enums import VerificationStatus
from core.errors import InUseError, NotFoundError, PermissionDeniedError
from core.models import AuditEvent, IntegrationVerification, ScmIntegration
from core.services import audit, integration_changes, integration_writes, integrations, lifecycle
from core.services.release_creation import create_release
from tests.factories import SCM_TOKEN, World


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


def audit_count(session, tenant_id) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tenantId == tenant_id))


def add_repo(session, world, cipher, actor, name="Android repo"):
    return integration_changes.add(
        session, tenant_id=world.tenant.id, actor_account_id=actor, kind=K.SCM, provider="github", display_name=name,
        cipher=cipher, fields={"organization": "acme", "repository": "android"}, secrets={"token": "ghp_typed_in_slack"})


def test_a_member_can_make_no_change_and_leaves_no_audit(session, world, cipher):
    who = dict(tenant_id=world.tenant.id, actor_account_id=world.member.id)
    attempts = [
        lambda: add_repo(session, world, cipher, world.member.id),
        lambda: integration_changes.edit(session, **who, integration_id=world.scm.id, display_name="Mine", cipher=cipher,
                                         fields={"organization": "evil", "repository": "app"}),
        lambda: integration_changes.set_active(session, **who, integration_id=world.scm.id, active=False),
        lambda: integration_changes.remove(session, **who, integration_id=world.jira.id),
        lambda: integration_changes.request_verification(session, **who, integration_id=world.scm.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError, match="only a releasebot admin"):
            attempt()
    assert audit_count(session, world.tenant.id) == 0
    assert session.scalar(select(func.count()).select_from(IntegrationVerification)
                          .where(IntegrationVerification.tenantId == world.tenant.id)) == 0
    scm = integrations.get_integration(session, tenant_id=world.tenant.id, integration_id=world.scm.id)
    assert (scm.displayName, scm.isActive, scm.details["organization"]) == ("iOS app repo", True, "acme")
    assert integrations.get_integration(session, tenant_id=world.tenant.id, integration_id=world.jira.id)


def test_an_admin_of_another_workspace_is_no_admin_here(session, world, cipher):
    other = World(session, cipher, name="Globex")
    with pytest.raises(PermissionDeniedError):
        integration_changes.set_active(session, tenant_id=world.tenant.id, actor_account_id=other.admin.id,
                                       integration_id=world.scm.id, active=False)


def test_each_admin_change_is_audited_with_names_never_secrets(session, world, cipher):
    view = add_repo(session, world, cipher, world.admin.id)
    who = dict(tenant_id=world.tenant.id, actor_account_id=world.admin.id)
    integration_changes.edit(session, **who, integration_id=view.id, display_name="Android app", cipher=cipher,
                             fields={"organization": "acme", "repository": "android"}, secrets={"token": "ghp_rotated"})
    integration_changes.set_active(session, **who, integration_id=view.id, active=False)
    integration_changes.request_verification(session, **who, integration_id=view.id, notify_slack_user="U0ADA")
    integration_changes.remove(session, **who, integration_id=view.id)
    entries = audit.list_audit(session, tenant_id=world.tenant.id)
    assert [(e.action, e.actor, e.subject_name) for e in reversed(entries)] == [
        ("added", "Ada", "Android repo"), ("edited", "Ada", "Android app"), ("disabled", "Ada", "Android app"),
        ("verification requested", "Ada", "Android app"), ("removed", "Ada", "Android app")]
    added, edited = entries[-1], entries[-2]
    assert added.detail == "github; fields: organization, repository; secrets: token"
    assert edited.detail == "changed: displayName, secret token"
    rows = session.scalars(select(AuditEvent).where(AuditEvent.tenantId == world.tenant.id)).all()
    assert not any("ghp_" in " ".join(filter(None, (r.detail, r.subjectName))) for r in rows)


def test_the_operator_at_the_command_line_is_recorded_as_such(session, world, cipher):
    add_repo(session, world, cipher, None)
    assert audit.list_audit(session, tenant_id=world.tenant.id)[0].actor == audit.OPERATOR


def test_an_edit_keeps_a_secret_unless_a_new_one_is_typed_and_asks_for_verification_again(session, world, cipher):
    who = dict(tenant_id=world.tenant.id, actor_account_id=world.admin.id)
    change = integration_changes.edit(session, **who, integration_id=world.scm.id, display_name="iOS repo", cipher=cipher,
                                      fields={"organization": "acme", "repository": "app"}, secrets={"token": ""})
    row = session.get(ScmIntegration, world.scm.id)
    assert integrations.load_secrets(row, cipher) == {"token": SCM_TOKEN}
    assert change.changed == ("displayName",) and change.view.verificationStatus == VerificationStatus.PENDING
    integration_changes.edit(session, **who, integration_id=world.scm.id, display_name="iOS repo", cipher=cipher,
                             fields={"organization": "acme", "repository": "app"}, secrets={"token": "ghp_new"})
    assert integrations.load_secrets(row, cipher) == {"token": "ghp_new"}


def test_an_edit_is_validated_like_an_addition(session, world, cipher):
    from core.errors import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        integration_changes.edit(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                 integration_id=world.ios_pipeline.id, display_name=" ", cipher=cipher,
                                 base_url="https://ci.example.com",
                                 fields={"scmIntegrationId": "nope", "targetIntegrationId": world.ios.id, "jobPath": "x"})
    assert set(excinfo.value.by_field()) == {"displayName", "scmIntegrationId"}


def release_of(session, world, status_change=None):
    release = create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                             draft=world.draft(target_ids=(world.ios.id,), pipeline_ids=(world.ios_pipeline.id,)))
    if status_change:
        status_change(release)
    return release


def test_a_live_release_still_blocks_removal_naming_it(session, world):
    release_of(session, world)
    with pytest.raises(InUseError, match="used by releases v1.5.0.*cancel or archive"):
        integration_changes.remove(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                   integration_id=world.ios_pipeline.id)
    assert audit_count(session, world.tenant.id) == 0


def test_a_cancelled_release_no_longer_blocks_removal_and_keeps_its_history(session, world):
    release = release_of(session, world, lambda r: lifecycle.cancel(
        session, tenant_id=world.tenant.id, release_id=r.id, actor_account_id=world.admin.id, reason="superseded"))
    who = dict(tenant_id=world.tenant.id, actor_account_id=world.admin.id)
    pipeline = integration_changes.remove(session, **who, integration_id=world.ios_pipeline.id)
    # The release still names the pipeline (the seed's RESTRICT key): the row stays, hidden and disabled.
    assert pipeline.removedAt is not None and not pipeline.isActive
    integration_changes.remove(session, **who, integration_id=world.android_pipeline.id)  # used by nothing: deleted
    scm = integration_changes.remove(session, **who, integration_id=world.scm.id)
    assert scm.removedAt is not None
    listed = {v.id for k in K for v in integrations.list_integrations(session, tenant_id=world.tenant.id, kind=k)}
    assert not {world.ios_pipeline.id, world.android_pipeline.id, world.scm.id} & listed
    with pytest.raises(NotFoundError):
        integrations.get_integration(session, tenant_id=world.tenant.id, integration_id=world.scm.id)
    from core.services.releases import get_release

    kept = get_release(session, tenant_id=world.tenant.id, release_id=release.id)
    assert kept.scm.id == world.scm.id and [p.integration.id for p in kept.pipelines] == [world.ios_pipeline.id]
    details = [e.detail for e in audit.list_audit(session, tenant_id=world.tenant.id)]
    assert details == ["hidden, kept for the history of v1.5.0", "deleted", "hidden, kept for the history of v1.5.0"]


def test_a_hidden_repository_can_be_offered_to_no_new_pipeline(session, world, cipher):
    release_of(session, world, lambda r: lifecycle.cancel(
        session, tenant_id=world.tenant.id, release_id=r.id, actor_account_id=world.admin.id, reason="superseded"))
    who = dict(tenant_id=world.tenant.id, actor_account_id=world.admin.id)
    for pipeline in (world.ios_pipeline.id, world.android_pipeline.id):
        integration_changes.remove(session, **who, integration_id=pipeline)
    integration_changes.remove(session, **who, integration_id=world.scm.id)
    from core.errors import ValidationError

    with pytest.raises(ValidationError, match="no source control integration"):
        integration_writes.add_integration(
            session, tenant_id=world.tenant.id, kind=K.PIPELINE, provider="jenkins", display_name="New", cipher=cipher,
            base_url="https://ci.example.com", secrets={"username": "u", "apiToken": "t"},
            fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": "x"})
