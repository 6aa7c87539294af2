"""Work: publish each owed App Home, at most once per person per RELEASEBOT_HOME_SECONDS.

A change owes the Homes of its tenant (core.services.home_views); each step claims one person's row,
reads their Home, publishes it, and records the revision it showed, so changes that arrive meanwhile
are published together once the interval is over. A 429 waits for Slack's Retry-After; nothing is dropped."""
from __future__ import annotations

import logging

from core.errors import IntegrationError
from core.models import HomeView
from core.runner.context import RunnerContext
from core.services import builds, home_views
from core.services.home import Home, home_of

log = logging.getLogger("releasebot.runner")


class Homes:
    LOG_AS = "home"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    @property
    def interval(self) -> float:
        return self.ctx.runtime.settings.home_seconds

    def due(self) -> list[str]:
        """Ids of the Homes owed a publish and due now."""
        with self.ctx.runtime.reading() as s:
            return home_views.due_homes(s)

    def run(self, home_id: str) -> None:
        """Publish one person's Home, or schedule its retry."""
        home, revision = self._claim(home_id)
        if home is None:
            return
        try:
            self.ctx.announcer.publish_home(home)
            error = None
        except IntegrationError as exc:
            error = exc
        with self.ctx.runtime.unit_of_work() as s:
            row = s.get(HomeView, home_id, with_for_update=True)  # locked: see Cards.run
            if error is None:
                home_views.home_published(s, row, revision=revision, interval=self.interval)
            else:
                log.info("Home of %s not published (attempt %s): %s", home.slack_user_id, row.attempts + 1, error)
                home_views.home_failed(s, row, error=str(error), retryable=error.retryable, retry_after=error.retry_after,
                                       interval=self.ctx.interval)
            builds.release_claim(s, HomeView, home_id, worker=self.ctx.worker)

    def _claim(self, home_id: str) -> tuple[Home | None, int]:
        # The claim alone, then the revision and what the Home shows read in one snapshot after it (see Cards._claim).
        with self.ctx.runtime.unit_of_work() as s:
            if not builds.claim(s, HomeView, home_id, HomeView.nextAttemptAt.is_not(None),
                                worker=self.ctx.worker, lease=self.ctx.lease):
                return None, 0
        with self.ctx.runtime.reading() as s:
            row = s.get(HomeView, home_id)
            if row is None:
                return None, 0
            return home_of(s, tenant_id=row.tenantId, slack_user_id=row.slackUserId), row.revision
