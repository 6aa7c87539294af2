"""Work: follow each submitted target's state at its store (review, approval, rollout), reading it again
with backoff (faster right after a change), and let the target and the release follow the store's truth."""
from __future__ import annotations

import logging

from core.enums import IntegrationKind
from core.errors import ReleasebotError
from core.models import TargetIntegration, TargetStore
from core.runner.build_steps import CLIENT_ERRORS
from core.runner.context import RunnerContext
from core.services import builds, store_following
from core.services.verification import config_of

log = logging.getLogger("releasebot.runner")


class StoreStates:
    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self) -> list[str]:
        """Targets whose store state is due a read."""
        with self.ctx.runtime.reading() as s:
            return store_following.due_checks(s)

    def run(self, target_id: str) -> None:
        """Read one target's store state and record it."""
        with self.ctx.runtime.unit_of_work() as s:
            if not builds.claim(s, TargetStore, target_id, TargetStore.nextCheckAt.is_not(None), worker=self.ctx.worker,
                                lease=self.ctx.lease):
                return
            integration_id, facts = store_following.check_of(s, target_id)
            store = s.get(TargetStore, target_id)
            looked_at = store.nextCheckAt  # a webhook that moves it meanwhile: read again now
            seen = store.revision  # a state recorded meanwhile (an action's answer) is newer than this read's
            try:
                row = s.get(TargetIntegration, integration_id)
                client = self.ctx.clients.get(IntegrationKind.TARGET, config_of(s, IntegrationKind.TARGET, row, self.ctx.runtime.cipher))
            except CLIENT_ERRORS as exc:
                client = exc
        try:
            if isinstance(client, Exception):
                raise client
            state, exc = client.read_state(facts), None
        except CLIENT_ERRORS as error:
            state, exc = None, error
        with self.ctx.runtime.unit_of_work() as s:
            if exc is None:
                changed = store_following.apply_state(s, target_id=target_id, state=state, interval=self.ctx.interval, worker=self.ctx.worker,
                                             looked_at=looked_at, seen_revision=seen)
            else:
                detail = str(exc) if isinstance(exc, ReleasebotError) else f"{type(exc).__name__}: {exc}"
                log.warning("reading the store state of target %s failed: %s", target_id, detail)
                store_following.check_failed(s, target_id=target_id, worker=self.ctx.worker, interval=self.ctx.interval, looked_at=looked_at,
                                    seen_revision=seen,
                                    error="the store could not be read; trying again" if not isinstance(exc, ReleasebotError)
                                    else f"the store could not be read: {exc}")
                changed = False
        if changed:
            self.ctx.wake()
