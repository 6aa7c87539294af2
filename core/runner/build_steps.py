"""What starting and following a build share: the CI client of a build, recording what happened,
and the answer to a pipeline whose stored settings give no usable client."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select

from core.clock import utcnow
from core.db import per_thread
from core.enums import BuildState, IntegrationKind
from core.errors import ReleasebotError
from core.integrations.base import BuildRef
from core.models import PipelineBuild, PipelineIntegration, ReleasePipeline, ScmIntegration
from core.runner.context import RunnerContext
from core.services import builds, wakes
from core.services.verification import config_of

log = logging.getLogger("releasebot.runner")

# What building a CI client from stored settings can raise: a key that decrypts nothing, an address
# the guard refuses, a host that does not resolve, a port out of range.
CLIENT_ERRORS = (ReleasebotError, ValueError, KeyError)


def due_builds(ctx: RunnerContext, state: BuildState, limit: int = 100) -> list[str]:
    """Builds in `state` due a look (past any backoff) and not claimed by another worker."""
    now = utcnow()
    with ctx.runtime.reading() as s:
        return list(s.scalars(select(PipelineBuild.id).where(
            PipelineBuild.state == state, PipelineBuild.nextCheckAt <= now,
            or_(PipelineBuild.claimedUntil.is_(None), PipelineBuild.claimedUntil < now))
            .order_by(PipelineBuild.nextCheckAt).limit(limit)))


def ref_of(build: PipelineBuild) -> BuildRef:
    return BuildRef(queue_id=build.queueId, build_number=build.buildNumber, url=build.buildUrl)


def retry_at(backoff: float, exc: Exception):
    """When to try a failed CI call again: after the backoff, or when a rate limit says, if later."""
    return utcnow() + timedelta(seconds=max(backoff, getattr(exc, "retry_after", None) or 0))


# Built once per thread (see `per_thread`): building a statement cost more CPU than running it.
_CLIENT_ROWS = per_thread(lambda: select(ReleasePipeline, PipelineIntegration, ScmIntegration)
                          .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
                          .outerjoin(ScmIntegration, ScmIntegration.id == PipelineIntegration.scmIntegrationId)
                          .where(ReleasePipeline.id == bindparam("release_pipeline_id")))
_BUILD_ROWS = per_thread(lambda: select(PipelineBuild, ReleasePipeline, PipelineIntegration)
                         .join(ReleasePipeline, ReleasePipeline.id == PipelineBuild.releasePipelineId)
                         .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
                         .where(PipelineBuild.id == bindparam("build_id")))
_LOCK_BUILD = per_thread(lambda: select(PipelineBuild.id).where(PipelineBuild.id == bindparam("build_id")).with_for_update())


def ci_client(ctx: RunnerContext, session, build: PipelineBuild):
    """The CI client of a build's pipeline (raises one of CLIENT_ERRORS when it cannot be built)."""
    # One statement for the rows the client is made of (config_of then finds the SCM in the session: held here,
    # as the session holds unchanged rows only weakly).
    _rp, pipeline, _scm = session.execute(_CLIENT_ROWS(), {"release_pipeline_id": build.releasePipelineId}).one()
    return ctx.clients.get(IntegrationKind.PIPELINE, config_of(session, IntegrationKind.PIPELINE, pipeline, ctx.runtime.cipher))


def record(ctx: RunnerContext, build_id: str, *, looked_at: datetime | None = None, **outcome) -> None:
    """Store an outcome, let go of the claim, and come back at once when an abort is waiting or the build was
    woken (its nextCheckAt moved from `looked_at`, what the runner read before calling the CI: a webhook, an abort)."""
    with ctx.runtime.unit_of_work() as s:
        # Locked first: an abort or a webhook committed between these reads and the write below would be overwritten
        # by the outcome's next check (on MySQL; on SQLite the one writer already excludes it).
        s.execute(_LOCK_BUILD(), {"build_id": build_id}).scalar_one()
        # The build with the rows its record updates, in one statement; held here, as the session holds
        # unchanged rows only weakly (dropped, they would be read again).
        build, _rp, _pipeline = s.execute(_BUILD_ROWS(), {"build_id": build_id}).one()
        if outcome["state"] == BuildState.RUNNING and build.abortRequestedAt is not None:
            outcome["next_check"] = utcnow()  # aborted while the CI was being called: stop it now
        elif outcome["state"] == BuildState.RUNNING and (again := wakes.woken(looked_at, build.nextCheckAt)) is not None:
            outcome["next_check"] = again  # woken while the CI was being called: look again now
        if outcome["state"] == BuildState.RUNNING and outcome.get("error") is None:
            build.failures = 0
        if build.claimedBy == ctx.worker:  # let go of the claim in the same UPDATE as the outcome
            build.claimedUntil = None
        builds.record_progress(s, build, **outcome)
    if outcome["state"] == BuildState.RUNNING and outcome.get("next_check") and outcome["next_check"] <= utcnow():
        ctx.wake()


def unbuildable(ctx: RunnerContext, build_id: str, exc: Exception, *, starting: bool) -> dict:
    """The pipeline's stored settings give no usable client: a failed attempt, retried like any
    other and ending FAILED (or LOST while following). Members read what to do; the detail, which
    may name settings or addresses, goes to the admins' view and the log."""
    with ctx.runtime.unit_of_work() as s:
        build = s.get(PipelineBuild, build_id)
        rp = s.get(ReleasePipeline, build.releasePipelineId)
        name = s.get(PipelineIntegration, rp.pipelineIntegrationId).displayName
        build.failures += 1
        failures, aborted = build.failures, build.abortRequestedAt is not None
    detail = str(exc) if isinstance(exc, ReleasebotError) else f"{type(exc).__name__}: {exc}"
    log.warning("build %s: cannot build the client of pipeline %s (%s/%s): %s", build_id, name, failures,
                ctx.max_failures, detail)
    advice = f"{name} cannot be reached with its current settings: ask an admin to re-verify {name}"
    if failures < ctx.max_failures and not aborted:
        state = BuildState.REQUESTED if starting else BuildState.RUNNING
        return dict(state=state, error=f"{advice} (attempt {failures} of {ctx.max_failures})", error_detail=detail,
                    next_check=utcnow() + timedelta(seconds=ctx.interval * failures))
    ended = BuildState.CANCELLED if aborted else (BuildState.FAILED if starting else BuildState.LOST)
    return dict(state=ended, error=advice, error_detail=detail)
