"""Slack installations in the database (OAuth mode): tokens encrypted, one row per workspace or org, tenants
created or reactivated by an install, org-wide installs serving each workspace, one-time OAuth states."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.enums import Role
from core.integrations.base import ProviderContext
from core.models import Account, SlackInstallation, SlackOAuthState, Tenant
from core.services import cards, installations
from core.services.installations import InstalledBot
from core.services.release_creation import create_release
from core.services.tenants import ensure_tenant
from tests.factories import World


def bot(team: str | None, *, org: str | None = None, user: str = "U0INSTALLER", token: str = "xoxb-1", **extra) -> InstalledBot:
    values = dict(enterprise_id=org, team_id=team, is_enterprise_install=team is None, tenant_id=None, app_id="A0APP",
                  name="Acme", installer_user_id=user, bot_id="B0BOT", bot_user_id="U0BOT", bot_scopes="commands,chat:write",
                  installed_at=datetime(2026, 11, 28, 12, 0), bot_token=token)
    return InstalledBot(**{**values, **extra})


def ids() -> tuple[str, str]:
    return "T" + uuid.uuid4().hex[:9].upper(), "E" + uuid.uuid4().hex[:9].upper()


def role(session, tenant_id: str, user: str) -> Role | None:
    return session.scalar(select(Account.role).where(Account.tenantId == tenant_id, Account.slackUserId == user))


def test_an_install_stores_the_token_encrypted_and_creates_the_tenant_with_the_installer_as_admin(session, cipher):
    team, _ = ids()
    done = installations.record_installation(session, cipher=cipher, bot=bot(team, token="xoxb-secret-123",
                                                                              bot_refresh_token="xoxe-1-r"))
    row = session.scalar(select(SlackInstallation).where(SlackInstallation.teamId == team))
    assert "xoxb-secret-123" not in row.credentials and "xoxe-1-r" not in row.credentials
    assert cipher.decrypt(row.credentials) == {"bot_token": "xoxb-secret-123", "bot_refresh_token": "xoxe-1-r"}
    tenant = session.get(Tenant, done.tenant_id)
    assert tenant.slackTeamId == team and row.tenantId == tenant.id and not done.reinstalled
    assert role(session, tenant.id, "U0INSTALLER") == Role.ADMIN
    found = installations.find_installation(session, cipher=cipher, enterprise_id=None, team_id=team, is_enterprise_install=False)
    assert found.bot_token == "xoxb-secret-123" and found.tenant_id == tenant.id


def test_an_existing_tenant_is_reactivated_by_an_install_and_keeps_its_people_and_data(session, cipher):
    team, _ = ids()
    tenant = ensure_tenant(session, slack_team_id=team, name="Acme")
    world = World(session, cipher, existing_tenant=tenant)
    installations.record_installation(session, cipher=cipher, bot=bot(team, user="U0FIRST"))
    installations.deactivate(session, enterprise_id=None, team_id=team, is_enterprise_install=False, reason="app_uninstalled")
    assert installations.tenant_installation(session, cipher=cipher, tenant_id=tenant.id) is None
    row = session.scalar(select(SlackInstallation).where(SlackInstallation.teamId == team))
    assert row.credentials is None and not row.isActive and row.deactivatedReason == "app_uninstalled"

    again = installations.record_installation(session, cipher=cipher, bot=bot(team, user="U0SECOND", token="xoxb-2"))
    assert again.reinstalled and again.tenant_id == tenant.id
    assert session.scalar(select(SlackInstallation.id).where(SlackInstallation.teamId == team)) == row.id  # one row
    assert role(session, tenant.id, "U0SECOND") == Role.ADMIN and role(session, tenant.id, "U0FIRST") == Role.ADMIN
    assert role(session, tenant.id, world.member.slackUserId) == Role.MEMBER  # nobody else's role changes
    assert installations.tenant_installation(session, cipher=cipher, tenant_id=tenant.id).bot_token == "xoxb-2"


def test_a_rotated_token_replaces_the_stored_one_without_touching_people(session, cipher):
    team, _ = ids()
    done = installations.record_installation(session, cipher=cipher, bot=bot(team, user="U0FIRST"))
    session.execute(update(Account).where(Account.tenantId == done.tenant_id).values(role=Role.MEMBER))
    installations.save_tokens(session, cipher=cipher, bot=bot(team, user="U0FIRST", token="xoxb-rotated",
                                                              bot_refresh_token="xoxe-1-new"))
    assert role(session, done.tenant_id, "U0FIRST") == Role.MEMBER  # rotation is not an install
    found = installations.tenant_installation(session, cipher=cipher, tenant_id=done.tenant_id)
    assert (found.bot_token, found.bot_refresh_token) == ("xoxb-rotated", "xoxe-1-new")


def test_an_org_wide_install_serves_each_workspace_of_the_org_whose_first_admin_is_the_installer(session, cipher):
    team, org = ids()
    done = installations.record_installation(session, cipher=cipher, bot=bot(None, org=org, user="W0ORG", token="xoxb-org"))
    assert done.tenant_id is None and done.is_enterprise_install
    assert session.scalar(select(Tenant).where(Tenant.slackEnterpriseId == org)) is None

    tenant = ensure_tenant(session, slack_team_id=team, name="East", slack_enterprise_id=org)
    installations.adopt_org_workspace(session, tenant_id=tenant.id, slack_enterprise_id=org)
    assert role(session, tenant.id, "W0ORG") == Role.ADMIN
    assert installations.tenant_installation(session, cipher=cipher, tenant_id=tenant.id).bot_token == "xoxb-org"
    found = installations.find_installation(session, cipher=cipher, enterprise_id=org, team_id=team, is_enterprise_install=True)
    assert found.bot_token == "xoxb-org" and found.is_enterprise_install

    other = ensure_tenant(session, slack_team_id=ids()[0], name="Elsewhere", slack_enterprise_id=ids()[1])
    installations.adopt_org_workspace(session, tenant_id=other.id, slack_enterprise_id=other.slackEnterpriseId)
    assert session.scalar(select(Account).where(Account.tenantId == other.id)) is None  # another org: nobody adopted


def test_a_slack_channel_is_verified_with_the_tenants_own_token_only_in_oauth_mode(session, cipher):
    team, _ = ids()
    done = installations.record_installation(session, cipher=cipher, bot=bot(team, token="xoxb-tenant"))
    oauth = installations.slack_context(session, tenant_id=done.tenant_id, cipher=cipher, ctx=ProviderContext())
    single = installations.slack_context(session, tenant_id=done.tenant_id, cipher=cipher,
                                         ctx=ProviderContext(slack_bot_token="xoxb-configured"))
    assert oauth.slack_bot_token == "xoxb-tenant" and single.slack_bot_token == "xoxb-configured"


def test_cards_held_while_uninstalled_are_owed_again_by_a_reinstall(session, cipher):
    team, _ = ids()
    done = installations.record_installation(session, cipher=cipher, bot=bot(team))
    world = World(session, cipher, existing_tenant=session.get(Tenant, done.tenant_id))
    release = create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())
    card = cards.owe_card(session, tenant_id=world.tenant.id, release_id=release.id, channel_id="C0RELEASES")
    installations.deactivate(session, enterprise_id=None, team_id=team, is_enterprise_install=False, reason="app_uninstalled")
    cards.card_held(session, card, error="releasebot is not installed in this workspace any more")
    assert card.nextAttemptAt is None
    installations.record_installation(session, cipher=cipher, bot=bot(team))
    session.refresh(card)
    assert card.nextAttemptAt is not None


def test_an_oauth_state_is_good_once_and_only_until_it_expires(session):
    state, old = uuid.uuid4().hex, uuid.uuid4().hex
    installations.issue_state(session, state=state, lifetime=timedelta(minutes=10))
    installations.issue_state(session, state=old, lifetime=timedelta(minutes=10))
    session.execute(update(SlackOAuthState).where(SlackOAuthState.state == old)
                    .values(expiresAt=datetime(2020, 1, 1)))
    assert installations.consume_state(session, state=state)
    assert not installations.consume_state(session, state=state)
    assert not installations.consume_state(session, state=old)
    assert not installations.consume_state(session, state="never-issued")
