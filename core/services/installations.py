"""Slack installations (OAuth mode): a workspace's (or an Enterprise Grid org's) bot token, stored
encrypted, looked up per tenant; the OAuth flow's one-time states. Single-workspace mode uses none of it."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crypto import CredentialCipher
from core.enums import Role
from core.integrations.base import ProviderContext
from core.models import Account, Release, ReleaseCard, SlackInstallation, SlackOAuthState, Tenant
from core.services import audit
from core.services.tenants import ensure_account, ensure_tenant

MAX_NAME = 255


@dataclass(frozen=True)
class InstalledBot:
    """An active installation as the Slack side needs it: who, where, and the (decrypted) bot token."""

    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool
    tenant_id: str | None
    app_id: str | None
    name: str | None
    installer_user_id: str | None
    bot_id: str | None
    bot_user_id: str | None
    bot_scopes: str | None
    installed_at: datetime
    bot_token: str = field(repr=False)
    bot_refresh_token: str | None = field(default=None, repr=False)
    bot_token_expires_at: datetime | None = None  # naive UTC; None: the token does not expire


@dataclass(frozen=True)
class Installed:
    """What an install did: the tenant it created or reactivated (None for an org-wide install)."""

    tenant_id: str | None
    installer_user_id: str | None
    reinstalled: bool
    is_enterprise_install: bool


def _key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool) -> tuple[str, str]:
    # An org-wide install is the org's: requests from any of its workspaces find it by the enterprise id.
    return (enterprise_id or "", "" if is_enterprise_install else (team_id or ""))


def _row(session: Session, key: tuple[str, str]) -> SlackInstallation | None:
    return session.scalar(select(SlackInstallation).where(SlackInstallation.enterpriseId == key[0],
                                                          SlackInstallation.teamId == key[1]))


def save_tokens(session: Session, *, cipher: CredentialCipher, bot: InstalledBot) -> SlackInstallation:
    """Store an installation's tokens (created, or updated in place: a re-install, a rotation), active."""
    key = _key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
    row = _row(session, key)
    if row is None:
        row = SlackInstallation(enterpriseId=key[0], teamId=key[1], installedAt=bot.installed_at)
        session.add(row)
    row.isEnterpriseInstall = bot.is_enterprise_install
    row.appId, row.botId, row.botUserId, row.botScopes = bot.app_id, bot.bot_id, bot.bot_user_id, bot.bot_scopes
    row.name = (bot.name or row.name or "")[:MAX_NAME] or None
    row.installerUserId = bot.installer_user_id or row.installerUserId
    secrets = {"bot_token": bot.bot_token, **({"bot_refresh_token": bot.bot_refresh_token} if bot.bot_refresh_token else {})}
    row.credentials = cipher.encrypt(secrets)
    row.botTokenExpiresAt = bot.bot_token_expires_at
    row.isActive, row.deactivatedAt, row.deactivatedReason = True, None, None
    session.flush()
    return row


def record_installation(session: Session, *, cipher: CredentialCipher, bot: InstalledBot) -> Installed:
    """A completed OAuth install: store the tokens, create or reactivate the workspace's tenant (its data
    untouched), and make the installer an admin of it (audited). An org-wide install creates no tenant: each
    workspace of the org becomes one on its first request, with the installer as its first admin."""
    before = _row(session, _key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install))
    reinstalled = before is not None
    row = save_tokens(session, cipher=cipher, bot=bot)
    tenant_id = None
    if not bot.is_enterprise_install and bot.team_id:
        tenant = ensure_tenant(session, slack_team_id=bot.team_id, name=(bot.name or bot.team_id)[:MAX_NAME],
                               slack_enterprise_id=bot.enterprise_id)
        tenant.slackEnterpriseId = bot.enterprise_id or tenant.slackEnterpriseId
        row.tenantId = tenant_id = tenant.id
        if bot.installer_user_id:
            _make_admin(session, tenant_id=tenant.id, slack_user_id=bot.installer_user_id,
                        why="installed the app again" if reinstalled else "installed the app")
        _resume_cards(session, tenant_id=tenant.id)
    else:
        for tenant_id_of_org in session.scalars(select(Tenant.id).where(Tenant.slackEnterpriseId == bot.enterprise_id)):
            _resume_cards(session, tenant_id=tenant_id_of_org)
    session.flush()
    return Installed(tenant_id, bot.installer_user_id, reinstalled, bot.is_enterprise_install)


def _make_admin(session: Session, *, tenant_id: str, slack_user_id: str, why: str) -> Account:
    """The installer is an admin; a grant is audited like any other (by the installer), an admin already is not."""
    account = ensure_account(session, tenant_id=tenant_id, slack_user_id=slack_user_id, display_name=slack_user_id)
    if account.role != Role.ADMIN:
        account.role = Role.ADMIN
        audit.record(session, tenant_id=tenant_id, actor=account, subject_kind=audit.ADMIN_SUBJECT, subject_id=account.id,
                     subject_name=account.displayName, action="admin granted", detail=why)
    return account


