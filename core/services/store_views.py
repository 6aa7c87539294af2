"""What the card and a store's confirmation form show of a target's store (issue 12). Read only."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import TaskState
from core.errors import NotFoundError
from core.integrations.registry import supports_store
from core.integrations.stores import StoreAction, StorePhase
from core.models import Release, ReleaseTarget, StoreRequest, TargetIntegration, TargetStore
from core.services import changelog
from core.services.store_following import allowed_of


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
    return StoreView(target_id, provider, StorePhase(store.phase), store.line, allowed_of(store), dict(store.hints or {}),
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
