"""Tenants (Slack workspaces) and their accounts (Slack users), and role checks."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from core.enums import ENDED_RELEASE_STATUSES, Role
from core.errors import ConflictError, NotFoundError, PermissionDeniedError, Problem
from core.models import Account, Release, Tenant
from core.services import audit
from core.services.cards import mark_stale
from core.services.home_views import owe_homes


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


def ensure_account(session: Session, *, tenant_id: str, slack_user_id: str, display_name: str,
                   named_admins: frozenset[str] = frozenset(), arriving: bool = False) -> Account:
    """The account of a Slack user, created on first sight. People the operator names (RELEASEBOT_ADMINS)
    are admins, promoted if they were members; anyone else is a member, but for the first person arriving
    (`arriving`: their own request, not named as a pilot) in a workspace that has no admin at all and
    none named by the operator."""
    account = session.scalar(
        select(Account).where(Account.tenantId == tenant_id, Account.slackUserId == slack_user_id)
    )
    if account is not None:
        if slack_user_id in named_admins and account.role != Role.ADMIN:
            account.role = Role.ADMIN
            _granted(session, account, by=None, why=NAMED_BY_OPERATOR)
        return account
    if slack_user_id in named_admins:
        role, why = Role.ADMIN, NAMED_BY_OPERATOR
    else:
        first = arriving and not named_admins and not _admin_count(session, tenant_id)
        role, why = (Role.ADMIN, FIRST_PERSON) if first else (Role.MEMBER, None)
    account = Account(tenantId=tenant_id, slackUserId=slack_user_id, displayName=display_name, role=role)
    session.add(account)
    session.flush()  # a racing twin fails here on the unique key; the caller retries and finds it
    if why:
        _granted(session, account, by=None if why == NAMED_BY_OPERATOR else account, why=why)
    return account


NAMED_BY_OPERATOR = "named in RELEASEBOT_ADMINS"
FIRST_PERSON = "the first person of a workspace without an admin"


def _granted(session: Session, account: Account, *, by: Account | None, why: str) -> None:
    """A grant made by a rule rather than by an admin, audited like theirs (`by` None: the operator's configuration)."""
    audit.record(session, tenant_id=account.tenantId, actor=by, subject_kind=audit.ADMIN_SUBJECT, subject_id=account.id,
                 subject_name=account.displayName, action="admin granted", detail=why)


class Member(NamedTuple):
    """A known Slack user of a known workspace, as every request needs it."""

    tenant_id: str
    account_id: str
    role: Role
    name_unknown: bool  # named by its Slack id: made before its name was known (a pilot picked in a form, the installer)


# Built once: every Slack request runs it before its ack, and building it cost as much CPU as running it
# (run on a bare connection, SQLAlchemy's compiled cache then makes each execution a cache hit).
_MEMBER = (select(Tenant.id, Account.id, Account.role, Account.displayName).join(Account, Account.tenantId == Tenant.id)
           .where(Tenant.slackTeamId == bindparam("team"), Account.slackUserId == bindparam("user")))


def find_member(db: Session | Connection, *, slack_team_id: str, slack_user_id: str | None) -> Member | None:
    """A known Slack user of a known workspace, in one query (in a session, or on a bare connection:
    `Runtime.lookup`)."""
    if slack_user_id is None:
        return None
    row = db.execute(_MEMBER, {"team": slack_team_id, "user": slack_user_id}).first()
    return Member(row[0], row[1], row[2], row[3] == slack_user_id) if row else None


def learn_name(session: Session, *, account_id: str, slack_user_id: str, name: str) -> bool:
    """An account named by its Slack id takes the name a request of theirs carries (never replacing a real one); the
    live releases it pilots or created owe their cards a redraw. Returns whether the name changed."""
    changed = session.execute(update(Account).where(Account.id == account_id, Account.displayName == slack_user_id)
                              .values(displayName=name[:255]).execution_options(synchronize_session=False)).rowcount
    if changed:
        for release_id in session.scalars(select(Release.id).where(
                or_(Release.releasePilotId == account_id, Release.createdByAccountId == account_id),
                Release.status.not_in(ENDED_RELEASE_STATUSES))):
            mark_stale(session, release_id=release_id)
    return bool(changed)


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


def _admin_count(session: Session, tenant_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Account)
                          .where(Account.tenantId == tenant_id, Account.role == Role.ADMIN)) or 0


