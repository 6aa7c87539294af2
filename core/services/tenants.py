"""Tenants (Slack workspaces) and their accounts (Slack users), and role checks."""
from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.enums import Role
from core.errors import ConflictError, NotFoundError, PermissionDeniedError, Problem
from core.models import Account, Tenant


def add_tenant(session: Session, *, name: str, slack_team_id: str, slack_enterprise_id: str | None = None) -> Tenant:
    """Register a workspace; refused when the team id is already registered."""
    existing = session.scalar(select(Tenant).where(Tenant.slackTeamId == slack_team_id))
    if existing is not None:
        raise ConflictError([Problem("slackTeamId", f"workspace {slack_team_id} is already registered as tenant {existing.id}")])
    tenant = Tenant(name=name, slackTeamId=slack_team_id, slackEnterpriseId=slack_enterprise_id)
    session.add(tenant)
    session.flush()
    return tenant


def ensure_tenant(session: Session, *, slack_team_id: str, name: str, slack_enterprise_id: str | None = None) -> Tenant:
    """The tenant of a workspace, created on its first request (run it under `retrying`: when two
    first requests race, one fails on the unique key and its retry finds the other's row)."""
    tenant = session.scalar(select(Tenant).where(Tenant.slackTeamId == slack_team_id))
    if tenant is not None:
        return tenant
    tenant = Tenant(name=name, slackTeamId=slack_team_id, slackEnterpriseId=slack_enterprise_id)
    session.add(tenant)
    session.flush()  # a racing twin fails here on the unique key; the caller retries and finds it
    return tenant


def ensure_account(session: Session, *, tenant_id: str, slack_user_id: str, display_name: str) -> Account:
    """The account of a Slack user, created on first sight; a workspace's first account is its admin."""
    account = session.scalar(
        select(Account).where(Account.tenantId == tenant_id, Account.slackUserId == slack_user_id)
    )
    if account is not None:
        return account
    has_accounts = session.scalar(select(func.count()).select_from(Account).where(Account.tenantId == tenant_id))
    role = Role.MEMBER if has_accounts else Role.ADMIN
    account = Account(tenantId=tenant_id, slackUserId=slack_user_id, displayName=display_name, role=role)
    session.add(account)
    session.flush()  # a racing twin fails here on the unique key; the caller retries and finds it
    return account


def find_member(session: Session, *, slack_team_id: str, slack_user_id: str | None) -> tuple[str, str, Role] | None:
    """(tenant id, account id, role) of a known Slack user of a known workspace, in one query."""
    if slack_user_id is None:
        return None
    row = session.execute(select(Tenant.id, Account.id, Account.role).join(Account, Account.tenantId == Tenant.id)
                          .where(Tenant.slackTeamId == slack_team_id, Account.slackUserId == slack_user_id)).first()
    return tuple(row) if row else None


def add_account(session: Session, *, tenant_id: str, slack_user_id: str, display_name: str, role: Role) -> Account:
    """Register a user of a tenant with a role; refused when the user is already registered."""
    if session.scalar(select(Account.id).where(Account.tenantId == tenant_id, Account.slackUserId == slack_user_id)):
        raise ConflictError([Problem("slackUserId", f"user {slack_user_id} is already registered in this workspace")])
    account = Account(tenantId=tenant_id, slackUserId=slack_user_id, displayName=display_name, role=role)
    session.add(account)
    session.flush()
    return account


def find_tenant(session: Session, ref: str) -> Tenant:
    """A tenant by its id or its Slack team id."""
    tenant = session.scalar(select(Tenant).where(or_(Tenant.id == ref, Tenant.slackTeamId == ref)))
    if tenant is None:
        raise NotFoundError(f"no tenant {ref!r}: list them with `releasebot tenant list`")
    return tenant


def find_account(session: Session, *, tenant_id: str, ref: str) -> Account:
    """An account of the tenant by its id or its Slack user id."""
    account = session.scalar(
        select(Account).where(Account.tenantId == tenant_id, or_(Account.id == ref, Account.slackUserId == ref))
    )
    if account is None:
        raise NotFoundError(f"no account {ref!r} in this workspace: list them with `releasebot account list`")
    return account


def list_tenants(session: Session) -> list[Tenant]:
    """Every tenant, oldest first."""
    return list(session.scalars(select(Tenant).order_by(Tenant.createdAt, Tenant.id)))


def list_accounts(session: Session, *, tenant_id: str) -> list[Account]:
    """The tenant's accounts, by name."""
    return list(session.scalars(select(Account).where(Account.tenantId == tenant_id).order_by(Account.displayName)))


def require_role(account: Account, role: Role) -> None:
    """Refuse unless the account has `role` (admins can do everything members can)."""
    if role == Role.ADMIN and account.role != Role.ADMIN:
        raise PermissionDeniedError("only a workspace admin of releasebot can do this: ask an admin")
