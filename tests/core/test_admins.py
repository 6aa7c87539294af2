"""Who is admin: the first person only of a workspace with no admin at all, the people the operator names,
and admins granting and revoking admin (never the last one)."""
from __future__ import annotations

import pytest

from core.config import Settings, SettingsError
from core.enums import Role
from core.errors import ConflictError, PermissionDeniedError
from core.services import audit, tenants
from tests import factories


@pytest.fixture
def tenant(session):
    return factories.tenant(session)


def arrive(session, tenant, user, **named):
    return tenants.ensure_account(session, tenant_id=tenant.id, slack_user_id=user, display_name=user.lower(),
                                  arriving=True, **named)


def grants(session, tenant) -> list[tuple]:
    return [(e.actor, e.subject_name, e.detail) for e in audit.list_audit(session, tenant_id=tenant.id)
            if e.action == "admin granted"]


def test_the_first_person_of_a_workspace_without_admins_becomes_its_admin(session, tenant):
    assert arrive(session, tenant, "U0FIRST").role == Role.ADMIN
    assert arrive(session, tenant, "U0SECOND").role == Role.MEMBER
    assert grants(session, tenant) == [("u0first", "u0first", "the first person of a workspace without an admin")]


def test_an_admin_the_operator_registered_keeps_the_first_person_a_member(session, tenant):
    factories.account(session, tenant.id, "Operator's pick", role=Role.ADMIN)
    assert arrive(session, tenant, "U0FIRST").role == Role.MEMBER


def test_members_registered_first_do_not_stop_the_first_user_rule(session, tenant):
    factories.account(session, tenant.id, "Grace", role=Role.MEMBER)
    assert arrive(session, tenant, "U0FIRST").role == Role.ADMIN


def test_a_person_named_as_pilot_never_becomes_admin_by_arriving_first(session, tenant):
    pilot = tenants.ensure_account(session, tenant_id=tenant.id, slack_user_id="U0PILOT", display_name="pilot")
    assert pilot.role == Role.MEMBER and grants(session, tenant) == []


def test_people_the_operator_names_are_admins_and_nobody_else_by_default(session, tenant):
    named = frozenset({"U0BOSS"})
    assert arrive(session, tenant, "U0FIRST", named_admins=named).role == Role.MEMBER
    assert arrive(session, tenant, "U0BOSS", named_admins=named).role == Role.ADMIN
    assert arrive(session, tenant, "U0BOSS", named_admins=named).role == Role.ADMIN  # seen again: nothing new
    assert grants(session, tenant) == [(audit.OPERATOR, "u0boss", "named in RELEASEBOT_ADMINS")]


def test_a_member_the_operator_names_later_is_promoted_on_their_next_request(session, tenant):
    assert arrive(session, tenant, "U0FIRST").role == Role.ADMIN
    assert arrive(session, tenant, "U0LATER").role == Role.MEMBER
    assert arrive(session, tenant, "U0LATER", named_admins=frozenset({"U0LATER"})).role == Role.ADMIN
    assert grants(session, tenant) == [(audit.OPERATOR, "u0later", "named in RELEASEBOT_ADMINS"),
                                       ("u0first", "u0first", "the first person of a workspace without an admin")]


def test_releasebot_admins_is_read_from_the_environment_and_checked():
    assert Settings.from_env({"RELEASEBOT_ADMINS": "U0ADA, W0GRACE"}).admins == ("U0ADA", "W0GRACE")
    with pytest.raises(SettingsError, match="RELEASEBOT_ADMINS: \"ada\" is not a comma-separated list of Slack user ids"):
        Settings.from_env({"RELEASEBOT_ADMINS": "ada"})


def test_an_admin_grants_and_revokes_admin_and_both_are_audited(session, tenant):
    ada = factories.account(session, tenant.id, "Ada")
    grace = tenants.grant_admin(session, tenant_id=tenant.id, slack_user_id="U0GRACE", display_name="Grace",
                                actor_account_id=ada.id)
    assert grace.role == Role.ADMIN
    assert [a.displayName for a in tenants.list_admins(session, tenant_id=tenant.id)] == ["Ada", "Grace"]
    tenants.revoke_admin(session, tenant_id=tenant.id, account_id=grace.id, actor_account_id=ada.id)
    assert grace.role == Role.MEMBER
    assert [(e.action, e.actor, e.subject_name) for e in audit.list_audit(session, tenant_id=tenant.id)] == [
        ("admin revoked", "Ada", "Grace"), ("admin granted", "Ada", "Grace")]


def test_the_last_admin_cannot_remove_themselves(session, tenant):
    ada = factories.account(session, tenant.id, "Ada")
    with pytest.raises(ConflictError, match="the last admin cannot be removed"):
        tenants.revoke_admin(session, tenant_id=tenant.id, account_id=ada.id, actor_account_id=ada.id)
    assert ada.role == Role.ADMIN and audit.list_audit(session, tenant_id=tenant.id) == []


def test_an_admin_may_step_down_while_another_remains(session, tenant):
    ada = factories.account(session, tenant.id, "Ada")
    factories.account(session, tenant.id, "Grace")
    tenants.revoke_admin(session, tenant_id=tenant.id, account_id=ada.id, actor_account_id=ada.id)
    assert ada.role == Role.MEMBER


def test_a_member_can_neither_grant_nor_revoke(session, tenant):
    ada = factories.account(session, tenant.id, "Ada")
    mallory = factories.account(session, tenant.id, "Mallory", role=Role.MEMBER)
    with pytest.raises(PermissionDeniedError):
        tenants.grant_admin(session, tenant_id=tenant.id, slack_user_id=mallory.slackUserId, display_name="m",
                            actor_account_id=mallory.id)
    with pytest.raises(PermissionDeniedError):
        tenants.revoke_admin(session, tenant_id=tenant.id, account_id=ada.id, actor_account_id=mallory.id)
    assert (mallory.role, ada.role) == (Role.MEMBER, Role.ADMIN)
    assert audit.list_audit(session, tenant_id=tenant.id) == []


def test_an_admin_the_operator_names_cannot_be_revoked_from_slack(session, tenant):
    ada = factories.account(session, tenant.id, "Ada")
    boss = factories.account(session, tenant.id, "Boss")
    with pytest.raises(PermissionDeniedError, match="RELEASEBOT_ADMINS"):
        tenants.revoke_admin(session, tenant_id=tenant.id, account_id=boss.id, actor_account_id=ada.id,
                             named_admins=frozenset({boss.slackUserId}))
