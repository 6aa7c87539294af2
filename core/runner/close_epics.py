"""Work: move a released release's epics to the tracker's done state, once (Jira: the Done transition,
Linear: the team's completed workflow state).

Once is a `release_tasks` row "close-epics" per release, owed here when the runner first sees the release
RELEASED (or archived since) with epics: the row is unique per release, claimed like a kickoff task,
retried with backoff when the tracker does not answer, and DONE for good after. Closing is idempotent at
the tracker too (an epic already done is left as it is), so a worker dying mid-way only means the next
one looks first."""
from __future__ import annotations

import logging
from functools import partial

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.enums import ReleaseStatus, TaskState
from core.models import Release, ReleaseTask, TicketIntegration
from core.runner.build_steps import CLIENT_ERRORS
from core.runner.context import RunnerContext
from core.runner.epics import PLATFORMS, ticket_client
from core.runner.kickoff import Chore, _raise, fail_task
from core.services import builds, tasks

log = logging.getLogger("releasebot.runner")
CLOSE_EPICS = "close-epics"
CLOSED = (ReleaseStatus.RELEASED, ReleaseStatus.ARCHIVED)  # archived comes after released: a quick archive still closes


def epic_keys(release: Release) -> list[str]:
    """The release's epics, iOS first."""
    return [key for key in (getattr(release, p.column) for p in PLATFORMS.values()) if key]


def close_all(client, keys: list[str]) -> str:
    """Close each epic; the result says which were closed now and which were done already."""
    return " ".join(f"{key}:{'closed' if client.close_epic(key) else 'already-done'}" for key in keys)


class CloseEpics:
    LOG_AS = "task"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self, limit: int = 100) -> list[str]:
        """Owe the closing of newly released releases' epics, then the owed ones past any backoff and unclaimed."""
        self._owe(limit)
        now = utcnow()
        with self.ctx.runtime.reading() as s:
            return list(s.scalars(select(ReleaseTask.id).where(
                ReleaseTask.task == CLOSE_EPICS, ReleaseTask.state == TaskState.PENDING, ReleaseTask.nextAttemptAt <= now,
                or_(ReleaseTask.claimedUntil.is_(None), ReleaseTask.claimedUntil < now)).order_by(ReleaseTask.nextAttemptAt).limit(limit)))

    def _owe(self, limit: int) -> None:
        owed = exists().where(ReleaseTask.releaseId == Release.id, ReleaseTask.task == CLOSE_EPICS)
        try:
            with self.ctx.runtime.unit_of_work() as s:
                rows = s.execute(select(Release.id, Release.tenantId).where(
                    Release.status.in_(CLOSED), Release.ticketIntegrationId.is_not(None),
                    or_(*[getattr(Release, p.column).is_not(None) for p in PLATFORMS.values()]), ~owed).limit(limit)).all()
                s.add_all([ReleaseTask(tenantId=r.tenantId, releaseId=r.id, task=CLOSE_EPICS, state=TaskState.PENDING,
                                       attempts=0, nextAttemptAt=utcnow()) for r in rows])
        except IntegrityError:  # another worker owed them first: the unique (release, task) key let one win
            log.info("close-epics already owed by another worker")

    def run(self, task_id: str) -> None:
        """Close one release's epics, or schedule a retry, or give up with advice in the task's row."""
        chore = self._claim(task_id)
        if chore is None:
            return
        try:
            result, exc = chore.call(), None
        except CLIENT_ERRORS as error:
            result, exc = None, error
        with self.ctx.runtime.unit_of_work() as s:
            if exc is None:
                tasks.task_done(s, task_id=task_id, worker=self.ctx.worker, result=result)
            else:
                fail_task(self.ctx, s, task_id, chore, exc)

    def _claim(self, task_id: str) -> Chore | None:
        with self.ctx.runtime.unit_of_work() as s:
            task = s.get(ReleaseTask, task_id)
            if task is None or task.state != TaskState.PENDING or task.task != CLOSE_EPICS:
                return None
            if not builds.claim(s, ReleaseTask, task_id, ReleaseTask.state == TaskState.PENDING,
                                worker=self.ctx.worker, lease=self.ctx.lease):
                return None
            release = s.get(Release, task.releaseId)
            keys, row = epic_keys(release), s.get(TicketIntegration, release.ticketIntegrationId or "")
            if row is None:  # the tracker was deleted since: nothing left to close them in
                return Chore("close the epics", "the ticket tracker", lambda: "no-tracker")
            try:
                call = partial(close_all, ticket_client(self.ctx, s, row.id), keys)
            except CLIENT_ERRORS as exc:
                call = partial(_raise, exc)
            return Chore(f"close the epics {', '.join(keys)}", row.displayName, call)
