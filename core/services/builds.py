"""Builds of a release's pipelines: the recorded intent, the CI's handle on it, its end.

Everything here is database work with conditional updates, so concurrent clicks, Slack retries and
several bot processes agree on one build per intent. The CI calls themselves live in core.runner.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import (
    ENDED_RELEASE_STATUSES,
    TERMINAL_BUILD_STATES,
    BuildState,
    BuildStatus,
    NotificationState,
    Role,
    TargetStatus,
    VerificationStatus,
)
from core.errors import NotFoundError, PermissionDeniedError, ReleasebotError
from core.lifecycle import BUILDS_ALLOWED, build_refusal
from core.models import (
    Account,
    Notification,
    PipelineBuild,
    PipelineIntegration,
    Release,
    ReleasePipeline,
    ReleaseTarget,
    RequestKey,
    new_id,
)
from core.services import wakes
from core.services.cards import mark_stale
from core.services.history import record_event

BUILD_SCOPE = "build.request"
SUMMARY_STATUS = {
    BuildState.REQUESTED: BuildStatus.RUNNING, BuildState.RUNNING: BuildStatus.RUNNING,
    BuildState.SUCCESS: BuildStatus.SUCCESS, BuildState.FAILED: BuildStatus.FAILED,
    BuildState.CANCELLED: BuildStatus.CANCELLED, BuildState.LOST: BuildStatus.FAILED,
}


class BuildRefusedError(ReleasebotError):
    """A build cannot be started or stopped now; the message says why."""


@dataclass(frozen=True)
class BuildIntent:
    """The outcome of a click: a new build was recorded, or one is already under way."""

    build_id: str
    release_id: str
    started: bool
    triggered_by: str | None = None


def _release_pipeline(session: Session, tenant_id: str, release_pipeline_id: str):
    row = session.execute(
        select(ReleasePipeline, Release, PipelineIntegration)
        .join(Release, Release.id == ReleasePipeline.releaseId)
        .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
        .where(ReleasePipeline.id == release_pipeline_id, Release.tenantId == tenant_id)
    ).first()
    if row is None:  # another workspace's button value is as unknown as a made-up one
        raise NotFoundError("this build button belongs to no release of this workspace")
    return row


def latest_build(session: Session, release_pipeline_id: str) -> PipelineBuild | None:
    """The newest attempt of a release pipeline."""
    return session.scalar(select(PipelineBuild).where(PipelineBuild.releasePipelineId == release_pipeline_id)
                          .order_by(PipelineBuild.attempt.desc()).limit(1))


def request_build(session: Session, *, tenant_id: str, account_id: str, release_pipeline_id: str,
                  request_key: str | None = None) -> BuildIntent:
    """Record the intent to build (once, however many clicks race), before any CI is called.

    A pipeline that never ran, or whose last build ended, gets a new attempt; one that is running
    keeps it, and the caller is told who started it. A repeated `request_key` (a Slack retry of the
    same click) finds the build the first delivery recorded."""
    rp, release, pipeline = _release_pipeline(session, tenant_id, release_pipeline_id)
    if request_key:
        done = session.scalar(select(RequestKey.resultId).where(
            RequestKey.tenantId == tenant_id, RequestKey.scope == BUILD_SCOPE, RequestKey.requestKey == request_key))
        if done:
            return BuildIntent(done, release.id, started=False)
    # The release's row first, locked and read as committed: a cancel committed since this click's first read refuses
    # it (on MySQL the plain read above is a snapshot), and one waiting for this lock sees the build it stops.
    status = session.scalar(select(Release.status).where(Release.id == release.id).with_for_update())
    if status not in BUILDS_ALLOWED:
        raise BuildRefusedError(build_refusal(release.releaseKey, status))
    if not pipeline.isActive or pipeline.verificationStatus != VerificationStatus.VALID:
        raise BuildRefusedError(pipeline_refusal(pipeline.displayName))
    now = utcnow()
    claimed = session.execute(
        update(ReleasePipeline)
        .where(ReleasePipeline.id == rp.id, or_(ReleasePipeline.buildStatus.is_(None),
                                                ReleasePipeline.buildStatus != BuildStatus.RUNNING))
        .values(triggered=True, triggeredAt=now, buildStatus=BuildStatus.RUNNING, buildUrl=None, buildNumber=None,
                artifactUrl=None, buildLogUrl=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        current = latest_build(session, rp.id)
        who = session.scalar(select(Account.displayName).where(Account.id == current.triggeredByAccountId)) if current else None
        return BuildIntent(current.id if current else "", release.id, started=False, triggered_by=who)
    attempt = (session.scalar(select(func.max(PipelineBuild.attempt)).where(PipelineBuild.releasePipelineId == rp.id)) or 0) + 1
    build = PipelineBuild(id=new_id(), tenantId=tenant_id, releasePipelineId=rp.id, attempt=attempt,
                          idempotencyKey=f"rb-{uuid.uuid4().hex}", triggeredByAccountId=account_id,
                          state=BuildState.REQUESTED, requestedAt=now, nextCheckAt=now)
    session.add(build)
    session.execute(update(ReleaseTarget).where(
        ReleaseTarget.releaseId == release.id, ReleaseTarget.targetIntegrationId == pipeline.targetIntegrationId)
        .values(targetStatus=TargetStatus.BUILDING).execution_options(synchronize_session=False))
    owe(session, build, release.id, "TRIGGERED")
    record_event(session, tenant_id=tenant_id, release_id=release.id, actor_account_id=account_id,
                 action="build-retried" if attempt > 1 else "build-triggered", to_value=BuildState.REQUESTED,
                 detail=f"{pipeline.displayName}, attempt {attempt}")
    mark_stale(session, release_id=release.id)  # the button gives way to the status
    if request_key:
        session.add(RequestKey(tenantId=tenant_id, scope=BUILD_SCOPE, requestKey=request_key, resultId=build.id))
    session.flush()
    return BuildIntent(build.id, release.id, started=True)


def pipeline_refusal(name: str) -> str:
    """Why no build may start on a disabled, unverified or removed pipeline."""
    return f"pipeline “{name}” is disabled or not verified: ask an admin"


def start_refusal(session: Session, build: PipelineBuild) -> str | None:
    """Why a requested build may no longer start (its release ended, its pipeline no longer usable), else None.

    A plain read, no lock (a lock here would come after the build's, out of the release-first order): an ended
    status is final, and a cancel committed after this read stops the build itself."""
    key, status, name, active, verification, removed = session.execute(
        select(Release.releaseKey, Release.status, PipelineIntegration.displayName, PipelineIntegration.isActive,
               PipelineIntegration.verificationStatus, PipelineIntegration.removedAt)
        .join(ReleasePipeline, ReleasePipeline.releaseId == Release.id)
        .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
        .where(ReleasePipeline.id == build.releasePipelineId)).one()
    if status in ENDED_RELEASE_STATUSES:
        return build_refusal(key, status)
    if removed is not None or not active or verification != VerificationStatus.VALID:
        return pipeline_refusal(name)
    return None


def owe(session: Session, build: PipelineBuild, release_id: str, kind: str) -> None:
    """Record a notification owed for this build (at most one of each kind)."""
    session.add(Notification(id=new_id(), tenantId=build.tenantId, releaseId=release_id, buildId=build.id, kind=kind,
                             dedupeKey=f"{build.id}:{kind}", state=NotificationState.PENDING, nextAttemptAt=utcnow()))


def claim(session: Session, model, row_id: str, *conditions, worker: str, lease: timedelta) -> bool:
    """Take a row for `lease` unless another worker holds it: a conditional update, so exactly one wins.

    `conditions` restate what the caller read (e.g. the state is still PENDING): a row read from an
    older snapshot may have been finished and released by another worker since."""
    now = utcnow()
    return session.execute(
        update(model).where(_key(model) == row_id, or_(model.claimedUntil.is_(None), model.claimedUntil < now), *conditions)
        .values(claimedBy=worker, claimedUntil=now + lease).execution_options(synchronize_session=False)
    ).rowcount == 1


def claim_each(session: Session, model, row_ids: list[str], *conditions, worker: str, lease: timedelta,
               values: dict | None = None) -> list[str]:
    """`claim` for several rows in two statements: the claimable ones read with a lock (on MySQL, a worker claiming
    the same rows waits, then reads them taken; SQLite has one writer), then taken in one update (which also sets
    `values`). Returns the ids taken, in the order asked."""
    if not row_ids:
        return []
    now, key = utcnow(), _key(model)
    taken = set(session.scalars(select(key).where(
        key.in_(row_ids), or_(model.claimedUntil.is_(None), model.claimedUntil < now), *conditions).with_for_update()))
    if taken:
        session.execute(update(model).where(key.in_(taken)).values(claimedBy=worker, claimedUntil=now + lease, **(values or {}))
                        .execution_options(synchronize_session=False))
    return [row_id for row_id in row_ids if row_id in taken]


def _key(model):
    return model.__mapper__.primary_key[0]


def release_claim(session: Session, model, row_id: str, *, worker: str) -> None:
    """Let go of a claimed row (another worker may take it at once)."""
    session.execute(update(model).where(_key(model) == row_id, model.claimedBy == worker)
                    .values(claimedUntil=None).execution_options(synchronize_session=False))


def record_progress(session: Session, build: PipelineBuild, *, state: BuildState, queue_id: str | None = None,
                    build_number: str | None = None, url: str | None = None, log_url: str | None = None,
                    artifact_url: str | None = None, duration: float | None = None, error: str | None = None,
                    error_detail: str | None = None, next_check: datetime | None = None) -> bool:
    """Store what the CI said; returns True when the build has just ended (and owes its notification).
    A change the card shows owes the card a redraw."""
    ended_now = state in TERMINAL_BUILD_STATES and build.state not in TERMINAL_BUILD_STATES
    visible = (build.state, build.error, build.buildNumber, build.buildUrl) != (
        state, error, build_number or build.buildNumber, url or build.buildUrl)
    build.state = state
    build.queueId = queue_id or build.queueId
    build.buildNumber = build_number or build.buildNumber
    build.buildUrl = url or build.buildUrl
    build.buildLogUrl = log_url or build.buildLogUrl
    build.artifactUrl = artifact_url or build.artifactUrl
    build.durationSeconds = int(duration) if duration is not None else build.durationSeconds
    build.error, build.errorDetail = error, error_detail
    build.nextCheckAt = None if state in TERMINAL_BUILD_STATES else next_check
    if ended_now:
        build.finishedAt = utcnow()
    release_id = _summarise(session, build)
    if ended_now:
        owe(session, build, release_id, "FINISHED")
    if visible:
        mark_stale(session, release_id=release_id)
    session.flush()
    return ended_now


def _summarise(session: Session, build: PipelineBuild) -> str:
    """Mirror the latest attempt onto the seed's release_pipelines row and the target's row; returns the release's id."""
    rp = session.get(ReleasePipeline, build.releasePipelineId)
    rp.buildStatus = SUMMARY_STATUS[build.state]
    rp.buildUrl, rp.buildNumber = build.buildUrl, build.buildNumber
    rp.buildLogUrl, rp.artifactUrl = build.buildLogUrl, build.artifactUrl
    if build.state in TERMINAL_BUILD_STATES:
        target_id = session.get(PipelineIntegration, rp.pipelineIntegrationId).targetIntegrationId
        values = {"targetStatus": TargetStatus.PENDING}
        if build.state == BuildState.SUCCESS:
            values["buildNumber"] = build.buildNumber
        session.execute(update(ReleaseTarget).where(
            ReleaseTarget.releaseId == rp.releaseId, ReleaseTarget.targetIntegrationId == target_id,
            ReleaseTarget.targetStatus == TargetStatus.BUILDING).values(**values).execution_options(synchronize_session=False))
    return rp.releaseId


def request_abort(session: Session, *, tenant_id: str, release_pipeline_id: str, actor_account_id: str) -> str:
    """Record the intent to abort the latest build of a release pipeline of this tenant (whoever
    started it, or an admin, may). The runner stops it on the CI; a build the CI never received is
    cancelled here at once. Returns the build id; a repeated click changes nothing twice."""
    rp, _, _ = _release_pipeline(session, tenant_id, release_pipeline_id)
    build = latest_build(session, rp.id)
    if build is None or build.state in TERMINAL_BUILD_STATES:
        raise BuildRefusedError("this pipeline has no running build to abort")
    actor = session.scalar(select(Account).where(Account.id == actor_account_id, Account.tenantId == tenant_id))
    if actor is None or (build.triggeredByAccountId != actor.id and actor.role != Role.ADMIN):
        raise PermissionDeniedError("only the person who started this build, or an admin, can abort it")
    if not stop_build(session, build, actor_account_id=actor.id, release_id=rp.releaseId):
        raise BuildRefusedError("this pipeline has no running build to abort")
    return build.id


def stop_build(session: Session, build: PipelineBuild, *, actor_account_id: str, release_id: str) -> bool:
    """Stop a live build: one no runner has touched is cancelled at once (the CI cannot have it); any
    other is marked for the runner to stop on the CI. Asking twice records it once. False: it ended meanwhile."""
    now = utcnow()
    # Untouched by any runner: the CI cannot have it, so cancelling the intent is the whole abort.
    untouched = session.execute(
        update(PipelineBuild).where(PipelineBuild.id == build.id, PipelineBuild.state == BuildState.REQUESTED,
                                    PipelineBuild.claimedBy.is_(None), PipelineBuild.failures == 0)
        .values(abortRequestedAt=now, abortedByAccountId=actor_account_id).execution_options(synchronize_session=False)
    ).rowcount == 1
    # Read as committed, and locked (the UPDATE above took the row): on MySQL a plain read gives the transaction's
    # first snapshot, where a build the runner has ended since is still running, and its nextCheckAt the one before.
    session.refresh(build, with_for_update=True)
    if build.state in TERMINAL_BUILD_STATES and not untouched:
        return False
    if untouched or build.abortRequestedAt is None:
        name = session.scalar(select(PipelineIntegration.displayName).join(
            ReleasePipeline, ReleasePipeline.pipelineIntegrationId == PipelineIntegration.id).where(ReleasePipeline.id == build.releasePipelineId))
        record_event(session, tenant_id=build.tenantId, release_id=release_id, actor_account_id=actor_account_id,
                     action="build-aborted", from_value=build.state, to_value=BuildState.CANCELLED,
                     detail=f"{name}, attempt {build.attempt}" + ("" if untouched else ": the runner stops it on the CI"))
    if untouched:
        record_progress(session, build, state=BuildState.CANCELLED)
        return True
    if build.abortRequestedAt is None:
        build.abortRequestedAt, build.abortedByAccountId = now, actor_account_id
    build.nextCheckAt = wakes.wake(build.nextCheckAt)  # ahead of the builds merely due a poll
    session.flush()
    mark_stale(session, release_id=release_id)
    return True
