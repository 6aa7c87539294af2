"""Creating a release the way the seed specifies, only stricter (the rules of core.services.release_rules):
every reference checked in one statement, every problem reported at once, and the release, its targets and
pipelines written with one multi-row INSERT per table, whatever their number."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import BuildStatus, CommunicationType, ReleaseStatus, ReleaseType, TargetStatus
from core.errors import ConflictError, Problem, ValidationError
from core.models import Release, ReleasePipeline, ReleaseTarget, RequestKey, new_id
from core.services.history import record_event
from core.services.home_views import owe_homes
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
)
from core.services.releases import PipelineView, Ref, ReleaseView, TargetView, get_release

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
