"""Release commands: create, list, show, history, and the lifecycle's steps (the same core calls as the card)."""
from __future__ import annotations

import uuid
from datetime import datetime

import click

from cli.options import JSON, TENANT, pass_runtime, ready
from cli.output import emit, plain, table
from core.enums import ReleaseType
from core.integrations.stores import StoreAction
from core.runtime import Runtime
from core.services import cards, history, lifecycle, regression, release_creation, releases, store_actions, store_views, tenants

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
    with ready(rt).unit_of_work() as s:
        t = tenants.find_tenant(s, tenant_ref)
        actor = tenants.find_account(s, tenant_id=t.id, ref=actor_ref)
        pilot = tenants.find_account(s, tenant_id=t.id, ref=pilot_ref).id if pilot_ref else None
        view = release_creation.create_release(s, tenant_id=t.id, actor_account_id=actor.id, draft=release_creation.ReleaseDraft(
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
    with ready(rt).unit_of_work() as s:
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
    with ready(rt).unit_of_work() as s:
        view = releases.find_release(s, tenant_id=tenants.find_tenant(s, tenant_ref).id, ref=release_ref)
        at_stores = store_views.store_views(s, release_id=view.id)
    _show(view, as_json, at_stores)


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


def _show(view: releases.ReleaseView, as_json: bool, at_stores: dict[str, store_views.StoreView] | None = None) -> None:
    data, lines = _release_json(view), _release_lines(view)
    for target, t in zip(data["targets"], view.targets, strict=True):
        store = (at_stores or {}).get(t.id)
        if store is not None:  # what the store last said, an action owed, a problem (release show)
            target["store"] = {"phase": store.phase.value, "line": store.line, "rolloutPercent": store.rollout_percent,
                               "phasedDay": store.phased_day, "paused": store.paused, "reason": store.reason,
                               "owed": store.owed.value if store.owed else None, "problem": store.problem}
            said = [store.line, store.reason, f"{store.owed.value} asked, waiting for the store" if store.owed else None,
                    f"problem: {store.problem}" if store.problem else None]
            if any(said):
                lines.append(f"  store {t.integration.name}: " + "; ".join(x for x in said if x))
    emit(data if as_json else view, as_json=as_json, lines=lines)


def _change(rt: Runtime, tenant_ref: str, release_ref: str, actor_ref: str, act) -> releases.ReleaseView:
    """Run one lifecycle call as `--by` in its own transaction; the release as committed (its card owes a redraw)."""
    with ready(rt).unit_of_work() as s:
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


def _param(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE (e.g. whatsNew=\"Faster login\")", param_hint="--param")
        pairs[key.strip()] = text
    return pairs


_lifecycle("store", "Ask a target's store for an action, as the card's store buttons do (the runner does it at the store).",
           lambda s, found, ids, target_ref, action, params: store_actions.request_action(
               s, **ids, target_id=_target_id(found, target_ref), action=action, params=params, request_key=f"cli:{uuid.uuid4()}"),
           click.option("--target", "target_ref", required=True, help="Target name (e.g. \"App Store\") or id."),
           click.option("--action", required=True, type=click.Choice([a.value for a in StoreAction])),
           click.option("--param", "params", multiple=True, callback=_param, metavar="KEY=VALUE",
                        help="A value the store's form takes: whatsNew (App Store); releaseNotes, userFraction (percent), "
                             "inAppUpdatePriority (Play)."))


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
    with ready(rt).reading() as s:
        t = tenants.find_tenant(s, tenant_ref)
        rows = history.list_events(s, t.id, releases.find_release(s, tenant_id=t.id, ref=release_ref).id)
    emit([e.as_json() for e in rows], as_json=as_json, lines=table(
        [[f"{e.at:%Y-%m-%d %H:%M:%S} UTC", e.actor or "releasebot", e.action, e.from_value, e.to_value,
          " ".join((e.detail or "").split())] for e in rows],  # a reason's line breaks would break the table
        ["AT", "ACTOR", "ACTION", "FROM", "TO", "DETAIL"]))
