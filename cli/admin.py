"""Admin commands: db, secrets, tenant, account, integration."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.output import emit, table
from core.crypto import generate_key
from core.enums import IntegrationKind, Role
from core.integrations.specs import SPECS
from core.runtime import Runtime
from core.services import audit, integration_changes, integration_writes, integrations, tenants, verification

JSON = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
TENANT = click.option("--tenant", "tenant_ref", required=True, help="Tenant id or Slack team id.")
pass_runtime = click.make_pass_decorator(Runtime)


def ready(rt: Runtime) -> Runtime:
    """The runtime, once its database schema is at the code's head."""
    rt.require_current_schema()
    return rt


# --- db, secrets ---------------------------------------------------------------------------


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@JSON
@pass_runtime
def db_upgrade(rt: Runtime, as_json: bool) -> None:
    """Apply every pending migration."""
    before, after = rt.migrate()
    emit({"upgraded": True, "from": before, "to": after, "url": rt.engine.url.render_as_string(hide_password=True)}, as_json=as_json,
         lines=f"schema up to date at {rt.engine.url.render_as_string(hide_password=True)}")


@click.group()
def secrets() -> None:
    """Keys that encrypt stored credentials."""


@secrets.command("generate-key")
@JSON
def secrets_generate_key(as_json: bool) -> None:
    """Print a new key for RELEASEBOT_SECRET_KEYS (put it first to rotate)."""
    key = generate_key()
    emit({"key": key}, as_json=as_json, lines=key)


@secrets.command("rotate")
@JSON
@pass_runtime
def secrets_rotate(rt: Runtime, as_json: bool) -> None:
    """Re-encrypt every stored credential with the first key of RELEASEBOT_SECRET_KEYS."""
    with ready(rt).unit_of_work() as s:
        count = integration_writes.reencrypt_all(s, cipher=rt.cipher)
    emit({"reencrypted": count}, as_json=as_json,
         lines=f"re-encrypted {count} credentials with the newest key; older keys can now be removed")


# --- tenants and accounts ------------------------------------------------------------------


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


# --- integrations --------------------------------------------------------------------------


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=option)
        out[key] = value
    return out


def _read_file(path: str, option: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except FileNotFoundError:
        raise click.BadParameter(f"no file {path!r}: check the path", param_hint=option) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path!r} ({getattr(exc, 'strerror', None) or exc}): it must be a readable "
                                 "text file", param_hint=option) from None


def _secrets_file(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    try:
        data = json.loads(_read_file(path, "--secrets-file"))
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{path!r} is not JSON (line {exc.lineno}): write an object such as "
                                 '{"token": "…"}', param_hint="--secrets-file") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise click.BadParameter(f'{path!r} must hold a JSON object of strings, such as {{"token": "…"}}',
                                 param_hint="--secrets-file")
    return data


def _secret_values(values: tuple[str, ...], secrets_file: str | None) -> dict[str, str]:
    """Secrets from KEY=@file, KEY=- (stdin) or a JSON file, so they stay out of shell history."""
    out = _secrets_file(secrets_file)
    for key, value in _pairs(values, "--secret").items():
        if value == "-":
            value = sys.stdin.read().rstrip("\n")
        elif value.startswith("@"):
            value = _read_file(value[1:], "--secret").rstrip("\n")
        out[key] = value
    return out


def _providers_help() -> str:
    lines = []
    for spec in SPECS:
        secrets_ = ", ".join([*("|".join("+".join(o) for o in s) if isinstance(s, tuple) else s for s in spec.secrets),
                              *(f"[{s}]" for s in spec.optional_secrets)])
        need = [f"fields: {', '.join(spec.fields)}" if spec.fields else "",
                f"settings: {', '.join(spec.settings)}" if spec.settings else "",
                f"secrets: {secrets_}" if secrets_ else "",
                "--base-url required" if spec.base_url_required else ""]
        lines.append(f"{spec.kind.value} --provider {spec.provider.lower()}: " + "; ".join(n for n in need if n))
    return "\b\n" + "\n".join(lines)


def _status_line(v: integrations.IntegrationView) -> str:
    state = v.verificationStatus.value if v.isActive else f"{v.verificationStatus.value}, disabled"
    reason = f": {v.verificationError}" if v.verificationError else ""
    return f"{v.kind.value} {v.id} “{v.displayName}” ({v.provider.lower()}) {state}{reason}"


@click.group()
def integration() -> None:
    """A workspace's source control, store targets, pipelines, channels and trackers."""


@integration.command("add", epilog=_providers_help())
@click.argument("kind", type=click.Choice([k.value for k in IntegrationKind]))
@TENANT
@click.option("--provider", required=True)
@click.option("--name", "display_name", required=True, help="What people see in Slack's dropdowns.")
@click.option("--base-url", default=None, help="API or server URL (GitHub Enterprise, self-hosted GitLab, Jenkins, Jira).")
@click.option("--field", "fields", multiple=True, metavar="KEY=VALUE")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE")
@click.option("--secret", "secret_values", multiple=True, metavar="KEY=@FILE|KEY=-|KEY=VALUE",
              help="A secret; @FILE reads a file, - reads stdin (keeps it out of shell history).")
