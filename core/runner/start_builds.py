"""Work: start requested builds on their CI (or find the one an earlier attempt started); an abort
requested before the CI had the build cancels it without starting anything."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from core.clock import utcnow
from core.enums import BuildState, IntegrationKind
from core.errors import ConfigurationError, IntegrationError
from core.integrations.base import ensure_branch
from core.integrations.network import AddressRefusedError
from core.models import PipelineBuild, Release, ReleasePipeline, ScmIntegration
from core.runner.build_steps import CLIENT_ERRORS, ci_client, due_builds, record, retry_at, unbuildable
from core.runner.context import RunnerContext
from core.services import builds
from core.services.verification import config_of

log = logging.getLogger("releasebot.runner")


class StartBuilds:
    LOG_AS = "build"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self, limit: int = 100) -> list[str]:
        """Requested builds past any backoff and not claimed by another worker."""
        return due_builds(self.ctx, BuildState.REQUESTED, limit)

    def run(self, build_id: str) -> None:
        """Start one requested build."""
        with self.ctx.runtime.reading() as s:
            build = s.get(PipelineBuild, build_id)
            if build is None or build.state != BuildState.REQUESTED:
                return
            seen_before = build.claimedBy is not None or build.failures > 0
            aborted, key = build.abortRequestedAt is not None, build.idempotencyKey
            parts = refused = None
            if not (aborted and not seen_before):
                # Checked here too, whatever path left the build requested: an ended release or an unusable pipeline
                # gets no build (a plain read, see start_refusal).
                refused = builds.start_refusal(s, build)
            if not (aborted and not seen_before) and (refused is None or seen_before):
                try:
                    parts = self._parts(s, build)
                except CLIENT_ERRORS as exc:
                    parts = exc
        # The claim restates what was read: still requested, aborted or not, and "never tried" (if another
        # worker tried meanwhile, look before triggering). It alone takes the write lock: SQLite has one writer.
        untried = () if seen_before else (PipelineBuild.claimedBy.is_(None), PipelineBuild.failures == 0)
        abort = PipelineBuild.abortRequestedAt.is_not(None) if aborted else PipelineBuild.abortRequestedAt.is_(None)
        with self.ctx.runtime.unit_of_work() as s:
            if not builds.claim(s, PipelineBuild, build_id, PipelineBuild.state == BuildState.REQUESTED, abort, *untried,
                                worker=self.ctx.worker, lease=self.ctx.lease):
                return
        if refused is not None:
            log.info("build %s: not started: %s", build_id, refused)
        if refused is not None and not seen_before:  # no runner touched it: the CI never had it
            outcome = dict(state=BuildState.CANCELLED, error=refused)
        elif parts is None:  # aborted before any runner touched it: the CI never had it
            outcome = dict(state=BuildState.CANCELLED, error=None)
        elif isinstance(parts, Exception):
            outcome = unbuildable(self.ctx, build_id, parts, starting=True)
        else:  # one tried before may be on the CI already: a refused one is looked for, as if aborted, never triggered
            outcome = self._start(build_id, key, seen_before, aborted or refused is not None, *parts)
            if refused is not None and outcome["state"] == BuildState.CANCELLED:
                outcome["error"] = refused
            elif refused is not None and outcome["state"] == BuildState.RUNNING:  # the CI has it: stopped there too
                self._abort(build_id)
        record(self.ctx, build_id, **outcome)

    def _abort(self, build_id: str) -> None:
        # As an abort click does: the outcome's record then makes it due at once, and following it stops it on the CI.
        with self.ctx.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id, with_for_update=True, populate_existing=True)
            build.abortRequestedAt = build.abortRequestedAt or utcnow()

    def _parts(self, s, build: PipelineBuild):
        ci = ci_client(self.ctx, s, build)
        release, scm_row = s.execute(select(Release, ScmIntegration)
                                     .join(ReleasePipeline, ReleasePipeline.releaseId == Release.id)
                                     .join(ScmIntegration, ScmIntegration.id == Release.scmIntegrationId)
                                     .where(ReleasePipeline.id == build.releasePipelineId)).one()
        scm = self.ctx.clients.get(IntegrationKind.SCM, config_of(s, IntegrationKind.SCM, scm_row, self.ctx.runtime.cipher))
        params = {"RELEASE_VERSION": release.version, "BRANCH": release.branchRelease}
        return ci, scm, params, release.baseBranch

    def _start(self, build_id: str, key: str, seen_before: bool, aborted: bool, client, scm, params, base) -> dict:
        try:
            ref = client.find(key) if seen_before else None
            if ref is None and aborted:  # the CI never got it: nothing to stop
                return dict(state=BuildState.CANCELLED, error=None)
            if ref is None:
                ensure_branch(scm, params["BRANCH"], base)  # the release branch is cut from the base branch at the first build
                ref = client.trigger(params=params, idempotency_key=key)
            return dict(state=BuildState.RUNNING, queue_id=ref.queue_id, build_number=ref.build_number, url=ref.url,
                        next_check=utcnow() + timedelta(seconds=self.ctx.interval))
        except AddressRefusedError as exc:  # the host now resolves somewhere refused: settings, not a passing failure
            return unbuildable(self.ctx, build_id, exc, starting=True)
        except (IntegrationError, ConfigurationError) as exc:
            return self._failed(build_id, exc)

    def _failed(self, build_id: str, exc: Exception) -> dict:
        with self.ctx.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            build.failures += 1
            if getattr(exc, "retryable", False) and build.failures < self.ctx.max_failures:
                log.info("build %s: CI not reachable (%s), will retry", build_id, exc)
                return dict(state=BuildState.REQUESTED, error=str(exc),
                            next_check=retry_at(self.ctx.interval * build.failures, exc))
            if build.abortRequestedAt is not None:
                return dict(state=BuildState.CANCELLED, error=f"aborted; the CI could not be asked to stop it: {exc}")
        return dict(state=BuildState.FAILED, error=f"could not start the build: {exc}")
