"""Releases read back: one with its SCM, targets and pipelines (the view the card and the CLI show), found by
id, version or key, and the tenant's latest listed; and the blunt writes, deleting one and forcing its status.
Creating one: core.services.release_creation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.orm import Session, aliased

from core.db import per_thread
from core.enums import (
    ENDED_RELEASE_STATUSES,
    BuildStatus,
    ReleaseStatus,
    ReleaseType,
    Role,
    TargetStatus,
)
from core.errors import NotFoundError
from core.models import (
    Account,
    CommunicationIntegration,
    PipelineBuild,
    PipelineIntegration,
    Release,
    ReleasePipeline,
    ReleaseTarget,
    ScmIntegration,
    TargetIntegration,
    TicketIntegration,
)
from core.services.cards import mark_stale
from core.services.release_rules import normalize_version, shown
from core.services.tenants import require_role


@dataclass(frozen=True)
class Ref:
    """A named thing a release points at."""

    id: str
    name: str
    type: str | None = None


@dataclass(frozen=True)
class TargetView:
    id: str
    integration: Ref
    appIdentifier: str
    status: TargetStatus
    buildNumber: str | None


@dataclass(frozen=True)
class PipelineView:
    id: str
    integration: Ref
    targetIntegrationId: str
    buildStatus: BuildStatus
    triggered: bool
    triggeredAt: datetime | None
    buildUrl: str | None
    buildNumber: str | None
    triggeredBy: str | None = None  # who started the latest build
    problem: str | None = None      # why the latest build failed to start, could not be followed, or is retrying
    problemDetail: str | None = None  # the operator detail behind `problem` (settings, addresses): never on the card


@dataclass(frozen=True)
class ReleaseView:
    """A release with its SCM, targets and pipelines, as the card and the CLI show it."""

    id: str
    tenantId: str
    releaseKey: str
    version: str
    releaseType: ReleaseType
    status: ReleaseStatus
    baseBranch: str
    branchRelease: str
    description: str | None
    plannedDate: datetime | None
    targetReleaseDate: datetime | None
    createdAt: datetime | None
    scm: Ref
    repository: str
    createdBy: Ref
    pilot: Ref | None
    communication: Ref | None
    channelId: str | None
    ticket: Ref | None
    targets: tuple[TargetView, ...] = field(default=())
    pipelines: tuple[PipelineView, ...] = field(default=())
    iOSEpicId: str | None = None  # the tracker's epics, as the seed's releases columns name them
    androidEpicId: str | None = None
    webEpicId: str | None = None
    ticketBaseUrl: str | None = None  # where the card links the epics (Jira's <base>/browse/<key>)


def _release_reads():
    """get_release's three statements, built once per thread (with their aliases: see `per_thread`); building
    them cost more CPU than running them."""
    pilot, creator, starter, earlier = aliased(Account), aliased(Account), aliased(Account), aliased(PipelineBuild)
    release = (select(Release, ScmIntegration, creator, pilot, CommunicationIntegration, TicketIntegration)
               .join(ScmIntegration, ScmIntegration.id == Release.scmIntegrationId)
               .join(creator, creator.id == Release.createdByAccountId)
               .outerjoin(pilot, pilot.id == Release.releasePilotId)
               .outerjoin(CommunicationIntegration, CommunicationIntegration.id == Release.communicationIntegrationId)
               .outerjoin(TicketIntegration, TicketIntegration.id == Release.ticketIntegrationId)
               .where(Release.id == bindparam("release_id"), Release.tenantId == bindparam("tenant_id")))
    targets = (select(ReleaseTarget, TargetIntegration)
               .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
               .where(ReleaseTarget.releaseId == bindparam("release_id"))
               .order_by(TargetIntegration.displayName, ReleaseTarget.id))
    # Each pipeline with its latest build attempt and who started it: still one statement.
    latest_attempt = select(func.max(earlier.attempt)).where(earlier.releasePipelineId == ReleasePipeline.id)
    pipelines = (select(ReleasePipeline, PipelineIntegration, PipelineBuild.error, starter.displayName, PipelineBuild.errorDetail)
                 .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
                 .outerjoin(PipelineBuild, and_(PipelineBuild.releasePipelineId == ReleasePipeline.id,
                                                PipelineBuild.attempt == latest_attempt.scalar_subquery()))
                 .outerjoin(starter, starter.id == PipelineBuild.triggeredByAccountId)
                 .where(ReleasePipeline.releaseId == bindparam("release_id"))
                 .order_by(PipelineIntegration.displayName, ReleasePipeline.id))
    return release, targets, pipelines


_RELEASE_READS = per_thread(_release_reads)


def get_release(session: Session, *, tenant_id: str, release_id: str) -> ReleaseView:
    """A release of the tenant with its SCM, targets and pipelines, in three statements."""
    by_id, targets_of, pipelines_of = _RELEASE_READS()
    row = session.execute(by_id, {"release_id": release_id, "tenant_id": tenant_id}).first()
    if row is None:
        raise NotFoundError(f"no release {release_id!r} in this workspace")
    release, scm, created_by, pilot_row, comm, ticket = row
    targets = session.execute(targets_of, {"release_id": release.id}).all()
    pipelines = session.execute(pipelines_of, {"release_id": release.id}).all()
    return ReleaseView(
        id=release.id, tenantId=release.tenantId, releaseKey=release.releaseKey, version=release.version,
        releaseType=release.releaseType, status=release.status, baseBranch=release.baseBranch,
        branchRelease=release.branchRelease, description=release.description, plannedDate=release.plannedDate,
        targetReleaseDate=release.targetReleaseDate, createdAt=release.createdAt,
        scm=Ref(scm.id, scm.displayName, str(scm.scmType)), repository=f"{scm.organization}/{scm.repository}",
        createdBy=Ref(created_by.id, created_by.displayName),
        pilot=Ref(pilot_row.id, pilot_row.displayName) if pilot_row else None,
        communication=Ref(comm.id, comm.displayName, str(comm.communicationType)) if comm else None,
        channelId=comm.channelId if comm else None,
        ticket=Ref(ticket.id, ticket.displayName, str(ticket.ticketType)) if ticket else None,
        targets=tuple(TargetView(rt.id, Ref(t.id, t.displayName, str(t.targetType)), t.appIdentifier,
                                 rt.targetStatus or TargetStatus.PENDING, rt.buildNumber) for rt, t in targets),
        pipelines=tuple(PipelineView(rp.id, Ref(p.id, p.displayName, str(p.pipelineType)), p.targetIntegrationId,
                                     rp.buildStatus or BuildStatus.PENDING, bool(rp.triggered), rp.triggeredAt,
                                     rp.buildUrl, rp.buildNumber, who, problem, detail)
                        for rp, p, problem, who, detail in pipelines),
        iOSEpicId=release.iOSEpicId, androidEpicId=release.androidEpicId, webEpicId=release.webEpicId,
        ticketBaseUrl=ticket.baseUrl if ticket else None,
    )


def find_release(session: Session, *, tenant_id: str, ref: str) -> ReleaseView:
    """A release of the tenant by id, version (`1.5.0` or `v1.5.0`: the live one, else the latest) or
    release key (`v1.5.0-2`)."""
    release_id = _release_id_by_version(session, tenant_id, ref) or session.scalar(select(Release.id).where(
        Release.tenantId == tenant_id, Release.id.in_([ref]) | Release.releaseKey.in_([ref, f"v{ref}"])))
    if release_id is None:
        raise NotFoundError(f"no release {shown(ref)} in this workspace: see `releasebot release list`")
    return get_release(session, tenant_id=tenant_id, release_id=release_id)


def _release_id_by_version(session: Session, tenant_id: str, ref: str) -> str | None:
    version = normalize_version(ref)
    if version is None:
        return None
    rows = session.execute(select(Release.id, Release.status).where(
        Release.tenantId == tenant_id, Release.version == version)
        .order_by(Release.createdAt.desc(), func.length(Release.releaseKey).desc(), Release.releaseKey.desc())).all()
    live = [rid for rid, status in rows if status not in ENDED_RELEASE_STATUSES]
    return (live or [rid for rid, _ in rows] or [None])[0]


@dataclass(frozen=True)
class ReleaseSummary:
    id: str
    releaseKey: str
    version: str
    releaseType: ReleaseType
    status: ReleaseStatus
    branchRelease: str
    createdAt: datetime | None


def list_releases(session: Session, *, tenant_id: str, limit: int = 50) -> list[ReleaseSummary]:
    """The tenant's latest releases, newest first."""
    rows = session.execute(
        select(Release.id, Release.releaseKey, Release.version, Release.releaseType, Release.status,
               Release.branchRelease, Release.createdAt)
        .where(Release.tenantId == tenant_id).order_by(Release.createdAt.desc(), Release.releaseKey.desc()).limit(limit)
    ).all()
    return [ReleaseSummary(*row) for row in rows]


def delete_release(session: Session, *, tenant_id: str, release_id: str, actor: Account) -> None:
    """Delete a release (admins only); its targets and pipelines go with it (ON DELETE CASCADE)."""
    require_role(actor, Role.ADMIN)
    if actor.tenantId != tenant_id:
        raise NotFoundError(f"no release {release_id!r} in this workspace")
    result = session.execute(delete(Release).where(Release.id == release_id, Release.tenantId == tenant_id))
    if result.rowcount == 0:
        raise NotFoundError(f"no release {release_id!r} in this workspace")


def set_status(session: Session, *, tenant_id: str, release_id: str, status: ReleaseStatus) -> None:
    """Move a release to another status (e.g. CANCELLED, which frees its version)."""
    release = session.scalar(select(Release).where(Release.id == release_id, Release.tenantId == tenant_id))
    if release is None:
        raise NotFoundError(f"no release {release_id!r} in this workspace")
    release.status = status
    session.flush()
    mark_stale(session, release_id=release.id)
