"""Work: kick off, as the bot, each release waiting for kickoff whose planned date has come (UTC)."""
from __future__ import annotations

import logging

from sqlalchemy import select

from core.clock import utcnow
from core.enums import ReleaseStatus
from core.lifecycle import TransitionRefusedError
from core.models import Release
from core.runner.context import RunnerContext
from core.services import lifecycle

log = logging.getLogger("releasebot.runner")


class AutoKickoff:
    LOG_AS = "release"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self, limit: int = 100) -> list[str]:
        """Releases waiting for kickoff whose planned date is now or past."""
        with self.ctx.runtime.reading() as s:
            return list(s.scalars(select(Release.id).where(Release.status == ReleaseStatus.KICKOFF_PENDING,
                                                           Release.plannedDate <= utcnow())
                                  .order_by(Release.plannedDate).limit(limit)))

    def run(self, release_id: str) -> None:
        """Kick one release off (its kickoff tasks are owed in the same transaction)."""
        try:
            with self.ctx.runtime.unit_of_work() as s:
                tenant_id = s.scalar(select(Release.tenantId).where(Release.id == release_id))
                if tenant_id is not None:
                    lifecycle.kickoff(s, tenant_id=tenant_id, release_id=release_id, actor_account_id=None)
        except TransitionRefusedError as exc:  # a person or another worker was first (the conditional update says so)
            log.debug("automatic kickoff of %s: %s", release_id, exc)
            return
        self.ctx.wake()  # its kickoff tasks are due now
