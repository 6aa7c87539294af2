"""What a release card shows, read in one place: the release, its stage's actions, its regression
cycle and its delay. The card is one message for everyone: it offers what someone with a role may do
now, and core refuses the click of anyone else, naming who may."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import ReleaseStatus
from core.lifecycle import Action, Who, allowed_actions
from core.models import Release
from core.services.regression import PASSED, current_cycle
from core.services.releases import ReleaseView, get_release
from core.services.store_views import StoreView, store_views
from core.services.tasks import TaskView, list_tasks

PEOPLE = frozenset({Who.ADMIN, Who.PILOT, Who.CREATOR, Who.MEMBER})


@dataclass(frozen=True)
class CardView:
    release: ReleaseView
    actions: tuple[Action, ...]  # what a person with the right role may do now
    cycle: int | None = None
    cycle_passed: bool = False
    delayed: bool = False
    delayed_reason: str | None = None
    release_date: datetime | None = None
    tasks: tuple[TaskView, ...] = ()  # kickoff's chores: done, running or failed with what to do
    stores: dict[str, StoreView] = field(default_factory=dict)  # each target's store, by release target id


def card_view(session: Session, *, tenant_id: str, release_id: str) -> CardView:
    """The release as its card shows it."""
    release = get_release(session, tenant_id=tenant_id, release_id=release_id)
    row = session.scalar(select(Release).where(Release.id == release_id, Release.tenantId == tenant_id))
    cycle = current_cycle(session, release_id=release_id)
    passed = cycle is not None and cycle.outcome == PASSED
    actions = allowed_actions(release.status, PEOPLE)
    if release.status == ReleaseStatus.REGRESSION_IN_PROGRESS:  # targets are submitted once the cycle passed
        hidden = {Action.REGRESSION_PASSED} if passed else {Action.MARK_SUBMITTED, Action.MARK_APPROVED, Action.MARK_RELEASED}
        actions = [a for a in actions if a not in hidden]
    return CardView(release, tuple(actions), cycle.number if cycle else None, passed, bool(row.isDelayed),
                    row.delayedReason, row.releaseDate, tuple(list_tasks(session, tenant_id=tenant_id, release_id=release_id)),
                    store_views(session, release_id=release_id))
