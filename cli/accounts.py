"""`releasebot account`: the people of a workspace and their roles."""
from __future__ import annotations

import click

from cli.options import JSON, TENANT, pass_runtime, ready
from cli.output import emit, table
from core.enums import Role
from core.runtime import Runtime
from core.services import tenants


@click.group()
def account() -> None:
    """People of a workspace and their roles."""


@account.command("add")
@TENANT
@click.option("--slack-user", required=True, help="Slack user id, e.g. U0123ABCD.")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "member"]), default="member", show_default=True)
@JSON
@pass_runtime
def account_add(rt: Runtime, tenant_ref: str, slack_user: str, name: str, role: str, as_json: bool) -> None:
    """Register a person with a role."""
    with ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        a = tenants.add_account(s, tenant_id=t.id, slack_user_id=slack_user, display_name=name, role=Role(role.upper()))
    emit(a, as_json=as_json, lines=f"account {a.id} ({a.displayName}, {a.role.value.lower()})")


@account.command("list")
@TENANT
@JSON
@pass_runtime
def account_list(rt: Runtime, tenant_ref: str, as_json: bool) -> None:
    """List the people of a workspace."""
    with ready(rt).unit_of_work() as s:
        rows = tenants.list_accounts(s, tenant_id=tenants.find_tenant(s, tenant_ref).id)
    emit(rows, as_json=as_json, lines=table([[a.id, a.slackUserId, a.displayName, a.role.value.lower()] for a in rows],
                                            ["ID", "SLACK USER", "NAME", "ROLE"]))
