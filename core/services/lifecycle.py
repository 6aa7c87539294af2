"""Lifecycle services: kick off, cancel, archive, delay, edit dates, change the pilot.

Each takes the session, the tenant, the release, the actor (None: the bot itself) and what the action
needs, keyword-only; none commits. Role, table and guard are checked in the transaction of the change,
and the change is a conditional update on the status read (core.services.transitions). Regression and
target changes live in core.services.regression.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import TERMINAL_BUILD_STATES, ReleaseStatus
from core.errors import Problem, ValidationError
from core.lifecycle import Action, TransitionRefusedError, allowed_actions, next_status
from core.models import Account, PipelineBuild, Release, ReleasePipeline
from core.services import tasks  # a module import: tasks needs this module too (see core.services.tasks)
from core.services.builds import stop_build
from core.services.regression import PASSED, current_cycle
from core.services.transitions import Outcome, begin, finish, load, move

REASON_LIMIT = 2000


def _step(session: Session, action: Action, *, tenant_id: str, release_id: str, actor_account_id: str | None,
          request_key: str | None, detail: str | None = None, **values) -> Outcome:
    """A plain step of the table: authorize, move, record."""
    ctx = begin(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id, action=action,
                request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    to = next_status(ctx.status, action)
    move(session, ctx, to, **values)
    return finish(session, ctx, action, to=to, detail=detail, request_key=request_key)


def kickoff(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str | None,
            request_key: str | None = None) -> Outcome:
    """KICKOFF_PENDING → PENDING: the kickoff tasks (the release branch) are owed, the runner's to do."""
    outcome = _step(session, Action.KICKOFF, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                    request_key=request_key)
    if outcome.changed:
        tasks.owe_kickoff_tasks(session, tenant_id=tenant_id, release_id=release_id)
    return outcome


def finish_kickoff(session: Session, *, tenant_id: str, release_id: str) -> Outcome:
    """PENDING → STARTED, by the runner once the kickoff tasks are done."""
    return _step(session, Action.KICKOFF_DONE, tenant_id=tenant_id, release_id=release_id, actor_account_id=None,
                 request_key=None)


def archive(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str,
            request_key: str | None = None) -> Outcome:
    """RELEASED → ARCHIVED (admins and the pilot); the version is free again."""
    return _step(session, Action.ARCHIVE, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                 request_key=request_key)


def cancel(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str, reason: str,
           request_key: str | None = None) -> Outcome:
    """Any status before RELEASED → CANCELLED, with a reason; running builds are stopped (the runner stops them on the CI)."""
    reason = _reason(reason, "reason", "say why the release is cancelled")
    outcome = _step(session, Action.CANCEL, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                    request_key=request_key, detail=reason)
    if outcome.changed:
        _stop_builds(session, release_id=release_id, actor_account_id=actor_account_id)
    return outcome


def _stop_builds(session: Session, *, release_id: str, actor_account_id: str) -> None:
    # Two queries whatever the number of pipelines: only a pipeline's latest attempt can still be live. The builds are
    # read locked, as committed: on MySQL a plain read gives this transaction's first snapshot, without a build a
    # Trigger click committed before the move above took the release's lock. Only the builds are locked (MariaDB
    # would lock a join's pipelines too), before their pipelines as the runner's record takes them.
    pipelines = session.scalars(select(ReleasePipeline.id).where(ReleasePipeline.releaseId == release_id)).all()
    live = session.scalars(select(PipelineBuild)
                           .where(PipelineBuild.releasePipelineId.in_(pipelines), PipelineBuild.state.not_in(TERMINAL_BUILD_STATES))
                           .order_by(PipelineBuild.id).with_for_update().execution_options(populate_existing=True)).all()
    for build in live:
        stop_build(session, build, actor_account_id=actor_account_id, release_id=release_id)