def _resume_cards(session: Session, *, tenant_id: str) -> None:
    """Cards held back while the workspace was uninstalled are owed again (a re-install picks up where it left off)."""
    stale = select(ReleaseCard.releaseId).join(Release, Release.id == ReleaseCard.releaseId).where(
        Release.tenantId == tenant_id, ReleaseCard.nextAttemptAt.is_(None),
        (ReleaseCard.messageTs.is_(None)) | (ReleaseCard.revision > ReleaseCard.drawnRevision))
    ids = list(session.scalars(stale))
    if ids:
        session.execute(update(ReleaseCard).where(ReleaseCard.releaseId.in_(ids)).values(nextAttemptAt=utcnow()))


def adopt_org_workspace(session: Session, *, tenant_id: str, slack_enterprise_id: str | None) -> None:
    """A workspace of an org where the app is installed org-wide, seen for the first time: the org's
    installer is its first admin (the first-person rule does not apply)."""
    if not slack_enterprise_id:
        return
    if session.scalar(select(func.count()).select_from(Account).where(Account.tenantId == tenant_id)):
        return
    installer = session.scalar(select(SlackInstallation.installerUserId).where(
        SlackInstallation.enterpriseId == slack_enterprise_id, SlackInstallation.teamId == "",
        SlackInstallation.isActive.is_(True)))
    if installer:
        _make_admin(session, tenant_id=tenant_id, slack_user_id=installer, why="installed the app for the whole organization")


def find_installation(session: Session, *, cipher: CredentialCipher, enterprise_id: str | None, team_id: str | None,
                      is_enterprise_install: bool | None) -> InstalledBot | None:
    """The active installation a request from this workspace (or org) uses, or None."""
    row = _row(session, _key(enterprise_id, team_id, bool(is_enterprise_install)))
    if row is None and not is_enterprise_install and enterprise_id:  # a workspace of an org-wide install
        row = _row(session, _key(enterprise_id, None, True))
    return _installed(row, cipher)


def tenant_installation(session: Session, *, cipher: CredentialCipher, tenant_id: str) -> InstalledBot | None:
    """The active installation serving a tenant: its workspace's own, else its org's org-wide one."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        return None
    return find_installation(session, cipher=cipher, enterprise_id=tenant.slackEnterpriseId, team_id=tenant.slackTeamId,
                             is_enterprise_install=False)


def _installed(row: SlackInstallation | None, cipher: CredentialCipher) -> InstalledBot | None:
    if row is None or not row.isActive or not row.credentials:
        return None
    secrets = cipher.decrypt(row.credentials)
    return InstalledBot(row.enterpriseId or None, row.teamId or None, row.isEnterpriseInstall, row.tenantId, row.appId,
                        row.name, row.installerUserId, row.botId, row.botUserId, row.botScopes, row.installedAt,
                        secrets["bot_token"], secrets.get("bot_refresh_token"), row.botTokenExpiresAt)


def deactivate(session: Session, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool,
               reason: str) -> bool:
    """Forget a workspace's (or org's) tokens after it uninstalled the app or revoked them; the tenant and its
    data stay, and a re-install picks up where it left off. Whether an active installation was deactivated."""
    row = _row(session, _key(enterprise_id, team_id, is_enterprise_install))
    if row is None or not row.isActive:
        return False
    row.isActive, row.credentials, row.botTokenExpiresAt = False, None, None
    row.deactivatedAt, row.deactivatedReason = utcnow(), reason[:64]
    session.flush()
    return True


def issue_state(session: Session, *, state: str, lifetime: timedelta) -> None:
    """Remember a state handed to a browser starting an install (expired ones are swept at the same time)."""
    now = utcnow()
    session.execute(delete(SlackOAuthState).where(SlackOAuthState.expiresAt < now))
    session.add(SlackOAuthState(state=state, expiresAt=now + lifetime))
    session.flush()


def consume_state(session: Session, *, state: str) -> bool:
    """Whether `state` was issued and has not expired; it can be consumed once."""
    done = session.execute(delete(SlackOAuthState).where(SlackOAuthState.state == state,
                                                         SlackOAuthState.expiresAt >= utcnow()))
    return done.rowcount == 1


def slack_context(session: Session, *, tenant_id: str, cipher: CredentialCipher, ctx: ProviderContext) -> ProviderContext:
    """`ctx` with the tenant's own bot token (OAuth mode), so a Slack channel is verified as that workspace's bot
    sees it; unchanged in single-workspace mode (SLACK_BOT_TOKEN) or when the workspace has no installation."""
    if ctx.slack_bot_token:
        return ctx
    bot = tenant_installation(session, cipher=cipher, tenant_id=tenant_id)
    return replace(ctx, slack_bot_token=bot.bot_token) if bot else ctx
