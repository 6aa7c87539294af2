"""What a release must be: versions and branches mobile teams use, and every reference a draft names
checked for the tenant — set-based (one query per kind of reference, whatever the number of targets
and pipelines), every problem reported at once, tied to its field."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, String, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from core.enums import ENDED_RELEASE_STATUSES, ReleaseStatus, ReleaseType, VerificationStatus
from core.errors import NotFoundError, Problem
from core.models import (
    Account,
    CommunicationIntegration,
    PipelineIntegration,
    Release,
    RequestKey,
    ScmIntegration,
    TargetIntegration,
    TicketIntegration,
)

if TYPE_CHECKING:
    from core.services.release_creation import ReleaseDraft

# major.minor[.patch[.build]], then an optional pre-release and build (semver): 1.5, 1.5.0, 1.5.0-rc.1,
# 1.5.0+45. ASCII digits only ("\d" would take ١.٢.٣ or full-width digits), always matched in full
# (a "$" would let "1.5.0\n" through).
VERSION_RE = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9}){1,3}(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?",
                        re.ASCII)
VERSION_MAX_LENGTH = 64  # the create modal's version field allows as many characters
VERSION_HINT = "use numbers separated by dots, like 1.5, 1.5.0, 1.5.0-rc.1 or 1.5.0+45"
# git's ref rules (git check-ref-format), in printable ASCII: no space, ~ ^ : ? * [ \, "..", "//", "@{",
# no part starting with "." or ending with ".lock", not starting with "-" or "/", not ending with "." or "/".
BRANCH_RE = re.compile(r"(?!-)(?!/)(?!@$)(?!.*\.\.)(?!.*//)(?!.*@\{)(?!\.)(?!.*/\.)(?!.*\.lock(?:/|$))"
                       r"(?:(?![~^:?*\[\\])[!-~]){1,200}(?<![./])", re.ASCII)
BRANCH_HINT = "use letters, digits and . _ - / like main, develop or release/1.5 (no spaces, no ..)"
DESCRIPTION_LIMIT = 3000


def unusable(row, label: str, *, require_valid: bool = True) -> str | None:
    """Why an integration the tenant owns cannot be used now, or None."""
    if not row.isActive:
        return f"{label} “{row.displayName}” is disabled: an admin can enable it"
    if require_valid and row.verificationStatus == VerificationStatus.PENDING:
        return f"{label} “{row.displayName}” has not been verified yet: verify it first"
    if require_valid and row.verificationStatus == VerificationStatus.INVALID:
        reason = f" ({row.verificationError})" if row.verificationError else ""
        return f"{label} “{row.displayName}” failed verification{reason}: fix it and verify again"
    return None


def as_datetime(value: datetime | date | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def normalize_version(text: str) -> str | None:
    """The version `text` names (`v1.5.0` and `1.5.0` are the same release), or None when it is not one."""
    version = text[1:] if text[:1] in ("v", "V") else text
    return version if len(version) <= VERSION_MAX_LENGTH and VERSION_RE.fullmatch(version) else None


def shown(text: str, limit: int = 70) -> str:
    """`text` quoted for a one-line message: control characters escaped, long values cut."""
    quoted = json.dumps(text, ensure_ascii=False)[1:-1]
    return f"“{quoted[:limit]}…”" if len(quoted) > limit else f"“{quoted}”"


def version_problem(text: str | None) -> str | None:
    """Why `text` is not a version a release can have, with examples, or None."""
    if normalize_version(text or "") is not None:
        return None
    if len((text or "").removeprefix("v")) > VERSION_MAX_LENGTH:
        return f"the version is {len(text or '')} characters long: keep it to {VERSION_MAX_LENGTH}, {VERSION_HINT}"
    return f"{shown(text or '')} is not a version: {VERSION_HINT} (ASCII digits)"


def branch_problem(text: str) -> str | None:
    """Why `text` is not a branch name git accepts, with examples, or None."""
    return None if BRANCH_RE.fullmatch(text) else f"{shown(text)} is not a valid branch name: {BRANCH_HINT}"


def check_plain_fields(draft: ReleaseDraft, problems: list[Problem]) -> None:
    version = version_problem(draft.version)
    if version:
        problems.append(Problem("version", version))
    if draft.release_type not in ReleaseType.__members__:
        problems.append(Problem("releaseType", f"{shown(draft.release_type)} is not a release type: use PLANNED, HOTFIX or MAJOR"))
    branch = branch_problem(draft.base_branch) if draft.base_branch is not None else None
    if branch:
        problems.append(Problem("baseBranch", branch))
    if not draft.target_ids:
        problems.append(Problem("targets", "pick at least one store target"))
    planned, target = as_datetime(draft.planned_date), as_datetime(draft.target_release_date)
    if planned and target and target < planned:
        problems.append(Problem("targetReleaseDate", "the target release date is before the planned date: pick a later one"))
    if draft.description and len(draft.description) > DESCRIPTION_LIMIT:
        problems.append(Problem("description", f"the description is {len(draft.description)} characters long: keep it under {DESCRIPTION_LIMIT}"))


@dataclass(frozen=True)
class Found:
    """One row a draft names, as the single validation query reads it (enum columns as their values)."""

    id: str
    name: str
    type: str | None = None
    a: str | None = None  # scm: organization; target: appIdentifier; pipeline: scmIntegrationId; channel: channelId; tracker: baseUrl
    b: str | None = None  # scm: repository; pipeline: targetIntegrationId
    c: str | None = None  # scm: defaultBranch
    isActive: bool = True
    verificationStatus: VerificationStatus | None = None
    verificationError: str | None = None

    @property
    def displayName(self) -> str:
        return self.name


@dataclass
class References:
    """Everything a draft names, for this tenant, keyed by id (what the tenant does not own is absent)."""

    people: dict[str, Found] = field(default_factory=dict)
    scm: dict[str, Found] = field(default_factory=dict)
    targets: dict[str, Found] = field(default_factory=dict)
    pipelines: dict[str, Found] = field(default_factory=dict)
    communication: dict[str, Found] = field(default_factory=dict)
    ticket: dict[str, Found] = field(default_factory=dict)
    releases: list[tuple[str, str]] = field(default_factory=list)  # (releaseKey, status) of the same version
    earlier_request: str | None = None  # the release an earlier request with the same key created


def _text(column):
    # One UNION ALL needs one type per column: enums and ids are read back as plain text.
    return cast(column, String)


def load_references(session: Session, tenant_id: str, *, actor_id: str, draft: ReleaseDraft,
                    target_ids: tuple[str, ...], pipeline_ids: tuple[str, ...], version: str | None,
                    request: tuple[str, str] | None = None) -> References:
    """Every reference of `draft` (people, SCM, targets, pipelines, channel, tracker, the version's
    earlier releases, an earlier request's release) in one set-based statement, scoped to the tenant."""
    none = null()
    parts = []

    def part(kind, model, ids, name, type_=none, a=none, b=none, c=none, integration=True, where=None):
        ids = [i for i in ids if i]
        if not ids and where is None:
            return
        condition = where if where is not None else model.id.in_(ids)
        parts.append(select(
            literal(kind, String).label("kind"), _text(model.id).label("id"), _text(name).label("name"),
            _text(type_).label("type"), _text(a).label("a"), _text(b).label("b"), _text(c).label("c"),
            (model.isActive if integration else literal(True, Boolean)).label("active"),
            (_text(model.verificationStatus) if integration else none).label("verification"),
            (_text(model.verificationError) if integration else none).label("error"),
        ).where(model.tenantId == tenant_id, condition))

    part("people", Account, [actor_id, draft.release_pilot_id], Account.displayName, integration=False)
    part("scm", ScmIntegration, [draft.scm_integration_id], ScmIntegration.displayName, ScmIntegration.scmType,
         ScmIntegration.organization, ScmIntegration.repository, ScmIntegration.defaultBranch)
    part("targets", TargetIntegration, target_ids, TargetIntegration.displayName, TargetIntegration.targetType,
         TargetIntegration.appIdentifier)
    part("pipelines", PipelineIntegration, pipeline_ids, PipelineIntegration.displayName,
         PipelineIntegration.pipelineType, PipelineIntegration.scmIntegrationId, PipelineIntegration.targetIntegrationId)
    part("communication", CommunicationIntegration, [draft.communication_integration_id],
         CommunicationIntegration.displayName, CommunicationIntegration.communicationType,
         CommunicationIntegration.channelId)
    part("ticket", TicketIntegration, [draft.ticket_integration_id], TicketIntegration.displayName,
         TicketIntegration.ticketType, TicketIntegration.baseUrl)
    if version:
        part("release", Release, [], Release.releaseKey, Release.status, integration=False,
             where=Release.version == version)
    if request:
        scope, key = request
        part("request", RequestKey, [], RequestKey.resultId, integration=False,
             where=(RequestKey.scope == scope) & (RequestKey.requestKey == key))
    found = References()
    rows = session.execute(union_all(*parts)).all() if len(parts) > 1 else session.execute(parts[0]).all()
    for kind, id_, name, type_, a, b, c, active, verification, error in rows:
        if kind == "release":
            found.releases.append((name, type_))
        elif kind == "request":
            found.earlier_request = name
        else:
            getattr(found, kind)[id_] = Found(
                id_, name, type_, a, b, c, bool(active), VerificationStatus(verification) if verification else None,
                error)
    return found


def check_scm(refs: References, draft: ReleaseDraft, problems: list[Problem]) -> Found | None:
    scm = refs.scm.get(draft.scm_integration_id)
    if scm is None:
        problems.append(Problem("scmIntegrationId", "pick a source control integration of this workspace"))
        return None
    reason = unusable(scm, "source control")
    if reason:
        problems.append(Problem("scmIntegrationId", reason))
    return scm


def check_targets(refs: References, target_ids: tuple[str, ...], problems: list[Problem]) -> list[Found]:
    missing = [t for t in target_ids if t not in refs.targets]
    if missing:
        problems.append(Problem("targets", f"{len(missing)} of the chosen targets are not store targets of this workspace"))
    chosen = [refs.targets[t] for t in target_ids if t in refs.targets]
    for row in chosen:
        reason = unusable(row, "target")
        if reason:
            problems.append(Problem("targets", reason))
    return chosen


def check_pipelines(refs: References, draft: ReleaseDraft, pipeline_ids: tuple[str, ...],
                    target_ids: tuple[str, ...], problems: list[Problem]) -> list[Found]:
    missing = [p for p in pipeline_ids if p not in refs.pipelines]
    if missing:
        problems.append(Problem("pipelines", f"{len(missing)} of the chosen pipelines are not pipelines of this workspace"))
    chosen = [refs.pipelines[p] for p in pipeline_ids if p in refs.pipelines]
    for row in chosen:
        reason = unusable(row, "pipeline")
        if reason:
            problems.append(Problem("pipelines", reason))
        if row.a != draft.scm_integration_id:  # a pipeline's `a` is its scmIntegrationId, `b` its targetIntegrationId
            problems.append(Problem("pipelines", f"pipeline “{row.displayName}” builds another repository than the one chosen"))
        if row.b not in target_ids:
            problems.append(Problem("pipelines", f"pipeline “{row.displayName}” builds for a target that is not selected: add its target or drop it"))
    return chosen


def check_optional(refs: References, draft: ReleaseDraft, problems: list[Problem]) -> tuple[Found | None, Found | None]:
    # A foreign key proves only existence: tenant A must not name tenant B's Slack or Jira.
    found: list[Found | None] = []
    for field_name, rows, ref, label in (
        ("communicationIntegrationId", refs.communication, draft.communication_integration_id, "communication"),
        ("ticketIntegrationId", refs.ticket, draft.ticket_integration_id, "ticket tracker"),
    ):
        row = rows.get(ref) if ref else None
        found.append(row)
        if not ref:
            continue
        if row is None:
            problems.append(Problem(field_name, f"pick a {label} integration of this workspace"))
            continue
        reason = unusable(row, label, require_valid=False)
        if reason:
            problems.append(Problem(field_name, reason))
    return found[0], found[1]


def check_people(refs: References, actor_id: str, pilot_id: str | None, problems: list[Problem]) -> Found:
    if pilot_id and pilot_id not in refs.people:
        problems.append(Problem("releasePilotId", "the release pilot must be a member of this workspace"))
    actor = refs.people.get(actor_id)
    if actor is None:
        raise NotFoundError("the person creating the release is not a member of this workspace")
    return actor


def release_key(refs: References, version: str, problems: list[Problem]) -> str:
    """`v<version>`, or `v<version>-<n>` when earlier (ended) releases used the version."""
    rows = refs.releases
    live = [key for key, status in rows if ReleaseStatus(status) not in ENDED_RELEASE_STATUSES]
    if live:
        problems.append(Problem("version", conflict_message(version, live[0])))
    base = f"v{version}"
    suffixes = [1 if key == base else int(key.rsplit("-", 1)[1]) for key, _ in rows
                if key == base or re.fullmatch(re.escape(base) + r"-[0-9]+", key)]
    return base if not suffixes else f"{base}-{max(suffixes) + 1}"


def conflict_message(version: str, key: str) -> str:
    return (f"version {version} already has a live release ({key}): "
            "cancel or archive it first, or pick another version")


def missing_for_release(*, scms: list, targets: list) -> list[str]:
    """What a workspace lacks to create a release, given its usable repositories and store targets."""
    return [label for label, found in (("source control integration", scms), ("store target", targets)) if not found]
