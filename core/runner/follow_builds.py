"""Work: ask the CI how each running build is doing (stopping it first when an abort was asked);
record its end, find it again when Jenkins forgot its queue item, or lose track after a bounded wait."""
from __future__ import annotations

from datetime import timedelta

from core.clock import utcnow
from core.enums import BuildState, BuildStatus
from core.errors import ConfigurationError, IntegrationError
from core.integrations.base import BuildRef
from core.integrations.network import AddressRefusedError
from core.models import PipelineBuild
from core.runner.build_steps import CLIENT_ERRORS, ci_client, due_builds, record, ref_of, retry_at, unbuildable
from core.runner.context import RunnerContext
from core.services import builds

STATUS_OF = {BuildStatus.RUNNING: BuildState.RUNNING, BuildStatus.PENDING: BuildState.RUNNING,
             BuildStatus.SUCCESS: BuildState.SUCCESS, BuildStatus.FAILED: BuildState.FAILED,
             BuildStatus.CANCELLED: BuildState.CANCELLED}


def next_check(requested_at, interval: float):
    """When to look again: often at first, then less (a long build is not worth a request every few seconds)."""
    age = (utcnow() - requested_at).total_seconds()
    return utcnow() + timedelta(seconds=min(max(interval, age / 20), 60))


class FollowBuilds:
    LOG_AS = "build"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self, limit: int = 100) -> list[str]:
        """Running builds due a check and not claimed by another worker."""
        return due_builds(self.ctx, BuildState.RUNNING, limit)

    def claim(self, build_ids: list[str]) -> list[str]:
        """Take these builds (still running, not held by another worker) in one short write; returns those taken."""
        with self.ctx.runtime.unit_of_work() as s:
            return builds.claim_each(s, PipelineBuild, build_ids, PipelineBuild.state == BuildState.RUNNING,
                                     worker=self.ctx.worker, lease=self.ctx.lease)

    def run(self, build_id: str, *, claimed: bool = False) -> None:
        """Check one running build (`claimed`: the round has taken it already)."""
        if not claimed and not self.claim([build_id]):
            return
        with self.ctx.runtime.reading() as s:
            build = s.get(PipelineBuild, build_id)
            ref, requested_at, key, abort = ref_of(build), build.requestedAt, build.idempotencyKey, build.abortRequestedAt
            looked_at = build.nextCheckAt  # a webhook or an abort that moves it while the CI is asked: look again at once
            try:
                client = ci_client(self.ctx, s, build)
            except CLIENT_ERRORS as exc:
                client = exc
        if isinstance(client, Exception):
            record(self.ctx, build_id, **unbuildable(self.ctx, build_id, client, starting=False))
            return
        if utcnow() - requested_at > self.ctx.max_duration:
            record(self.ctx, build_id, state=BuildState.LOST, error=f"no result after {self.ctx.max_duration}: lost track of it")
            return
        try:
            if abort is not None:
                client.stop(ref)
                self._abort_sent(build_id)
            seen = client.state(ref)
        except AddressRefusedError as exc:  # the host now resolves somewhere refused: settings, not a passing failure
            record(self.ctx, build_id, **unbuildable(self.ctx, build_id, exc, starting=False))
            return
        except (IntegrationError, ConfigurationError) as exc:
            record(self.ctx, build_id, **self._failed(build_id, exc, client, key), looked_at=looked_at)
            return
        record(self.ctx, build_id, state=STATUS_OF[seen.status], build_number=seen.build_number, url=seen.url,
               log_url=seen.log_url, artifact_url=seen.artifact_url, duration=seen.duration_seconds,
               next_check=next_check(requested_at, self.ctx.interval), looked_at=looked_at)

    def _abort_sent(self, build_id: str) -> None:
        with self.ctx.runtime.unit_of_work() as s:
            s.get(PipelineBuild, build_id).abortRequestedAt = None

    def _failed(self, build_id: str, exc: Exception, client, key: str) -> dict:
        gone = getattr(exc, "status", None) == 404
        if gone:
            # Jenkins purges a queue item minutes after its build starts: before calling the build
            # lost, look for it by its key; a retry would build the release twice.
            found = _find(client, key)
            if found is not None:
                return dict(state=BuildState.RUNNING, queue_id=found.queue_id, build_number=found.build_number,
                            url=found.url, next_check=utcnow())
        with self.ctx.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            build.failures += 1
            if gone or build.failures >= self.ctx.max_failures:
                return dict(state=BuildState.LOST, error=f"lost track of the build: {exc}")
            return dict(state=BuildState.RUNNING, error=str(exc),
                        next_check=retry_at(self.ctx.interval * 2 ** min(build.failures, 5), exc))


def _find(client, key: str) -> BuildRef | None:
    try:
        return client.find(key)
    except (IntegrationError, ConfigurationError):
        return None
