"""Store actions (issue 12): a person asks something of a target's store (submit, release, pause…) and the
runner does it (core.runner.store_actions), recording the store's state after it (core.services.store_following).

Asking only records the intent, checked here in core: the tenant, the person's role (the lifecycle's
kinds of actor), the release's stage, what the store's last state allows, the params. A repeated click
or Slack retry (the same request key) finds the first; a second click while an action of the target is
owed or running is told so and creates nothing. None of these functions commits."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import ENDED_RELEASE_STATUSES, ReleaseStatus, TaskState
from core.errors import NotFoundError, PermissionDeniedError
from core.integrations.registry import store_module, supports_store
from core.integrations.stores import DOING, LABELS, StoreAction, StoreFacts, StoreState
from core.lifecycle import SUBMITTING, TransitionRefusedError, Who
from core.models import Account, Release, ReleaseTarget, StoreRequest, TargetIntegration, TargetStore
from core.services import regression
from core.services.cards import mark_stale
from core.services.history import record_event
from core.services.store_following import allowed_of, apply_state, facts_of, lock_release
from core.services.transitions import load

_MOVERS = frozenset({Who.ADMIN, Who.PILOT, Who.CREATOR})
_ADMIN_OR_PILOT = frozenset({Who.ADMIN, Who.PILOT})
# Submitting and stopping a rollout: whoever may move the release; releasing to more users: admins and the pilot
# (who may mark a target released by hand).
ROLES: dict[StoreAction, frozenset[Who]] = {
    StoreAction.SUBMIT: _MOVERS, StoreAction.RESUBMIT: _MOVERS, StoreAction.PAUSE: _MOVERS, StoreAction.HALT: _MOVERS,
    StoreAction.RELEASE: _ADMIN_OR_PILOT, StoreAction.COMPLETE: _ADMIN_OR_PILOT, StoreAction.INCREASE: _ADMIN_OR_PILOT,
    StoreAction.RESUME: _ADMIN_OR_PILOT,
}
AT_STORE_STATUSES = (*SUBMITTING, ReleaseStatus.RELEASED)  # a phased rollout may go on after the release is RELEASED
EVENT_PREFIX = "store-"  # store-submit, store-pause… (a person's ask); store-state, store-failed (the store's answer)
FAILED_EVENT = "store-failed"


@dataclass(frozen=True)
class StoreJob:
    """A claimed action, ready to run outside the database."""

    id: str
    action: StoreAction
    params: dict[str, Any]
    integration_id: str
    target_name: str
    facts: StoreFacts
    attempts: int
    created_at: datetime
    looked_at: datetime | None = None  # the target's nextCheckAt at the claim: a webhook that moves it meanwhile wakes it


# --- asking ------------------------------------------------------------------------------------


def request_action(session: Session, *, tenant_id: str, release_id: str, target_id: str, actor_account_id: str,
                   action: StoreAction | str, params: dict[str, str | None] | None, request_key: str) -> str:
    """Owe `action` on a target's store for this person; returns the store action's id (the first one's
    for a repeated request)."""
    # The release row first, then the target's: the order every change and the runner take. Before any other read: on
    # MySQL the snapshot is taken at the first plain read, and one taken before the lock missed a cancel committed
    # while this click waited, so an action was owed of a cancelled release.
    status = lock_release(session, release_id)
    repeated = session.scalar(select(StoreRequest.id).where(StoreRequest.tenantId == tenant_id,
                                                            StoreRequest.requestKey == request_key))
    if repeated:
        return repeated
    action = _action(action)
    ctx = load(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id)
    ctx = replace(ctx, status=status)  # as locked: a caller may have read first (the CLI finds the release) in a snapshot
    if not ctx.actor.kinds & ROLES[action]:
        raise PermissionDeniedError(f"only {_who_may(action, ctx.pilot, ctx.creator)} can {LABELS[action].lower()}")
    target, integration = _target(session, release_id, target_id)
    if not supports_store(integration.targetType.value):
        raise TransitionRefusedError(f"releasebot cannot ask {integration.displayName}'s store yet: mark the target by hand")
    _check_stage(session, ctx, action, target, integration)
    # Locked after the release and the target, read as committed: a runner's newer store state, recorded while this
    # click waited for the lock, decides (a plain read gives the click's first snapshot, or the identity map's row).
    store = session.get(TargetStore, target_id, with_for_update=True, populate_existing=True)
    allowed = allowed_of(store)
    if action not in allowed:
        now = store.line if store and store.line else "not submitted yet"
        raise TransitionRefusedError(f"{integration.displayName} is {_lower(now)}: {LABELS[action].lower()} is not possible now")
    _refuse_if_busy(session, target_id, integration.displayName)
    raw = dict(params or {})
    if action == StoreAction.INCREASE and store is not None and store.rolloutPercent is not None:
        # The rollout the person saw: the step after it is what they confirmed, so a retry never climbs twice.
        raw.setdefault("rolloutPercent", f"{store.rolloutPercent:g}")
    clean = store_module(integration.targetType.value).check_params(action, raw, dict(integration.settings or {}))
    row = StoreRequest(tenantId=tenant_id, releaseId=release_id, releaseTargetId=target_id, action=action.value,
                       params=clean, requestKey=request_key, requestedByAccountId=actor_account_id,
                       state=TaskState.PENDING, attempts=0, nextAttemptAt=utcnow())
    session.add(row)
    session.flush()
    record_event(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                 action=f"{EVENT_PREFIX}{action.value}", to_value=LABELS[action], detail=integration.displayName)
    mark_stale(session, release_id=release_id)
    return row.id


def _action(action: StoreAction | str) -> StoreAction:
    try:
        return StoreAction(action)
    except ValueError:
        raise NotFoundError(f"{action!s} is not something releasebot can ask of a store") from None


def _who_may(action: StoreAction, pilot: str | None, creator: str) -> str:
    names = [f"the release pilot ({pilot})"] if pilot else []
    if Who.CREATOR in ROLES[action]:
        names.append(f"its creator ({creator})")
    names.append("a workspace admin")
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _target(session: Session, release_id: str, target_id: str, *, lock: bool = True) -> tuple[ReleaseTarget, TargetIntegration]:
    # Locked when asking: two clicks on one target are decided one after the other (the busy check sees the first).
    query = (select(ReleaseTarget, TargetIntegration)
             .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
             .where(ReleaseTarget.id == target_id, ReleaseTarget.releaseId == release_id))
    row = session.execute(query.with_for_update(of=ReleaseTarget) if lock else query).first()
    if row is None:
        raise NotFoundError("this target belongs to no release of this workspace")
    return row[0], row[1]


def _check_stage(session: Session, ctx, action: StoreAction, target: ReleaseTarget, integration: TargetIntegration) -> None:
    if action == StoreAction.SUBMIT:
        if ctx.status not in SUBMITTING:
            raise TransitionRefusedError(f"{ctx.release_key} is not ready for the stores: pass regression first")
        if ctx.status == ReleaseStatus.REGRESSION_IN_PROGRESS:
            regression.require_passed(session, ctx)
        if not target.buildNumber:
            raise TransitionRefusedError(f"{integration.displayName} has no finished build to submit: build it first")
    elif ctx.status not in AT_STORE_STATUSES:
        raise TransitionRefusedError(f"{ctx.release_key} is {ctx.status.value.lower().replace('_', ' ')}: nothing can be "
                                     "asked of its stores now")


def _refuse_if_busy(session: Session, target_id: str, name: str) -> None:
    # A locking read: on MariaDB it sees what a click that held the lock before this one committed.
    row = session.execute(select(StoreRequest.action, Account.displayName, StoreRequest.createdAt)
                          .outerjoin(Account, Account.id == StoreRequest.requestedByAccountId)
                          .where(StoreRequest.releaseTargetId == target_id, StoreRequest.state == TaskState.PENDING)
                          .limit(1).with_for_update(read=True)).first()
    if row is not None:
        action, who, at = row
        when = f" at {at:%H:%M} UTC" if at else ""
        raise TransitionRefusedError(f"{name} is already {DOING[StoreAction(action)]} (asked by {who or 'someone'}{when}): "
                                     "wait for the store to answer")


# --- the runner's side: actions ----------------------------------------------------------------


def due_actions(session: Session, limit: int = 50) -> list[str]:
    """Owed store actions past any backoff, unclaimed, of live releases."""
    now = utcnow()
    return list(session.scalars(
        select(StoreRequest.id).join(Release, Release.id == StoreRequest.releaseId)
        .where(StoreRequest.state == TaskState.PENDING, StoreRequest.nextAttemptAt <= now,
               Release.status.not_in(ENDED_RELEASE_STATUSES),
               or_(StoreRequest.claimedUntil.is_(None), StoreRequest.claimedUntil < now))
        .order_by(StoreRequest.nextAttemptAt).limit(limit)))


def job_of(session: Session, request_id: str) -> StoreJob:
    """The claimed action with what its store client needs."""
    row = session.get(StoreRequest, request_id)
    target, integration = _target(session, row.releaseId, row.releaseTargetId, lock=False)
    store = session.get(TargetStore, target.id)
    return StoreJob(row.id, StoreAction(row.action), dict(row.params or {}), integration.id, integration.displayName,
                    facts_of(session, target, integration), row.attempts, row.createdAt or utcnow(),
                    store.nextCheckAt if store else None)


def action_done(session: Session, *, request_id: str, worker: str, state: StoreState, interval: float,
                looked_at: datetime | None = None) -> bool:
    """Record a claimed action done and the store's state after it; False if taken over meanwhile. `looked_at`: the
    target's nextCheckAt at the claim (a webhook that moved it while the store was asked keeps it due)."""
    row = session.get(StoreRequest, request_id)
    lock_release(session, row.releaseId)
    if not _settle(session, request_id, worker, state=TaskState.DONE, lastError=None, errorDetail=None, finishedAt=utcnow()):
        return False
    apply_state(session, target_id=row.releaseTargetId, state=state, interval=interval, changed_by_action=True,
                looked_at=looked_at)
    return True


