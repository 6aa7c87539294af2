"""Admin commands: db, secrets, tenant, account, integration, release."""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from cli.output import emit, plain, table
from core.crypto import generate_key
from core.enums import IntegrationKind, ReleaseType, Role
from core.integrations.specs import SPECS
from core.runtime import Runtime
from core.services import cards, history, integrations, lifecycle, regression, releases, tenants, verification

JSON = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
TENANT = click.option("--tenant", "tenant_ref", required=True, help="Tenant id or Slack team id.")
pass_runtime = click.make_pass_decorator(Runtime)


def _ready(rt: Runtime) -> Runtime:
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
    rt.migrate()
    emit({"upgraded": True, "url": rt.engine.url.render_as_string(hide_password=True)}, as_json=as_json,
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
    with _ready(rt).unit_of_work() as s:
        count = integrations.reencrypt_all(s, cipher=rt.cipher)
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
    with _ready(rt).unit_of_work() as s:
        t = tenants.add_tenant(s, name=name, slack_team_id=slack_team, slack_enterprise_id=slack_enterprise)
    emit(t, as_json=as_json, lines=f"tenant {t.id} ({t.name}, Slack team {t.slackTeamId})")


@tenant.command("list")
@JSON
@pass_runtime
def tenant_list(rt: Runtime, as_json: bool) -> None:
    """List workspaces."""
    with _ready(rt).unit_of_work() as s:
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
    with _ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        a = tenants.add_account(s, tenant_id=t.id, slack_user_id=slack_user, display_name=name, role=Role(role.upper()))
    emit(a, as_json=as_json, lines=f"account {a.id} ({a.displayName}, {a.role.value.lower()})")


@account.command("list")
@TENANT
@JSON
@pass_runtime
def account_list(rt: Runtime, tenant_ref: str, as_json: bool) -> None:
    """List the people of a workspace."""
    with _ready(rt).unit_of_work() as s:
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
    with _ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        view = integrations.add_integration(
            s, tenant_id=t.id, kind=IntegrationKind(kind), provider=provider, display_name=display_name,
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
    with _ready(rt).unit_of_work() as s:
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
    with _ready(rt).unit_of_work() as s:
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
        with _ready(rt).unit_of_work() as s:
            t = tenants.find_tenant(s, tenant_ref)
            view = integrations.set_active(s, tenant_id=t.id, integration_id=integration_id, active=active)
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
    with _ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        view = integrations.remove_integration(s, tenant_id=t.id, integration_id=integration_id)
    emit(view, as_json=as_json, lines=f"removed {view.kind.value} “{view.displayName}”")


# --- releases ------------------------------------------------------------------------------


def _release_lines(r: releases.ReleaseView) -> list[str]:
    lines = [f"{r.releaseKey} ({r.id})  {r.releaseType.value}  {r.status.value}",
             f"  branch {r.branchRelease} from {r.baseBranch} of {r.repository} ({r.scm.name})",
             f"  created by {r.createdBy.name}" + (f", pilot {r.pilot.name}" if r.pilot else "")]
    lines += [f"  target {t.integration.name}: {t.status.value}" + (f" #{t.buildNumber}" if t.buildNumber else "") for t in r.targets]
    epics = [f"{label} {value}" for label, value in (("iOS", r.iOSEpicId), ("Android", r.androidEpicId), ("web", r.webEpicId)) if value]
    lines += [f"  epics {', '.join(epics)}"] if epics else []
    lines += [f"  pipeline {p.integration.name}: {p.buildStatus.value}" + (f" #{p.buildNumber}" if p.buildNumber else "")
              + (f"\n    problem: {p.problem}" if p.problem else "") + (f"\n    detail: {p.problemDetail}" if p.problemDetail else "")
              for p in r.pipelines]
    return lines


@click.group()
def release() -> None:
    """Releases of a workspace."""


@release.command("create")
@TENANT
@click.option("--by", "actor_ref", required=True, help="Account id or Slack user id of the creator.")
@click.option("--version", "version", required=True)
@click.option("--type", "release_type", type=click.Choice([t.value for t in ReleaseType], case_sensitive=False),
              default="PLANNED", show_default=True)
@click.option("--scm", "scm_id", required=True, help="Source control integration id.")
@click.option("--base-branch", default=None, help="Defaults to the repository's default branch.")
@click.option("--target", "target_ids", multiple=True, required=True, help="Store target id (repeat).")
@click.option("--pipeline", "pipeline_ids", multiple=True, help="Pipeline id (repeat).")
@click.option("--communication", "communication_id", default=None)
@click.option("--tickets", "ticket_id", default=None)
@click.option("--pilot", "pilot_ref", default=None, help="Account id or Slack user id.")
@click.option("--planned-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--target-date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--description", default=None)
@JSON
@pass_runtime
def release_create(rt: Runtime, tenant_ref, actor_ref, version, release_type, scm_id, base_branch, target_ids,
                   pipeline_ids, communication_id, ticket_id, pilot_ref, planned_date: datetime | None,
                   target_date: datetime | None, description, as_json: bool) -> None:
    """Create a release: every reference is checked to be this workspace's, active and verified."""
    with _ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        actor = tenants.find_account(s, tenant_id=t.id, ref=actor_ref)
        pilot = tenants.find_account(s, tenant_id=t.id, ref=pilot_ref).id if pilot_ref else None
        view = releases.create_release(s, tenant_id=t.id, actor_account_id=actor.id, draft=releases.ReleaseDraft(
            version=version, release_type=release_type.upper(), scm_integration_id=scm_id, base_branch=base_branch,
            target_ids=target_ids, pipeline_ids=pipeline_ids, communication_integration_id=communication_id,
            ticket_integration_id=ticket_id, release_pilot_id=pilot, planned_date=planned_date,
            target_release_date=target_date, description=description))
        channel = cards.card_channel(view, None)
        if channel:  # the runner of `releasebot serve` (or a worker) posts it in the linked channel
            cards.owe_card(s, tenant_id=t.id, release_id=view.id, channel_id=channel, requested_by=actor.id)
    _show(view, as_json)


@release.command("list")
@TENANT
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@JSON
@pass_runtime
def release_list(rt: Runtime, tenant_ref: str, limit: int, as_json: bool) -> None:
    """The latest releases, newest first."""
    with _ready(rt).unit_of_work() as s:
        rows = releases.list_releases(s, tenant_id=tenants.find_tenant(s, tenant_ref).id, limit=limit)
    emit(rows, as_json=as_json, lines=table(
        [[r.releaseKey, r.version, r.releaseType.value, r.status.value, r.branchRelease, r.id] for r in rows],
        ["KEY", "VERSION", "TYPE", "STATUS", "BRANCH", "ID"]))


@release.command("show")
@click.argument("release_ref")
@TENANT
@JSON
@pass_runtime
def release_show(rt: Runtime, release_ref: str, tenant_ref: str, as_json: bool) -> None:
    """A release with its repository, targets and pipelines."""
    with _ready(rt).unit_of_work() as s:
        view = releases.find_release(s, tenant_id=tenants.find_tenant(s, tenant_ref).id, ref=release_ref)
    _show(view, as_json)


# --- the lifecycle: the same core calls as the card's buttons, the actor given by --by ---------------------

BY = click.option("--by", "actor_ref", required=True, help="Slack user id or account id of the person acting.")


def _release_json(view: releases.ReleaseView) -> dict:
    """`release show --json`: the view, each target's `targetStatus` and each pipeline's `lastBuild` named as the contract says."""
    data = plain(view)
    for target in data["targets"]:
        target["targetStatus"] = target["status"]
    for pipeline, p in zip(data["pipelines"], view.pipelines, strict=True):
        pipeline["lastBuild"] = None if not p.triggered else {
            "status": p.buildStatus.value, "number": p.buildNumber, "url": p.buildUrl,
            "triggeredAt": plain(p.triggeredAt), "triggeredBy": p.triggeredBy}
    return data


def _show(view: releases.ReleaseView, as_json: bool) -> None:
    emit(_release_json(view) if as_json else view, as_json=as_json, lines=_release_lines(view))


def _change(rt: Runtime, tenant_ref: str, release_ref: str, actor_ref: str, act) -> releases.ReleaseView:
    """Run one lifecycle call as `--by` in its own transaction; the release as committed (its card owes a redraw)."""
    with _ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        actor = tenants.find_account(s, tenant_id=t.id, ref=actor_ref)
        found = releases.find_release(s, tenant_id=t.id, ref=release_ref)
        act(s, found, dict(tenant_id=t.id, release_id=found.id, actor_account_id=actor.id))
    with rt.reading() as s:  # a fresh read: the change was made with conditional updates
        return releases.get_release(s, tenant_id=t.id, release_id=found.id)


def _lifecycle(name: str, doc: str, call, *options):
    """A `release <name> <version> --tenant T --by U` command running `call(session, release, ids, **options)`."""
    def command(rt: Runtime, release_ref: str, tenant_ref: str, actor_ref: str, as_json: bool, **extra) -> None:
        _show(_change(rt, tenant_ref, release_ref, actor_ref, lambda s, found, ids: call(s, found, ids, **extra)), as_json)

    command.__doc__ = doc
    for decorator in reversed((release.command(name), click.argument("release_ref"), TENANT, BY, *options, JSON, pass_runtime)):
        command = decorator(command)
    return command


def _target_id(found: releases.ReleaseView, ref: str) -> str:
    """A target of the release by its release-target id, its integration id or its name ("App Store")."""
    for t in found.targets:
        if ref in (t.id, t.integration.id) or ref.casefold() == t.integration.name.casefold():
            return t.id
    names = ", ".join(f"“{t.integration.name}”" for t in found.targets) or "none"
    raise click.BadParameter(f"{ref!r} is no target of {found.releaseKey}: use one of {names}", param_hint="--target")


REASON = click.option("--reason", required=True, help="Why (recorded in the history and told in the card's thread).")
_lifecycle("kickoff", "KICKOFF_PENDING → PENDING: kick the release off (its branch is cut by the runner).",
           lambda s, found, ids: lifecycle.kickoff(s, **ids))
_lifecycle("start-regression", "STARTED → REGRESSION_IN_PROGRESS once every target has a successful build.",
           lambda s, found, ids: regression.start_regression(s, **ids))
_lifecycle("regression-passed", "Close the regression cycle as passed: the targets can be submitted.",
           lambda s, found, ids: regression.regression_passed(s, **ids))
_lifecycle("regression-failed", "Close the regression cycle as failed: back to builds, next cycle.",
           lambda s, found, ids, reason: regression.regression_failed(s, **ids, reason=reason),
           click.option("--reason", default=None, help="What failed."))
_lifecycle("target-status", "Mark a target SUBMITTED, APPROVED or RELEASED (by hand until store automation).",
           lambda s, found, ids, target_ref, status: regression.set_target_status(
               s, **ids, target_id=_target_id(found, target_ref), status=status.upper()),
           click.option("--target", "target_ref", required=True, help="Target name (e.g. \"App Store\") or id."),
           click.option("--status", required=True, type=click.Choice(["SUBMITTED", "APPROVED", "RELEASED"], case_sensitive=False)))
_lifecycle("delay", "Mark the release delayed, with the reason and a new target date.",
           lambda s, found, ids, reason, target_date: lifecycle.mark_delayed(s, **ids, reason=reason, target_date=target_date),
           REASON, click.option("--target-date", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The new target date."))
_lifecycle("archive", "RELEASED → ARCHIVED (admins and the pilot).", lambda s, found, ids: lifecycle.archive(s, **ids))


@release.command("cancel")
@click.argument("release_ref")
@TENANT
@click.option("--by", "actor_ref", default=None, help="Slack user id or account id of the person cancelling.")
@click.option("--reason", default=None, help="Why (recorded in the history and told in the card's thread).")
@JSON
@pass_runtime
def release_cancel(rt: Runtime, release_ref: str, tenant_ref: str, actor_ref: str | None, reason: str | None, as_json: bool) -> None:
    """Cancel a release (stops its running builds); its version becomes free for a new one."""
    if not actor_ref or reason is None:  # before the lifecycle, cancel needed neither: say what changed
        raise click.UsageError("release cancel needs --by <slack user> and --reason <why>: a cancel is recorded with who and "
                               "why, like the card's")
    _show(_change(rt, tenant_ref, release_ref, actor_ref,
                  lambda s, found, ids: lifecycle.cancel(s, **ids, reason=reason)), as_json)


@release.command("history")
@click.argument("release_ref")
@TENANT
@JSON
@pass_runtime
def release_history(rt: Runtime, release_ref: str, tenant_ref: str, as_json: bool) -> None:
    """Every change of a release, oldest first: who, when, what, from and to."""
    with _ready(rt).reading() as s:
        t = tenants.find_tenant(s, tenant_ref)
        rows = history.list_events(s, t.id, releases.find_release(s, tenant_id=t.id, ref=release_ref).id)
    emit([e.as_json() for e in rows], as_json=as_json, lines=table(
        [[f"{e.at:%Y-%m-%d %H:%M:%S} UTC", e.actor or "releasebot", e.action, e.from_value, e.to_value,
          " ".join((e.detail or "").split())] for e in rows],  # a reason's line breaks would break the table
        ["AT", "ACTOR", "ACTION", "FROM", "TO", "DETAIL"]))


COMMANDS = (db, secrets, tenant, account, integration, release)
