"""The stores (issue 12): a person asks something of a target's store (submit, release, pause…), the
runner does it (core.runner.store_actions) and follows the store's state (core.runner.store_states),
and the target and the release follow the store's truth.

Asking only records the intent, checked here in core: the tenant, the person's role (the lifecycle's
kinds of actor), the release's stage, what the store's last state allows, the params. A repeated click
or Slack retry (the same request key) finds the first; a second click while an action of the target is
owed or running is told so and creates nothing. None of these functions commits."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.enums import ENDED_RELEASE_STATUSES, ReleaseStatus, TargetStatus, TaskState
from core.errors import NotFoundError, PermissionDeniedError
from core.integrations.registry import store_module, supports_store
from core.integrations.stores import DOING, FINAL_PHASES, LABELS, StoreAction, StoreFacts, StorePhase, StoreState
from core.lifecycle import SUBMITTING, TransitionRefusedError, Who
from core.models import Account, Release, ReleaseTarget, StoreRequest, TargetIntegration, TargetStore
from core.services import changelog, regression
from core.services.cards import mark_stale
from core.services.history import record_event
from core.services.integrations import utcnow
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
MAX_CHECK_SECONDS = 15 * 60  # the slowest a store's state is read (a review takes a day or two)
MARK_ORDER = (TargetStatus.SUBMITTED, TargetStatus.APPROVED, TargetStatus.RELEASED)
EVENT_PREFIX = "store-"  # store-submit, store-pause… (a person's ask); store-state, store-failed (the store's answer)
STATE_EVENT, FAILED_EVENT = "store-state", "store-failed"


@dataclass(frozen=True)
class StoreView:
    """A target's store as the card shows it: the store's last word, and an owed or failed action."""

    target_id: str
    provider: str
    phase: StorePhase
    line: str | None
    allowed: tuple[StoreAction, ...]
    hints: dict[str, str]
    rollout_percent: float | None = None
    phased_day: int | None = None
    paused: bool = False
    reason: str | None = None
    owed: StoreAction | None = None  # asked, not done yet
    problem: str | None = None  # the last action's failure, or why the store could not be read


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


# --- asking ------------------------------------------------------------------------------------


def request_action(session: Session, *, tenant_id: str, release_id: str, target_id: str, actor_account_id: str,
                   action: StoreAction | str, params: dict[str, str | None] | None, request_key: str) -> str:
    """Owe `action` on a target's store for this person; returns the store action's id (the first one's
    for a repeated request)."""
    # The release row first, then the target's: the order every change and the runner take. Before any other read: on
    # MySQL the snapshot is taken at the first plain read, and one taken before the lock missed a cancel committed
    # while this click waited, so an action was owed of a cancelled release.
    status = _lock(session, release_id)
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
    allowed = _allowed(store)
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


def _allowed(store: TargetStore | None) -> tuple[StoreAction, ...]:
    if store is None:
        return (StoreAction.SUBMIT,)
    return tuple(StoreAction(a) for a in (store.allowed or []) if a in StoreAction._value2member_map_)


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
    return StoreJob(row.id, StoreAction(row.action), dict(row.params or {}), integration.id, integration.displayName,
                    facts_of(session, target, integration), row.attempts, row.createdAt or utcnow())


def facts_of(session: Session, target: ReleaseTarget, integration: TargetIntegration) -> StoreFacts:
    """What the store client is told about a target."""
    version = session.scalar(select(Release.version).where(Release.id == target.releaseId))
    store = session.get(TargetStore, target.id)
    return StoreFacts(version=version, build_number=target.buildNumber, settings=dict(integration.settings or {}),
                      store_ids=dict(store.storeIds or {}) if store else {})


def action_done(session: Session, *, request_id: str, worker: str, state: StoreState, interval: float) -> bool:
    """Record a claimed action done and the store's state after it; False if taken over meanwhile."""
    row = session.get(StoreRequest, request_id)
    _lock(session, row.releaseId)
    if not _settle(session, request_id, worker, state=TaskState.DONE, lastError=None, errorDetail=None, finishedAt=utcnow()):
        return False
    apply_state(session, target_id=row.releaseTargetId, state=state, interval=interval, changed_by_action=True)
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


def _lock(session: Session, release_id: str) -> ReleaseStatus | None:
    # The release row first, as every lifecycle change takes it: no crosswise wait with a click on MariaDB.
    return session.scalar(select(Release.status).where(Release.id == release_id).with_for_update())


# --- the runner's side: following the store's state --------------------------------------------


