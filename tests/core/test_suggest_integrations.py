"""Type-ahead options (`block_suggestion`): filtered, ordered and cut at Slack's 100 in SQL, so a
tenant with thousands of integrations costs one bounded query."""
from __future__ import annotations

import pytest
from sqlalchemy import insert

from core.enums import IntegrationKind, TargetType, VerificationStatus
from core.models import TargetIntegration, new_id
from core.services.integration_choices import suggest_integrations
from tests.factories import World


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


def many_targets(session, tenant_id, n, name="Store", **overrides):
    session.execute(insert(TargetIntegration).values([
        {**dict(id=new_id(), tenantId=tenant_id, displayName=f"{name} {i:05d}", targetType=TargetType.APP_STORE,
                appIdentifier=f"com.acme.app{i}", isActive=True, verificationStatus=VerificationStatus.VALID),
         **overrides} for i in range(n)]))


def suggest(session, world, kind=IntegrationKind.TARGET, typed="", **kw):
    return suggest_integrations(session, tenant_id=world.tenant.id, kind=kind, typed=typed, limit=100, **kw)


def test_one_statement_with_a_limit_whatever_the_number_of_integrations(session, world, engine, statements):
    many_targets(session, world.tenant.id, 150)
    with statements.counting(engine):
        shown = suggest(session, world)
    assert len(shown) == 100
    assert statements.count == 1 and "LIMIT" in statements.statements[0].upper()
    assert [v.displayName for v in shown] == sorted(v.displayName for v in shown)  # by name
    assert shown[0].displayName == "App Store"


def test_what_is_typed_matches_the_name_or_the_hint_in_any_case(session, world):
    many_targets(session, world.tenant.id, 30)
    assert [v.displayName for v in suggest(session, world, typed="store 0001")] == [f"Store 000{i}" for i in range(10, 20)]
    assert [v.displayName for v in suggest(session, world, typed="COM.ACME.APP29")] == ["Store 00029"]
    assert [v.id for v in suggest(session, world, IntegrationKind.SCM, typed="acme/ap")] == [world.scm.id]
    assert suggest(session, world, typed="%") == []  # LIKE's wildcards are typed characters here
    assert suggest(session, world, typed="store_0") == []


def test_disabled_unverified_and_other_tenants_integrations_are_not_offered(session, world, cipher):
    many_targets(session, world.tenant.id, 3, name="Off", isActive=False)
    many_targets(session, world.tenant.id, 3, name="Unverified", verificationStatus=VerificationStatus.PENDING)
    other = World(session, cipher, name="Other")
    many_targets(session, other.tenant.id, 3, name="Theirs")
    assert {v.displayName for v in suggest(session, world)} == {"App Store", "Play Store"}


def test_pipelines_are_those_of_the_chosen_repository_and_targets(session, world):
    chosen = suggest(session, world, IntegrationKind.PIPELINE, scm_id=world.scm.id, target_ids=(world.ios.id,))
    assert [v.id for v in chosen] == [world.ios_pipeline.id]
    assert suggest(session, world, IntegrationKind.PIPELINE, scm_id=None, target_ids=(world.ios.id,)) == []
    assert suggest(session, world, IntegrationKind.PIPELINE, scm_id=world.scm.id, target_ids=()) == []
