"""Cross-cutting: every request is scoped to its workspace's tenant and its user's account."""
from __future__ import annotations

from collections.abc import Callable

from slack_bolt import BoltContext

from core import logs
from core.enums import Role
from core.runtime import Runtime
from core.services.installations import adopt_org_workspace
from core.services.tenants import ensure_account, ensure_tenant, find_member, learn_name

MAX_NAME = 255  # the name columns' width: a longer name from a payload is cut, never a failed insert


def _team_name(body: dict) -> str | None:
    name = body.get("team_domain") or (body.get("team") or {}).get("domain")
    return name[:MAX_NAME] if name else None


def _user_name(body: dict) -> str | None:
    user = body.get("user") or {}
    name = body.get("user_name") or user.get("name") or user.get("username")
    return name[:MAX_NAME] if name else None


def tenant_scope(runtime: Runtime) -> Callable:
    """Bolt middleware: put tenant_id, account_id and account_role in the context.

    The tenant comes from the signed payload's team, never from ids inside button values."""

    def middleware(context: BoltContext, body: dict, next: Callable) -> None:
        team_id = context.team_id or (body.get("team") or {}).get("id")
        if team_id is None:
            return next()
        named = frozenset(runtime.settings.admins)
        with runtime.lookup() as conn:  # the common case: both known, no write needed (read on every request)
            known = find_member(conn, slack_team_id=team_id, slack_user_id=context.user_id)
        # A person the operator names in RELEASEBOT_ADMINS who is still a member goes through ensure_account (promoted).
        if known is not None and (known.role == Role.ADMIN or context.user_id not in named):
            context["tenant_id"], context["account_id"], context["account_role"] = known.tenant_id, known.account_id, known.role
            logs.add_ids(tenant=known.tenant_id, account=known.account_id)
            name = _user_name(body) if known.name_unknown else None
            if name:  # made before its name was known (the app's installer, a pilot Slack would not name): learnt once
                runtime.retrying(lambda s: learn_name(s, account_id=known.account_id, slack_user_id=context.user_id, name=name))
            return next()

        def resolve(session):
            tenant = ensure_tenant(session, slack_team_id=team_id, name=_team_name(body) or team_id,
                                   slack_enterprise_id=context.enterprise_id)
            if context.is_enterprise_install:  # an org-wide install's installer is each workspace's first admin
                adopt_org_workspace(session, tenant_id=tenant.id, slack_enterprise_id=context.enterprise_id)
            account = ensure_account(session, tenant_id=tenant.id, slack_user_id=context.user_id,
                                     display_name=_user_name(body) or context.user_id, named_admins=named,
                                     arriving=True) if context.user_id else None
            return tenant.id, account

        # Two first requests of a workspace or person may race: the loser sees the winner's rows.
        context["tenant_id"], account = runtime.retrying(resolve)
        if account is not None:
            context["account_id"], context["account_role"] = account.id, account.role
        logs.add_ids(tenant=context["tenant_id"], account=context.get("account_id"))
        return next()

    return middleware