def due_checks(session: Session, limit: int = 100) -> list[str]:
    """Targets whose store state is due a read: not final, past their backoff, unclaimed, no action of
    theirs owed (the action's answer is the newer state), of live releases."""
    now = utcnow()
    owed = select(StoreRequest.id).where(StoreRequest.releaseTargetId == TargetStore.releaseTargetId,
                                         StoreRequest.state == TaskState.PENDING).exists()
    return list(session.scalars(
        select(TargetStore.releaseTargetId).join(Release, Release.id == TargetStore.releaseId)
        .where(TargetStore.nextCheckAt <= now, Release.status.not_in(ENDED_RELEASE_STATUSES), ~owed,
               or_(TargetStore.claimedUntil.is_(None), TargetStore.claimedUntil < now))
        .order_by(TargetStore.nextCheckAt).limit(limit)))


def check_of(session: Session, target_id: str) -> tuple[str, StoreFacts]:
    """The target integration's id and the facts its store client is told."""
    target = session.get(ReleaseTarget, target_id)
    integration = session.get(TargetIntegration, target.targetIntegrationId)
    return integration.id, facts_of(session, target, integration)


def check_failed(session: Session, *, target_id: str, worker: str, error: str, interval: float,
                 looked_at: datetime | None = None) -> None:
    """The store could not be read: say so on the card and read again later, backing off; at once if a webhook
    moved nextCheckAt from `looked_at` (what the runner read before asking the store)."""
    store = session.get(TargetStore, target_id, with_for_update=True)  # locked: see _next_check
    session.execute(update(TargetStore).where(TargetStore.releaseTargetId == target_id, TargetStore.claimedBy == worker)
                    .values(claimedUntil=None, lastError=error, checks=TargetStore.checks + 1, lastCheckedAt=utcnow(),
                            nextCheckAt=_next_check(store, utcnow() + _backoff(interval, store.checks + 1), looked_at))
                    .execution_options(synchronize_session=False))
    if store.lastError != error:
        mark_stale(session, release_id=store.releaseId)


def _backoff(interval: float, checks: int) -> timedelta:
    return timedelta(seconds=min(interval * 2 ** min(checks, 16), MAX_CHECK_SECONDS))


def _next_check(store: TargetStore, later: datetime | None, looked_at: datetime | None) -> datetime | None:
    """`later`, unless a webhook said "read now" while the store was being read (nextCheckAt moved from `looked_at`):
    then now. `store` is read locked, so a webhook committed after that read waits and comes after this write (on
    MySQL; SQLite's one writer already orders them)."""
    if later is not None and looked_at is not None and store.nextCheckAt is not None and store.nextCheckAt != looked_at:
        return min(store.nextCheckAt, utcnow())
    return later


def apply_state(session: Session, *, target_id: str, state: StoreState, interval: float, worker: str | None = None,
                changed_by_action: bool = False, looked_at: datetime | None = None) -> bool:
    """Record what the store says of a target; move the target (and the release) to the store's truth,
    one history event per mark, or one `store-state` event when only the store's line changed. Returns
    whether anything changed. `looked_at`: see _next_check."""
    target = session.get(ReleaseTarget, target_id)
    _lock(session, target.releaseId)
    # Locked after the release, and read as committed (a plain read gives the snapshot of the first read above).
    store = session.get(TargetStore, target_id, with_for_update=True)
    if store is None:
        store = TargetStore(releaseTargetId=target_id, tenantId=_tenant_of(session, target.releaseId),
                            releaseId=target.releaseId, phase=StorePhase.NONE.value, checks=0, paused=False)
        session.add(store)
    before = (store.phase, store.line, store.paused, store.phasedDay, store.rolloutPercent, store.reason, store.allowed)
    values = dict(phase=state.phase.value, line=state.line, allowed=[a.value for a in state.allowed],
                  hints={a.value: h for a, h in state.hints.items()}, rolloutPercent=state.rollout_percent,
                  phasedDay=state.phased_day, paused=state.paused, reason=state.reason,
                  storeIds={**(store.storeIds or {}), **state.store_ids})
    changed = before != tuple(values[k] for k in ("phase", "line", "paused", "phasedDay", "rolloutPercent", "reason", "allowed"))
    checks = 0 if changed or changed_by_action else (store.checks or 0) + 1
    for key, value in values.items():
        setattr(store, key, value)
    store.checks, store.lastCheckedAt, store.lastError = checks, utcnow(), None
    store.nextCheckAt = _next_check(store, None if state.phase in FINAL_PHASES else utcnow() + _backoff(interval, checks),
                                    looked_at)
    if worker is None or store.claimedBy == worker:
        store.claimedUntil = None
    session.flush()
    marked = _follow(session, target, state)
    if changed and not marked:
        name = session.scalar(select(TargetIntegration.displayName).where(TargetIntegration.id == target.targetIntegrationId))
        record_event(session, tenant_id=store.tenantId, release_id=target.releaseId, actor_account_id=None,
                     action=STATE_EVENT, from_value=before[1], to_value=state.line, detail=name)
    if changed or marked:
        mark_stale(session, release_id=target.releaseId)
    return changed or marked


