"""Following a target's store (issue 12): the runner reads each submitted target's state at its store
(core.runner.store_states), again with backoff, and the target and the release follow the store's truth.
None of these functions commits."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import ENDED_RELEASE_STATUSES, ReleaseStatus, TargetStatus, TaskState
from core.integrations.stores import FINAL_PHASES, StoreAction, StoreFacts, StorePhase, StoreState
from core.models import Release, ReleaseTarget, StoreRequest, TargetIntegration, TargetStore
from core.services import regression, wakes
from core.services.cards import mark_stale
from core.services.history import record_event

MAX_CHECK_SECONDS = 15 * 60  # the slowest a store's state is read (a review takes a day or two)
MARK_ORDER = (TargetStatus.SUBMITTED, TargetStatus.APPROVED, TargetStatus.RELEASED)
STATE_EVENT = "store-state"


def lock_release(session: Session, release_id: str) -> ReleaseStatus | None:
    """Lock the release's row and return its status."""
    # The release row first, as every lifecycle change takes it: no crosswise wait with a click on MariaDB.
    return session.scalar(select(Release.status).where(Release.id == release_id).with_for_update())


def allowed_of(store: TargetStore | None) -> tuple[StoreAction, ...]:
    """What the store's last state allows to ask (submitting, before anything was asked)."""
    if store is None:
        return (StoreAction.SUBMIT,)
    return tuple(StoreAction(a) for a in (store.allowed or []) if a in StoreAction._value2member_map_)


def facts_of(session: Session, target: ReleaseTarget, integration: TargetIntegration) -> StoreFacts:
    """What the store client is told about a target."""
    version = session.scalar(select(Release.version).where(Release.id == target.releaseId))
    store = session.get(TargetStore, target.id)
    return StoreFacts(version=version, build_number=target.buildNumber, settings=dict(integration.settings or {}),
                      store_ids=dict(store.storeIds or {}) if store else {})


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
                 looked_at: datetime | None = None, seen_revision: int | None = None) -> None:
    """The store could not be read: say so on the card and read again later, backing off; at once if a webhook
    moved nextCheckAt from `looked_at` (what the runner read before asking the store). A state recorded meanwhile
    (see _newer_recorded) stands without that line beside it, and the store is read again at once."""
    store = session.get(TargetStore, target_id, with_for_update=True)  # locked: see _next_check
    if _newer_recorded(store, seen_revision):
        _read_again(store, worker)
        return
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
    return later if later is None else wakes.woken(looked_at, store.nextCheckAt) or later


def apply_state(session: Session, *, target_id: str, state: StoreState, interval: float, worker: str | None = None,
                changed_by_action: bool = False, looked_at: datetime | None = None, seen_revision: int | None = None) -> bool:
    """Record what the store says of a target; move the target (and the release) to the store's truth,
    one history event per mark, or one `store-state` event when only the store's line changed. Returns
    whether anything changed. `looked_at`: see _next_check; `seen_revision`: see _newer_recorded."""
    target = session.get(ReleaseTarget, target_id)
    lock_release(session, target.releaseId)
    # Locked after the release, and read as committed (a plain read gives the snapshot of the first read above).
    store = session.get(TargetStore, target_id, with_for_update=True)
    if _newer_recorded(store, seen_revision):
        _read_again(store, worker)
        return False
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
    store.revision = (store.revision or 0) + 1
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


def _newer_recorded(store: TargetStore | None, seen_revision: int | None) -> bool:
    """Whether a state was recorded since the runner began this read (the revision moved from `seen_revision`, what
    it read before asking): an action's answer, or a read that took a lapsed claim over. That state is newer than
    this read's answer, which may predate it (asked before a submission, answered after it was recorded)."""
    return store is not None and seen_revision is not None and store.revision != seen_revision


def _read_again(store: TargetStore, worker: str | None) -> None:
    # The newer state stays; the store is read again at once to settle which is the store's latest word.
    if store.nextCheckAt is not None:
        store.nextCheckAt = min(store.nextCheckAt, utcnow())
    if worker is None or store.claimedBy == worker:
        store.claimedUntil = None


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