@click.option("--secrets-file", default=None, help="JSON object of secrets.")
@click.option("--no-verify", is_flag=True, help="Store it PENDING without contacting the provider now.")
@JSON
@pass_runtime
def integration_add(rt: Runtime, kind: str, tenant_ref: str, provider: str, display_name: str, base_url: str | None,
                    fields, settings, secret_values, secrets_file, no_verify: bool, as_json: bool) -> None:
    """Store an integration (credentials encrypted) and verify it at once."""
    with ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        view = integration_changes.add(
            s, tenant_id=t.id, actor_account_id=None, kind=IntegrationKind(kind), provider=provider, display_name=display_name,
            cipher=rt.cipher, base_url=base_url, fields=_pairs(fields, "--field"),
            settings=_pairs(settings, "--setting"), secrets=_secret_values(secret_values, secrets_file))
    if not no_verify:
        with rt.unit_of_work() as s:
            view = verification.verify_integration(s, tenant_id=t.id, integration_id=view.id, cipher=rt.cipher,
                                                   ctx=rt.provider_context)
    emit(view, as_json=as_json, lines=_status_line(view))
    if view.verificationStatus.value == "INVALID":
        raise click.exceptions.Exit(1)  # stored and printed, but not usable: scripts must see it


@integration.command("list")
@TENANT
@click.option("--kind", type=click.Choice([k.value for k in IntegrationKind]), default=None)
@JSON
@pass_runtime
def integration_list(rt: Runtime, tenant_ref: str, kind: str | None, as_json: bool) -> None:
    """List integrations with their verification status, last check and reason."""
    kinds = [IntegrationKind(kind)] if kind else list(IntegrationKind)
    with ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        rows = [v for k in kinds for v in integrations.list_integrations(s, tenant_id=t.id, kind=k)]
    emit(rows, as_json=as_json, lines=table(
        [[v.id, v.kind.value, v.provider.lower(), v.displayName, "yes" if v.isActive else "no",
          v.verificationStatus.value, v.lastVerifiedAt.isoformat() if v.lastVerifiedAt else "never",
          v.verificationError or ""] for v in rows],
        ["ID", "KIND", "PROVIDER", "NAME", "ACTIVE", "STATUS", "LAST CHECK", "REASON"]))


@integration.command("verify")
@click.argument("integration_id", required=False)
@TENANT
@click.option("--all", "verify_every", is_flag=True, help="Re-check every integration of the workspace.")
@click.option("--concurrency", default=verification.DEFAULT_CONCURRENCY, show_default=True, type=click.IntRange(1, 64))
@JSON
@pass_runtime
def integration_verify(rt: Runtime, integration_id: str | None, tenant_ref: str, verify_every: bool,
                       concurrency: int, as_json: bool) -> None:
    """Re-check one integration, or all of them (--all) with progress, against their providers."""
    if bool(integration_id) == verify_every:
        raise click.UsageError("give an integration id or --all")
    with ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        if integration_id:
            views = [verification.verify_integration(s, tenant_id=t.id, integration_id=integration_id,
                                                     cipher=rt.cipher, ctx=rt.provider_context)]
        else:
            views = verification.verify_all(
                s, tenant_id=t.id, cipher=rt.cipher, ctx=rt.provider_context, concurrency=concurrency,
                progress=None if as_json else lambda v: click.echo(_status_line(v), err=True))
    emit(views if verify_every else views[0], as_json=as_json,
         lines=f"{sum(v.verificationStatus.value == 'VALID' for v in views)} of {len(views)} valid"
         if verify_every else _status_line(views[0]))
    if any(v.verificationStatus.value != "VALID" for v in views):
        raise click.exceptions.Exit(1)  # the outcome is printed; the status says not all are valid


def _toggle(active: bool):
    @click.argument("integration_id")
    @TENANT
    @JSON
    @pass_runtime
    def command(rt: Runtime, integration_id: str, tenant_ref: str, as_json: bool) -> None:
        with ready(rt).unit_of_work() as s:
            t = tenants.find_tenant(s, tenant_ref)
            view = integration_changes.set_active(s, tenant_id=t.id, actor_account_id=None, integration_id=integration_id,
                                                  active=active)
        emit(view, as_json=as_json, lines=_status_line(view))

    command.__doc__ = "Offer this integration again." if active else "Stop offering this integration (keeps its data)."
    return command


integration.command("enable")(_toggle(True))
integration.command("disable")(_toggle(False))


@integration.command("remove")
@click.argument("integration_id")
@TENANT
@JSON
@pass_runtime
def integration_remove(rt: Runtime, integration_id: str, tenant_ref: str, as_json: bool) -> None:
    """Delete an integration (refused while releases or pipelines use it)."""
    with ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        view = integration_changes.remove(s, tenant_id=t.id, actor_account_id=None, integration_id=integration_id)
    hidden = " (hidden: cancelled or archived releases keep naming it)" if view.removedAt else ""
    emit(view, as_json=as_json, lines=f"removed {view.kind.value} “{view.displayName}”{hidden}")


@integration.command("audit")
@TENANT
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@JSON
@pass_runtime
def integration_audit(rt: Runtime, tenant_ref: str, limit: int, as_json: bool) -> None:
    """Who changed which integration or admin, when and what (newest first; never a secret)."""
    with ready(rt).unit_of_work() as s:
        rows = audit.list_audit(s, tenant_id=tenants.find_tenant(s, tenant_ref).id, limit=limit)
    emit(rows, as_json=as_json, lines=table(
        [[e.at.isoformat(timespec="seconds"), e.actor, e.subject_kind, e.subject_name, e.action, e.detail or ""] for e in rows],
        ["AT (UTC)", "WHO", "KIND", "NAME", "ACTION", "DETAIL"]))