def _tenant_of(session: Session, release_id: str) -> str:
    return session.scalar(select(Release.tenantId).where(Release.id == release_id))


def _follow(session: Session, target: ReleaseTarget, state: StoreState) -> bool:
    """Mark the target forward, step by step, up to where the store says it is."""
    if state.target_status not in MARK_ORDER:
        return False
    current = session.scalar(select(ReleaseTarget.targetStatus).where(ReleaseTarget.id == target.id))
    done = MARK_ORDER.index(current) + 1 if current in MARK_ORDER else 0
    marked = False
    for status in MARK_ORDER[done:MARK_ORDER.index(state.target_status) + 1]:
        if not regression.follow_store(session, tenant_id=_tenant_of(session, target.releaseId), release_id=target.releaseId,
                                       target_id=target.id, status=status):
            break
        marked = True
    return marked


# --- the card's side ---------------------------------------------------------------------------


def store_views(session: Session, *, release_id: str) -> dict[str, StoreView]:
    """Each target's store of a release, by release target id (two statements whatever the number of targets)."""
    targets = session.execute(select(ReleaseTarget.id, TargetIntegration.targetType)
                              .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
                              .where(ReleaseTarget.releaseId == release_id)).all()
    stores = {s.releaseTargetId: s for s in session.scalars(select(TargetStore).where(TargetStore.releaseId == release_id))}
    latest: dict[str, StoreRequest] = {}
    for row in session.scalars(select(StoreRequest).where(StoreRequest.releaseId == release_id)
                               .order_by(StoreRequest.createdAt, StoreRequest.id)):
        latest[row.releaseTargetId] = row
    return {target_id: _view(target_id, kind.value, stores.get(target_id), latest.get(target_id)) for target_id, kind in targets}


def _view(target_id: str, provider: str, store: TargetStore | None, last: StoreRequest | None) -> StoreView:
    owed = StoreAction(last.action) if last is not None and last.state == TaskState.PENDING else None
    problem = last.lastError if last is not None and last.state in (TaskState.PENDING, TaskState.FAILED) else None
    if store is None:
        allowed = (StoreAction.SUBMIT,) if supports_store(provider) else ()
        return StoreView(target_id, provider, StorePhase.NONE, None, allowed, {}, owed=owed, problem=problem)
    return StoreView(target_id, provider, StorePhase(store.phase), store.line, _allowed(store), dict(store.hints or {}),
                     store.rolloutPercent, store.phasedDay, bool(store.paused), store.reason, owed,
                     problem or store.lastError)



@dataclass(frozen=True)
class AskFacts:
    """What a confirmation form shows: the release, the target and its store, and notes from the changelog."""

    release_id: str
    release_key: str
    version: str
    target_id: str
    target_name: str
    provider: str
    store: StoreView
    notes: str  # the changelog's titles, one a line, for What's New / release notes ("" without a changelog)


NOTES_LIMIT = 4000  # the App Store's What's New limit; Play's release notes take 500 per language


def ask_facts(session: Session, *, tenant_id: str, release_id: str, target_id: str) -> AskFacts:
    """A target of a release of this tenant, as its store's confirmation form shows it."""
    row = session.execute(select(Release.releaseKey, Release.version, TargetIntegration.displayName, TargetIntegration.targetType)
                          .join(ReleaseTarget, ReleaseTarget.releaseId == Release.id)
                          .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
                          .where(Release.id == release_id, Release.tenantId == tenant_id, ReleaseTarget.id == target_id)).first()
    if row is None:
        raise NotFoundError("this target belongs to no release of this workspace")
    key, version, name, kind = row
    store = store_views(session, release_id=release_id)[target_id]
    log = changelog.stored(session, release_id)
    notes = "\n".join(f"• {title}" for _, title, _, _ in log.commits) if log else ""
    if len(notes) > NOTES_LIMIT:
        notes = notes[:NOTES_LIMIT - 1].rsplit("\n", 1)[0] + "\n…"
    return AskFacts(release_id, key, version, target_id, name, kind.value, store, notes)
