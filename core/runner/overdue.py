"""Work: mark delayed, as the bot, each live release whose target release date has passed (the thread
then asks its pilot for a reason). Once: a delayed release is not marked again."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select, update

from core.clock import utcnow
from core.lifecycle import BEFORE_RELEASE, TransitionRefusedError
from core.models import Release
from core.runner.context import RunnerContext
from core.services import lifecycle

log = logging.getLogger("releasebot.runner")


def _overdue(now: datetime):
    # The target date is the day to release on: it has passed once that day (UTC) is over.
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (Release.status.in_(BEFORE_RELEASE), or_(Release.isDelayed.is_(None), Release.isDelayed.is_(False)),
            Release.targetReleaseDate < today)


class Overdue:
    LOG_AS = "release"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self, limit: int = 100) -> list[str]:
        """Releases not yet released, not already delayed, whose target date has passed."""
        with self.ctx.runtime.reading() as s:
            return list(s.scalars(select(Release.id).where(*_overdue(utcnow()))
                                  .order_by(Release.targetReleaseDate).limit(limit)))

    def run(self, release_id: str) -> None:
        """Mark one overdue release delayed, unless another worker or a person did first."""
        try:
            with self.ctx.runtime.unit_of_work() as s:
                if not _claim(s, release_id):
                    return
                tenant_id = s.scalar(select(Release.tenantId).where(Release.id == release_id))
                lifecycle.mark_delayed(s, tenant_id=tenant_id, release_id=release_id, actor_account_id=None, reason=None)
        except TransitionRefusedError as exc:  # released or cancelled meanwhile: nothing is late
            log.debug("overdue release %s: %s", release_id, exc)


def _claim(s, release_id: str) -> bool:
    """Set the delayed flag if it is still unset and the release still overdue: a conditional update,
    so of two workers one marks it (mark_delayed keeps the status, so its own update would let both)."""
    return s.execute(update(Release).where(Release.id == release_id, *_overdue(utcnow())).values(isDelayed=True)
                     .execution_options(synchronize_session=False)).rowcount == 1