def action_waiting(session: Session, *, request_id: str, worker: str, note: str, retry_at: datetime) -> bool:
    """The store is not ready yet (a build processing): try again at `retry_at`, no failed attempt counted."""
    return session.execute(
        update(StoreRequest).where(StoreRequest.id == request_id, StoreRequest.state == TaskState.PENDING,
                                   StoreRequest.claimedBy == worker)
        .values(claimedUntil=None, nextAttemptAt=retry_at, lastError=note).execution_options(synchronize_session=False)
    ).rowcount == 1 and _stale(session, request_id)


def action_failed(session: Session, *, request_id: str, worker: str, error: str, detail: str, retry_at: datetime | None) -> bool:
    """A failed attempt: owed again at `retry_at`, or FAILED for good (told in the thread) when None."""
    row = session.get(StoreRequest, request_id)
    state = TaskState.PENDING if retry_at else TaskState.FAILED
    done = _settle(session, request_id, worker, state=state, lastError=error, errorDetail=detail, nextAttemptAt=retry_at,
                   attempts=StoreRequest.attempts + 1, finishedAt=None if retry_at else utcnow())
    if done and retry_at is None:
        name = session.scalar(select(TargetIntegration.displayName).join(
            ReleaseTarget, ReleaseTarget.targetIntegrationId == TargetIntegration.id).where(ReleaseTarget.id == row.releaseTargetId))
        record_event(session, tenant_id=row.tenantId, release_id=row.releaseId, actor_account_id=None, action=FAILED_EVENT,
                     from_value=LABELS[StoreAction(row.action)], to_value=name, detail=error)
    return done


def _settle(session: Session, request_id: str, worker: str, **values) -> bool:
    # Conditional on the claim: another worker may have taken a lapsed claim over.
    changed = session.execute(
        update(StoreRequest).where(StoreRequest.id == request_id, StoreRequest.state == TaskState.PENDING,
                                   StoreRequest.claimedBy == worker)
        .values(claimedUntil=None, **values).execution_options(synchronize_session=False)).rowcount == 1
    return changed and _stale(session, request_id)


def _stale(session: Session, request_id: str) -> bool:
    mark_stale(session, release_id=session.scalar(select(StoreRequest.releaseId).where(StoreRequest.id == request_id)))
    return True
