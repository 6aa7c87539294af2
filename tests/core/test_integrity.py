"""What removing things does: refused while in use, cleared where optional, cascaded where owned."""
from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from core.enums import Role
from core.errors import InUseError, NotFoundError, PermissionDeniedError
from core.models import Release, ReleasePipeline, ReleaseTarget
from core.services import integration_writes, integrations
from core.services.release_creation import create_release
from core.services.releases import delete_release, get_release
from tests.factories import World


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def release(session, world):
    return create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                          draft=world.draft(ticket_integration_id=world.jira.id))


def remove(session, world, integration_id):
    return integration_writes.remove_integration(session, tenant_id=world.tenant.id, integration_id=integration_id)


def test_removing_a_repository_a_release_uses_is_refused_naming_the_release(session, world, release):
    with pytest.raises(InUseError) as excinfo:
        remove(session, world, world.scm.id)
    assert "releases v1.5.0" in str(excinfo.value)
    assert "pipelines Jenkins Android, Jenkins iOS" in str(excinfo.value)


def test_removing_a_target_or_pipeline_a_release_uses_is_refused(session, world, release):
    with pytest.raises(InUseError, match="releases v1.5.0"):
        remove(session, world, world.ios.id)
    with pytest.raises(InUseError, match="“Jenkins iOS” is used by releases v1.5.0"):
        remove(session, world, world.ios_pipeline.id)


def test_the_database_itself_restricts_deleting_a_used_repository(session, world, release):
    # The service refuses first; the seed's ON DELETE RESTRICT is the backstop.
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text("DELETE FROM tenant_scm_integrations WHERE id = :id"), {"id": world.scm.id})


def test_removing_a_channel_or_tracker_clears_it_from_releases(session, world, release):
    remove(session, world, world.channel.id)
    remove(session, world, world.jira.id)
    session.expire_all()
    after = get_release(session, tenant_id=world.tenant.id, release_id=release.id)
    assert after.communication is None and after.ticket is None
    assert len(after.targets) == 2  # nothing else lost


def test_an_unused_integration_can_be_removed(session, world, cipher):
    from tests import factories

    spare = factories.scm(session, world.tenant.id, cipher, name="Spare")
    assert remove(session, world, spare.id).displayName == "Spare"
    with pytest.raises(NotFoundError):
        integrations.get_integration(session, tenant_id=world.tenant.id, integration_id=spare.id)


def test_another_tenant_cannot_remove_or_see_an_integration(session, world, cipher):
    other = World(session, cipher, name="Globex")
    with pytest.raises(NotFoundError):
        integration_writes.remove_integration(session, tenant_id=other.tenant.id, integration_id=world.channel.id)
    with pytest.raises(NotFoundError):
        integration_writes.set_active(session, tenant_id=other.tenant.id, integration_id=world.scm.id, active=False)
    assert world.scm.id not in {i.id for i in integrations.list_integrations(
        session, tenant_id=other.tenant.id, kind=world.scm.kind)}


def test_deleting_a_release_deletes_its_targets_and_pipelines(session, world, release):
    delete_release(session, tenant_id=world.tenant.id, release_id=release.id, actor=world.admin)
    for model in (Release, ReleaseTarget, ReleasePipeline):
        column = model.id if model is Release else model.releaseId
        assert session.scalar(select(func.count()).select_from(model).where(column == release.id)) == 0


def test_only_an_admin_may_delete_a_release(session, world, release):
    assert world.member.role == Role.MEMBER
    with pytest.raises(PermissionDeniedError):
        delete_release(session, tenant_id=world.tenant.id, release_id=release.id, actor=world.member)


def test_integration_tables_have_an_index_for_the_dropdown_query(session):
    inspector = inspect(session.connection())
    for table in ("tenant_scm_integrations", "tenant_target_integrations", "tenant_pipeline_integrations",
                  "tenant_communication_integrations", "tenant_ticket_integrations"):
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes(table)}
        # name order after the equality columns: the options query reads 100 in order and stops (0012)
        assert indexes[f"ix_{table}_options"] == ["tenantId", "isActive", "verificationStatus", "displayName", "id"]


def test_dropdowns_list_only_active_verified_integrations(session, world, cipher):
    from tests import factories

    factories.scm(session, world.tenant.id, cipher, name="Broken repo", valid=False)
    integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=world.ios.id, active=False)
    scms = integrations.list_integrations(session, tenant_id=world.tenant.id, kind=world.scm.kind, usable_only=True)
    targets = integrations.list_integrations(session, tenant_id=world.tenant.id, kind=world.ios.kind, usable_only=True)
    assert [s.displayName for s in scms] == ["iOS app repo"]
    assert [t.displayName for t in targets] == ["Play Store"]
