"""Work: do what people asked of the stores (submit, release, pause…), one owed action at a time.

Each action is claimed with a conditional update, and every store client reads the store's state before
writing (core.integrations.stores), so a worker that dies in the middle only means the next one finds
the work done so far and finishes it: never a second version, submission or commit."""
from __future__ import annotations

import logging
from datetime import timedelta

from core.clock import utcnow
from core.enums import IntegrationKind, TaskState
from core.errors import IntegrationError, ReleasebotError
from core.integrations.stores import LABELS, StoreWaiting
from core.models import StoreRequest, TargetIntegration
from core.runner.build_steps import CLIENT_ERRORS, retry_at
from core.runner.context import RunnerContext
from core.services import builds, store_actions
from core.services.verification import config_of

log = logging.getLogger("releasebot.runner")


class StoreActions:
    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self) -> list[str]:
        """Owed store actions past any backoff and not claimed by another worker."""
        with self.ctx.runtime.reading() as s:
            return store_actions.due_actions(s)

    def run(self, request_id: str) -> None:
        """Do one store action, or schedule its retry, or fail it with what to do."""
        claimed = self._claim(request_id)
        if claimed is None:
            return
        job, client = claimed
        try:
            if isinstance(client, Exception):
                raise client
            state, exc = client.perform(job.action, job.params, job.facts), None
        except CLIENT_ERRORS as error:
            state, exc = None, error
        with self.ctx.runtime.unit_of_work() as s:
            if exc is None:
                store_actions.action_done(s, request_id=request_id, worker=self.ctx.worker, state=state, interval=self.ctx.interval,
                                          looked_at=job.looked_at)
            else:
                self._failed(s, job, exc)
        self.ctx.wake()

    def _claim(self, request_id: str):
        with self.ctx.runtime.unit_of_work() as s:
            if not builds.claim(s, StoreRequest, request_id, StoreRequest.state == TaskState.PENDING,
                                worker=self.ctx.worker, lease=self.ctx.lease):
                return None
            job = store_actions.job_of(s, request_id)
            try:
                row = s.get(TargetIntegration, job.integration_id)
                client = self.ctx.clients.get(IntegrationKind.TARGET, config_of(s, IntegrationKind.TARGET, row, self.ctx.runtime.cipher))
            except CLIENT_ERRORS as exc:  # a key that decrypts nothing, an address the guard refuses: fails like a call
                client = exc
            return job, client

    def _failed(self, s, job: store_actions.StoreJob, exc: Exception) -> None:
        detail = str(exc) if isinstance(exc, ReleasebotError) else f"{type(exc).__name__}: {exc}"
        what = f"{LABELS[job.action].lower()} on {job.target_name}"
        if isinstance(exc, StoreWaiting) and utcnow() - job.created_at < self.ctx.max_duration:
            log.info("store action %s (%s) waits: %s", job.id, what, detail)
            store_actions.action_waiting(s, request_id=job.id, worker=self.ctx.worker, note=str(exc),
                                  retry_at=utcnow() + timedelta(seconds=max(self.ctx.interval * 4, 1)))
            return
        attempt = job.attempts + 1
        again = getattr(exc, "retryable", False) and attempt < self.ctx.max_failures
        log.warning("store action %s (%s) failed, attempt %s of %s: %s", job.id, what, attempt, self.ctx.max_failures, detail)
        if again:
            error = f"{job.target_name} did not answer; trying again (attempt {attempt} of {self.ctx.max_failures})"
            store_actions.action_failed(s, request_id=job.id, worker=self.ctx.worker, error=error, detail=detail,
                                 retry_at=retry_at(self.ctx.interval * attempt, exc))
        else:
            store_actions.action_failed(s, request_id=job.id, worker=self.ctx.worker, error=_advice(job, exc), detail=detail,
                                 retry_at=None)


def _advice(job: store_actions.StoreJob, exc: Exception) -> str:
    """What a member reads: what failed and what to do; a store's own refusal is worded for people already."""
    status = exc.status if isinstance(exc, IntegrationError) else None
    if status in (401, 403):
        return f"could not {LABELS[job.action].lower()}: {job.target_name} refused the API key; ask an admin to re-verify it"
    if isinstance(exc, IntegrationError):
        return f"could not {LABELS[job.action].lower()}: {exc}"
    return f"could not {LABELS[job.action].lower()}: ask an admin to re-verify {job.target_name}"
