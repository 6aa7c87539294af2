"""`releasebot tenant`: workspaces (tenants)."""
from __future__ import annotations

import click

from cli.options import JSON, pass_runtime, ready
from cli.output import emit, table
from core.runtime import Runtime
from core.services import tenants


@click.group()
def tenant() -> None:
    """Workspaces (tenants). Slack creates them on first use; these commands are for operators."""


@tenant.command("add")
@click.option("--name", required=True)
@click.option("--slack-team", required=True, help="Slack team id, e.g. T0123ABCD.")
@click.option("--slack-enterprise", default=None)
@JSON
@pass_runtime
def tenant_add(rt: Runtime, name: str, slack_team: str, slack_enterprise: str | None, as_json: bool) -> None:
    """Register a workspace."""
    with ready(rt).unit_of_work() as s:
        t = tenants.add_tenant(s, name=name, slack_team_id=slack_team, slack_enterprise_id=slack_enterprise)
    emit(t, as_json=as_json, lines=f"tenant {t.id} ({t.name}, Slack team {t.slackTeamId})")


@tenant.command("list")
@JSON
@pass_runtime
def tenant_list(rt: Runtime, as_json: bool) -> None:
    """List workspaces."""
    with ready(rt).unit_of_work() as s:
        rows = tenants.list_tenants(s)
    emit(rows, as_json=as_json, lines=table([[t.id, t.slackTeamId, t.name] for t in rows], ["ID", "SLACK TEAM", "NAME"]))
