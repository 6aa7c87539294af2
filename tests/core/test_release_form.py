"""What the create form opens with (`/release create`): one bounded statement whatever the number of
integrations, only the tenant's usable ones counted."""
from __future__ import annotations

import pytest

from core.enums import IntegrationKind
from core.services import integration_writes, integrations
from core.services.integration_choices import release_form
from tests import factories
from tests.factories import World


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


def test_one_statement_and_the_sole_repository_as_the_list_shows_it(session, world, engine, statements):
    with statements.counting(engine):
        form = release_form(session, tenant_id=world.tenant.id)
    assert statements.count == 1 and "LIMIT" in statements.statements[0].upper()
    assert "encryptedCredentials" not in statements.statements[0]  # secrets are never read for a form
    assert form.missing == ()
    assert form.sole_scm == integrations.list_integrations(session, tenant_id=world.tenant.id, kind=IntegrationKind.SCM,
                                                           usable_only=True)[0]


def test_two_repositories_preselect_none(session, world, cipher):
    factories.scm(session, world.tenant.id, cipher, name="Android app repo")
    factories.scm(session, world.tenant.id, cipher, name="Web repo")
    form = release_form(session, tenant_id=world.tenant.id)
    assert form.missing == () and form.sole_scm is None


def test_unusable_integrations_and_other_tenants_ones_do_not_count(session, world, cipher):
    other = World(session, cipher, name="Other")
    factories.scm(session, world.tenant.id, cipher, name="Broken repo", valid=False)
    for target in (world.ios, world.android):
        integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=target.id, active=False)
    integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=world.scm.id, active=False)
    form = release_form(session, tenant_id=world.tenant.id)
    assert form.missing == ("source control integration", "store target") and form.sole_scm is None
    assert release_form(session, tenant_id=other.tenant.id).sole_scm.id == other.scm.id


def test_a_workspace_with_a_repository_but_no_target_lacks_only_the_target(session, world, engine, statements):
    for target in (world.ios, world.android):
        integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=target.id, active=False)
    with statements.counting(engine):
        form = release_form(session, tenant_id=world.tenant.id)
    assert form.missing == ("store target",) and form.sole_scm.id == world.scm.id
    assert statements.count == 1


def test_a_workspace_with_targets_but_no_repository_lacks_only_the_repository(session, world):
    integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=world.scm.id, active=False)
    assert release_form(session, tenant_id=world.tenant.id).missing == ("source control integration",)
