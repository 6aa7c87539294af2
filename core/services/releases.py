"""Releases: create one the way the seed specifies (only stricter, with the rules of
core.services.release_rules), read them back, delete them."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import and_, bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased

from core.db import per_thread
from core.enums import (
    ENDED_RELEASE_STATUSES,
    BuildStatus,
    CommunicationType,
    ReleaseStatus,
    ReleaseType,
    Role,
    TargetStatus,
)
from core.errors import ConflictError, NotFoundError, Problem, ValidationError
from core.models import (
    Account,
    CommunicationIntegration,
    PipelineBuild,
    PipelineIntegration,
    Release,
    ReleasePipeline,
    ReleaseTarget,
    RequestKey,
    ScmIntegration,
    TargetIntegration,
    TicketIntegration,
    new_id,
)
from core.services.cards import mark_stale
from core.services.history import record_event
from core.services.home_views import owe_homes
from core.services.integrations import utcnow
from core.services.release_rules import (
    as_datetime,
    check_optional,
    check_people,
    check_pipelines,
    check_plain_fields,
    check_scm,
    check_targets,
    conflict_message,
    load_references,
    normalize_version,
    release_key,
    shown,
)
from core.services.tenants import require_role

CREATE_SCOPE = "release.create"
CREATED_ACTION = "created"  # the history line of a new email release (a Slack release has its card instead)


@dataclass(frozen=True)
class ReleaseDraft:
    """What a person asks for when creating a release (ids as strings, dates optional)."""

    version: str
    scm_integration_id: str
    target_ids: tuple[str, ...]
    release_type: str = ReleaseType.PLANNED.value
    base_branch: str | None = None
    pipeline_ids: tuple[str, ...] = ()
    communication_integration_id: str | None = None
    ticket_integration_id: str | None = None
    release_pilot_id: str | None = None
    planned_date: datetime | date | None = None
    target_release_date: datetime | date | None = None
    description: str | None = None


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


# --- create --------------------------------------------------------------------------------


def create_release(session: Session, *, tenant_id: str, actor_account_id: str, draft: ReleaseDraft,
                   request_key: str | None = None) -> ReleaseView:
    """Validate every reference of `draft` for this tenant and write the release with its targets
    (PENDING) and pipelines (PENDING) in the caller's transaction.

    A `request_key` (e.g. a Slack modal's view id) makes a repeated request return the release the
    first one created instead of creating another."""
    version = normalize_version(draft.version or "")
    if version:  # a typed "v1.5.0" is release 1.5.0 (key v1.5.0, branch release/1.5.0)
        draft = replace(draft, version=version)
    target_ids = tuple(dict.fromkeys(t for t in draft.target_ids if t))  # duplicates collapse, order kept
    pipeline_ids = tuple(dict.fromkeys(p for p in draft.pipeline_ids if p))
    # One statement reads every reference (and an earlier request's release); the rules run on its rows.
    refs = load_references(session, tenant_id, actor_id=actor_account_id, draft=draft, target_ids=target_ids,
                           pipeline_ids=pipeline_ids, version=version,
                           request=(CREATE_SCOPE, request_key) if request_key else None)
    if refs.earlier_request:
        return get_release(session, tenant_id=tenant_id, release_id=refs.earlier_request)
    problems: list[Problem] = []
    check_plain_fields(draft, problems)
    actor = check_people(refs, actor_account_id, draft.release_pilot_id, problems)
    scm = check_scm(refs, draft, problems)
    targets = check_targets(refs, target_ids, problems)
    pipelines = check_pipelines(refs, draft, pipeline_ids, target_ids, problems)
    comm, ticket = check_optional(refs, draft, problems)
    key = release_key(refs, draft.version, problems) if version else ""
    if problems:
        conflict = any(p.field == "version" and "live release" in p.message for p in problems)
        raise (ConflictError if conflict and len(problems) == 1 else ValidationError)(problems)
    assert scm is not None
    release_id = new_id()
    values = dict(
        id=release_id, tenantId=tenant_id, releaseKey=key, version=draft.version,
        releaseType=ReleaseType(draft.release_type), status=ReleaseStatus.KICKOFF_PENDING,
        scmIntegrationId=scm.id, baseBranch=draft.base_branch or scm.c,
        branchRelease=f"release/{draft.version}", primaryTargetId=targets[0].id,
        communicationIntegrationId=draft.communication_integration_id or None,
        ticketIntegrationId=draft.ticket_integration_id or None, description=draft.description or None,
        plannedDate=as_datetime(draft.planned_date), targetReleaseDate=as_datetime(draft.target_release_date),
        releasePilotId=draft.release_pilot_id or None, createdByAccountId=actor.id,
        createdAt=utcnow(),  # set here (naive UTC, as the column holds) so the view needs no read back
    )
    target_rows = [dict(id=new_id(), releaseId=release_id, targetIntegrationId=t, targetStatus=TargetStatus.PENDING)
                   for t in target_ids]
    pipeline_rows = [dict(id=new_id(), releaseId=release_id, pipelineIntegrationId=p, buildStatus=BuildStatus.PENDING)
                     for p in pipeline_ids]
    try:  # multi-row INSERTs: one statement per table, whatever the number of targets and pipelines
        session.execute(insert(Release).values(**values))
        session.execute(insert(ReleaseTarget).values(target_rows))
        if pipeline_rows:
            session.execute(insert(ReleasePipeline).values(pipeline_rows))
        if request_key:
            session.execute(insert(RequestKey).values(id=new_id(), tenantId=tenant_id, scope=CREATE_SCOPE,
                                                      requestKey=request_key, resultId=release_id))
    except (IntegrityError, OperationalError) as exc:
        # Two requests raced for the same version: the unique (tenantId, releaseKey) key let one win.
        if _is_race(exc):
            raise ConflictError([Problem("version", conflict_message(draft.version, key))]) from None
        raise
    # The view is what was just written and validated: no read back (get_release would give the same).
    view = ReleaseView(
        id=release_id, tenantId=tenant_id, releaseKey=key, version=draft.version,
        releaseType=values["releaseType"], status=values["status"], baseBranch=values["baseBranch"],
        branchRelease=values["branchRelease"], description=values["description"], plannedDate=values["plannedDate"],
        targetReleaseDate=values["targetReleaseDate"], createdAt=values["createdAt"],
        scm=Ref(scm.id, scm.name, scm.type), repository=f"{scm.a}/{scm.b}", createdBy=Ref(actor.id, actor.name),
        pilot=Ref(draft.release_pilot_id, refs.people[draft.release_pilot_id].name) if draft.release_pilot_id else None,
        communication=Ref(comm.id, comm.name, comm.type) if comm else None, channelId=comm.a if comm else None,
        ticket=Ref(ticket.id, ticket.name, ticket.type) if ticket else None,
        targets=tuple(TargetView(row["id"], Ref(t.id, t.name, t.type), t.a, TargetStatus.PENDING, None)
                      for row, t in sorted(zip(target_rows, targets, strict=True), key=lambda rt: (rt[1].name, rt[0]["id"]))),
        pipelines=tuple(PipelineView(row["id"], Ref(p.id, p.name, p.type), p.b, BuildStatus.PENDING, False, None, None, None)
                        for row, p in sorted(zip(pipeline_rows, pipelines, strict=True), key=lambda rp: (rp[1].name, rp[0]["id"]))),
        ticketBaseUrl=ticket.a if ticket else None,
    )
    if comm and comm.type == CommunicationType.EMAIL.value:
        # Email readers see no card: a "created" line is owed to them, in this transaction (once: repeats returned above).
        record_event(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor.id, action=CREATED_ACTION)
        owe_homes(session, tenant_id=tenant_id)  # a release with a card owes the Homes when its card is owed (cards.owe_card)
    return view


def created_by_request(session: Session, *, tenant_id: str, request_key: str) -> str | None:
    """The id of the release an earlier request with this key created, if any."""
    return session.scalar(select(RequestKey.resultId).where(
        RequestKey.tenantId == tenant_id, RequestKey.scope == CREATE_SCOPE, RequestKey.requestKey == request_key))


def _is_race(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc))
    return "unique_tenant_release_key" in text or "UNIQUE constraint failed: releases" in text \
        or "Deadlock found" in text or "Lock wait timeout" in text


# --- read ----------------------------------------------------------------------------------


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
