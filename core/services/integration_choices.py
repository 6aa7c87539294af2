"""What `/release create` may offer: whether the workspace can create a release at all (and its repository when it
has one), and the type-ahead options of each dropdown; only usable integrations (active, verified, not removed)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from core.enums import IntegrationKind, VerificationStatus
from core.models import INTEGRATION_MODELS, ScmIntegration, TargetIntegration
from core.services.integrations import IntegrationView, view_of
from core.services.release_rules import missing_for_release


@dataclass(frozen=True)
class ReleaseForm:
    """What the create form opens with: what the workspace lacks to create a release, and its repository when
    it has exactly one (preselected)."""

    missing: tuple[str, ...]
    sole_scm: IntegrationView | None


def _usable(model) -> tuple:
    tenant = bindparam("tenant_id")
    return (model.tenantId == tenant, model.removedAt.is_(None), model.isActive.is_(True),
            model.verificationStatus == VerificationStatus.VALID)


# Built once: building it took as much CPU as running it. The columns view_of reads (never the credentials).
_HAS_TARGET = select(TargetIntegration.id).where(*_usable(TargetIntegration)).exists()
_HAS_TARGET_ALONE = select(_HAS_TARGET)
_SCM_VIEW_COLUMNS = [c for c in ScmIntegration.__table__.c if c.key not in ("encryptedCredentials", "createdAt", "updatedAt")]
_RELEASE_FORM = (select(*_SCM_VIEW_COLUMNS, _HAS_TARGET.label("has_target")).where(*_usable(ScmIntegration))
                 .order_by(ScmIntegration.displayName, ScmIntegration.id).limit(2))


def release_form(db: Session | Connection, *, tenant_id: str) -> ReleaseForm:
    """What the create form opens with, in one statement whatever the number of integrations (the first two
    usable repositories, each row saying whether a usable store target exists); two without a repository.
    In a session, or on a bare connection (`Runtime.lookup`)."""
    rows = db.execute(_RELEASE_FORM, {"tenant_id": tenant_id}).all()
    targets = rows[0].has_target if rows else db.scalar(_HAS_TARGET_ALONE, {"tenant_id": tenant_id})
    scms = [view_of(IntegrationKind.SCM, row) for row in rows]
    missing = missing_for_release(scms=scms, targets=[True] if targets else [])
    return ReleaseForm(tuple(missing), scms[0] if len(scms) == 1 else None)


HINT_COLUMN = {IntegrationKind.TARGET: "appIdentifier", IntegrationKind.COMMUNICATION: "channelName",
               IntegrationKind.TICKET: "projectKey"}


def _hint(kind: IntegrationKind, model):
    # What a dropdown label shows beside the name (bot.blocks.options.integration_label), or None.
    if kind == IntegrationKind.SCM:
        return model.organization + "/" + model.repository
    return getattr(model, HINT_COLUMN[kind]) if kind in HINT_COLUMN else None


def suggest_integrations(
    session: Session, *, tenant_id: str, kind: IntegrationKind, typed: str, limit: int,
    scm_id: str | None = None, target_ids: tuple[str, ...] = (),
) -> list[IntegrationView]:
    """At most `limit` of the tenant's usable integrations of one kind whose name or hint contains
    `typed` (any case; ASCII case only on SQLite), by name. Filtered, ordered and cut in SQL, along
    the dropdown index, so a tenant with 10,000 integrations answers as fast as one with 10.
    Pipelines are only those building `scm_id` for one of `target_ids`."""
    model = INTEGRATION_MODELS[kind.value]
    query = select(model).where(model.tenantId == tenant_id, model.isActive.is_(True),
                                model.verificationStatus == VerificationStatus.VALID)
    if kind == IntegrationKind.PIPELINE:
        query = query.where(model.scmIntegrationId == scm_id, model.targetIntegrationId.in_(target_ids))
    needle = typed.strip().lower()
    if needle:
        hint = _hint(kind, model)
        matches = func.lower(model.displayName).contains(needle, autoescape=True)
        if hint is not None:
            matches = matches | func.lower(func.coalesce(hint, "")).contains(needle, autoescape=True)
        query = query.where(matches)
    rows = session.scalars(query.order_by(model.displayName, model.id).limit(limit))
    return [view_of(kind, row) for row in rows]