def mark_delayed(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str | None, reason: str | None,
                 target_date: date | datetime | None = None, request_key: str | None = None) -> Outcome:
    """Mark the release delayed, with the reason and a new target date; the bot (actor None) marks an
    overdue release without a reason and asks the pilot for one."""
    if actor_account_id is not None or reason is not None:
        reason = _reason(reason, "reason", "say why the release is late")
    ctx = begin(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                action=Action.MARK_DELAYED, request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    release = _dates_of(session, release_id)
    new_target = _day(target_date) or release.targetReleaseDate
    _check_order(release.plannedDate, new_target)
    before = _dates(release.plannedDate, release.targetReleaseDate)
    # The bot marking an overdue release keeps a reason a person already gave.
    move(session, ctx, ctx.status, isDelayed=True, delayedReason=reason or release.delayedReason, targetReleaseDate=new_target)
    return finish(session, ctx, Action.MARK_DELAYED, to=ctx.status, from_value=before,
                  to_value=_dates(release.plannedDate, new_target), detail=reason or "the target date has passed",
                  request_key=request_key)


def edit_dates(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str,
               planned_date: date | datetime | None = None, target_date: date | datetime | None = None,
               request_key: str | None = None) -> Outcome:
    """Change the planned date (before kickoff only) and/or the target release date."""
    if planned_date is None and target_date is None:
        raise ValidationError([Problem("targetReleaseDate", "give a new planned date or target date")])
    ctx = begin(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                action=Action.EDIT_DATES, request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    if planned_date is not None and ctx.status != ReleaseStatus.KICKOFF_PENDING:
        raise TransitionRefusedError(f"{ctx.release_key} is already kicked off: its planned date is history; change its target date")
    release = _dates_of(session, release_id)
    planned, target = _day(planned_date) or release.plannedDate, _day(target_date) or release.targetReleaseDate
    _check_order(planned, target)
    before = _dates(release.plannedDate, release.targetReleaseDate)
    move(session, ctx, ctx.status, plannedDate=planned, targetReleaseDate=target)
    return finish(session, ctx, Action.EDIT_DATES, to=ctx.status, from_value=before, to_value=_dates(planned, target),
                  request_key=request_key)


def change_pilot(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str, pilot_account_id: str,
                 request_key: str | None = None) -> Outcome:
    """Hand the release to another pilot, a person of the same workspace."""
    ctx = begin(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                action=Action.CHANGE_PILOT, request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    pilot = session.scalar(select(Account).where(Account.id == pilot_account_id, Account.tenantId == tenant_id))
    if pilot is None:
        raise ValidationError([Problem("releasePilotId", "the release pilot must be a member of this workspace")])
    if pilot.id == ctx.pilot_id:
        raise TransitionRefusedError(f"{pilot.displayName} is already the pilot of {ctx.release_key}")
    move(session, ctx, ctx.status, releasePilotId=pilot.id)
    return finish(session, ctx, Action.CHANGE_PILOT, to=ctx.status, from_value=ctx.pilot or "no pilot",
                  to_value=pilot.displayName, request_key=request_key)


def check_allowed(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str, action: Action) -> None:
    """Refuse now, as the change itself would, an action whose form is about to ask for its details."""
    begin(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id, action=action)


def available_actions(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str) -> list[Action]:
    """What this person may do to the release now (the card's buttons): the role table, the transition
    table, and the regression cycle (its targets are submitted only once it passed)."""
    ctx = load(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id)
    actions = allowed_actions(ctx.status, ctx.actor.kinds)
    if ctx.status == ReleaseStatus.REGRESSION_IN_PROGRESS:
        cycle = current_cycle(session, release_id=release_id)
        passed = cycle is not None and cycle.outcome == PASSED
        hidden = {Action.REGRESSION_PASSED} if passed else {Action.MARK_SUBMITTED, Action.MARK_APPROVED, Action.MARK_RELEASED}
        actions = [a for a in actions if a not in hidden]
    return actions


def _dates_of(session: Session, release_id: str):
    # Columns, not the ORM object: the session may hold one older than the conditional updates.
    return session.execute(select(Release.plannedDate, Release.targetReleaseDate, Release.delayedReason)
                           .where(Release.id == release_id)).one()


def _reason(text: str | None, field: str, hint: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise ValidationError([Problem(field, f"the reason is empty: {hint}")])
    if len(reason) > REASON_LIMIT:
        raise ValidationError([Problem(field, f"the reason is {len(reason)} characters long: keep it under {REASON_LIMIT}")])
    return reason


def _day(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def _check_order(planned: datetime | None, target: datetime | None) -> None:
    if planned and target and target < planned:
        raise ValidationError([Problem("targetReleaseDate", "the target release date is before the planned date: pick a later one")])


def _dates(planned: datetime | None, target: datetime | None) -> str:
    shown = [f"{label} {value:%Y-%m-%d}" for label, value in (("planned", planned), ("target", target)) if value]
    return ", ".join(shown) or "no dates"