def list_admins(session: Session, *, tenant_id: str) -> list[Account]:
    """The tenant's admins, by name."""
    return list(session.scalars(select(Account).where(Account.tenantId == tenant_id, Account.role == Role.ADMIN)
                                .order_by(Account.displayName, Account.id)))


def require_admin(session: Session, *, tenant_id: str, actor_account_id: str | None) -> Account | None:
    """The acting admin of this tenant; PermissionDeniedError for anyone else. None acts as the operator
    (the CLI, an installation): callers pass None only where no Slack user is acting."""
    if actor_account_id is None:
        return None
    actor = session.scalar(select(Account).where(Account.id == actor_account_id, Account.tenantId == tenant_id))
    if actor is None or actor.role != Role.ADMIN:
        raise PermissionDeniedError("only a releasebot admin of this workspace can do this: ask one of them "
                                    "(`/release admins` lists them)")
    return actor


def grant_admin(session: Session, *, tenant_id: str, slack_user_id: str, display_name: str,
                actor_account_id: str | None = None) -> Account:
    """Make a Slack user of the tenant an admin (creating the account if needed). `actor_account_id` must be
    an admin's; None is the operator or the installation (the installer becomes the first admin)."""
    actor = require_admin(session, tenant_id=tenant_id, actor_account_id=actor_account_id)
    account = session.scalar(select(Account).where(Account.tenantId == tenant_id, Account.slackUserId == slack_user_id))
    if account is None:
        account = Account(tenantId=tenant_id, slackUserId=slack_user_id, displayName=display_name, role=Role.ADMIN)
        session.add(account)
        session.flush()
    elif account.role == Role.ADMIN:
        return account
    account.role = Role.ADMIN
    session.flush()
    audit.record(session, tenant_id=tenant_id, actor=actor, subject_kind=audit.ADMIN_SUBJECT, subject_id=account.id,
                 subject_name=account.displayName, action="admin granted")
    owe_homes(session, tenant_id=tenant_id)  # the Workspace setup section of their Home
    return account


def revoke_admin(session: Session, *, tenant_id: str, account_id: str, actor_account_id: str | None,
                 named_admins: frozenset[str] = frozenset()) -> Account:
    """Make an admin a member again. Refused for the last admin (a workspace always keeps one) and for the
    people the operator names in RELEASEBOT_ADMINS. The tenant's admin rows are locked first, so two admins
    revoking each other at once cannot leave none."""
    admins = list(session.scalars(select(Account).where(Account.tenantId == tenant_id, Account.role == Role.ADMIN)
                                  .order_by(Account.id).with_for_update()))
    actor = require_admin(session, tenant_id=tenant_id, actor_account_id=actor_account_id)
    target = next((a for a in admins if a.id == account_id), None)
    if target is None:
        raise NotFoundError("that person is not an admin of releasebot in this workspace")
    if target.slackUserId in named_admins:
        raise PermissionDeniedError(f"{target.displayName} is named an admin by the operator (RELEASEBOT_ADMINS): "
                                    "only the operator can change that")
    if len(admins) <= 1:
        raise ConflictError([Problem("admin", "the last admin cannot be removed: make someone else admin first")])
    target.role = Role.MEMBER
    session.flush()
    audit.record(session, tenant_id=tenant_id, actor=actor, subject_kind=audit.ADMIN_SUBJECT, subject_id=target.id,
                 subject_name=target.displayName, action="admin revoked")
    owe_homes(session, tenant_id=tenant_id)  # the Workspace setup section of their Home
    return target


def require_role(account: Account, role: Role) -> None:
    """Refuse unless the account has `role` (admins can do everything members can)."""
    if role == Role.ADMIN and account.role != Role.ADMIN:
        raise PermissionDeniedError("only a workspace admin of releasebot can do this: ask an admin")
