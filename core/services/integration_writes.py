"""Writing a tenant's integrations: add, edit, enable or disable, remove, and re-encrypt every stored credential.
Neither role checks nor audit here: core.services.integration_changes makes these changes as an admin does."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crypto import CredentialCipher
from core.enums import ENDED_RELEASE_STATUSES, IntegrationKind, VerificationStatus
from core.errors import InUseError
from core.integrations.network import Resolver, system_resolver
from core.models import (
    INTEGRATION_MODELS,
    PipelineIntegration,
    Release,
    ReleasePipeline,
    ReleaseTarget,
)
from core.services.home_views import owe_homes
from core.services.integration_rules import require_spec, validate
from core.services.integrations import TYPE_COLUMN, IntegrationView, get_row, load_secrets, view_of


def add_integration(
    session: Session,
    *,
    tenant_id: str,
    kind: IntegrationKind,
    provider: str,
    display_name: str,
    cipher: CredentialCipher,
    base_url: str | None = None,
    fields: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    resolver: Resolver = system_resolver,
) -> IntegrationView:
    """Store a new integration, PENDING until verified, its secrets encrypted.

    `resolver` tells whether a plain-http host is public (then https is required)."""
    fields, settings, secrets = dict(fields or {}), dict(settings or {}), dict(secrets or {})
    spec = require_spec(kind, provider)
    base_url = base_url or spec.default_base_url
    validate(session, tenant_id=tenant_id, kind=kind, spec=spec, display_name=display_name, base_url=base_url,
             fields=fields, settings=settings, secrets=secrets, resolver=resolver)
    model = INTEGRATION_MODELS[kind.value]
    row = model(
        tenantId=tenant_id, displayName=display_name.strip(), baseUrl=base_url.rstrip("/") if base_url else None,
        settings={**spec.defaults, **settings} or None,
        encryptedCredentials=cipher.encrypt(secrets) if secrets else None,
        verificationStatus=VerificationStatus.PENDING, isActive=True,
        **{TYPE_COLUMN[kind]: spec.provider}, **fields,
    )
    session.add(row)
    session.flush()
    owe_homes(session, tenant_id=tenant_id)  # admins' Homes show every integration's health
    return view_of(kind, row)


@dataclass(frozen=True)
class Change:
    """What an edit changed, by name (never a secret's value)."""

    view: IntegrationView
    changed: tuple[str, ...]


def update_integration(
    session: Session, *, tenant_id: str, integration_id: str, cipher: CredentialCipher, display_name: str,
    base_url: str | None = None, fields: dict[str, str] | None = None, settings: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None, resolver: Resolver = system_resolver,
) -> Change:
    """Replace an integration's name, base URL, fields and settings; a secret changes only when a new value is
    given (the others stay as stored). Anything changed makes it PENDING again, to be verified."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id, lock=True)
    spec = require_spec(kind, str(getattr(row, TYPE_COLUMN[kind])))
    fields, settings = dict(fields or {}), dict(settings or {})
    typed_secrets = {k: v for k, v in (secrets or {}).items() if v}
    merged = {**load_secrets(row, cipher), **typed_secrets}
    base_url = base_url or spec.default_base_url
    validate(session, tenant_id=tenant_id, kind=kind, spec=spec, display_name=display_name, base_url=base_url,
             fields=fields, settings=settings, secrets=merged, resolver=resolver)
    new_settings = {**spec.defaults, **settings} or None
    before = {"displayName": row.displayName, "baseUrl": row.baseUrl, "settings": row.settings,
              **{c: getattr(row, c) for c in fields}}
    row.displayName, row.baseUrl, row.settings = display_name.strip(), base_url.rstrip("/") if base_url else None, new_settings
    for name, value in fields.items():
        setattr(row, name, value)
    after = {"displayName": row.displayName, "baseUrl": row.baseUrl, "settings": row.settings, **fields}
    changed = [k for k in after if k != "settings" and before.get(k) != after[k]]
    changed += sorted(k for k in set(before["settings"] or {}) | set(new_settings or {})
                      if (before["settings"] or {}).get(k) != (new_settings or {}).get(k))
    if typed_secrets:
        row.encryptedCredentials = cipher.encrypt(merged)
        changed += [f"secret {k}" for k in sorted(typed_secrets)]
    if changed:
        row.verificationStatus, row.verificationError = VerificationStatus.PENDING, None
    session.flush()
    if changed:
        owe_homes(session, tenant_id=tenant_id)
    return Change(view_of(kind, row), tuple(changed))


def set_active(session: Session, *, tenant_id: str, integration_id: str, active: bool) -> IntegrationView:
    """Enable or disable an integration; disabled ones are offered to nobody."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    row.isActive = active
    session.flush()
    owe_homes(session, tenant_id=tenant_id)
    return view_of(kind, row)


def _release_keys(session: Session, kind: IntegrationKind, integration_id: str) -> tuple[list[str], list[str]]:
    """(live, ended) keys of the releases whose repository, target or pipeline this is."""
    query = None
    if kind == IntegrationKind.SCM:
        query = select(Release.releaseKey, Release.status).where(Release.scmIntegrationId == integration_id)
    elif kind == IntegrationKind.TARGET:
        query = select(Release.releaseKey, Release.status).join(ReleaseTarget, ReleaseTarget.releaseId == Release.id).where(
            ReleaseTarget.targetIntegrationId == integration_id)
    elif kind == IntegrationKind.PIPELINE:
        query = select(Release.releaseKey, Release.status).join(
            ReleasePipeline, ReleasePipeline.releaseId == Release.id).where(ReleasePipeline.pipelineIntegrationId == integration_id)
    rows = set(session.execute(query).all()) if query is not None else set()
    live = sorted({key for key, status in rows if status not in ENDED_RELEASE_STATUSES})
    ended = sorted({key for key, status in rows if status in ENDED_RELEASE_STATUSES})
    return live, ended


def _pipelines_using(session: Session, kind: IntegrationKind, integration_id: str, *, removed: bool) -> list[str]:
    if kind not in (IntegrationKind.SCM, IntegrationKind.TARGET):
        return []
    column = PipelineIntegration.scmIntegrationId if kind == IntegrationKind.SCM else PipelineIntegration.targetIntegrationId
    hidden = PipelineIntegration.removedAt.is_not(None) if removed else PipelineIntegration.removedAt.is_(None)
    return sorted(session.scalars(select(PipelineIntegration.displayName).where(column == integration_id, hidden)))


def kept_for(session: Session, *, tenant_id: str, integration_id: str) -> list[str]:
    """The cancelled and archived releases that keep an integration hidden rather than deleted."""
    kind, _ = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    return _release_keys(session, kind, integration_id)[1]


def remove_integration(session: Session, *, tenant_id: str, integration_id: str) -> IntegrationView:
    """Remove an integration. Refused while live releases or pipelines use a repository, target or pipeline.
    One only cancelled or archived releases (or removed pipelines) name is hidden instead of deleted: those
    releases keep their history, and it is offered nowhere again. A communication or ticket integration is
    deleted and cleared from the releases that named it."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    live, ended = _release_keys(session, kind, integration_id)
    blockers = [f"releases {', '.join(live)}"] if live else []
    pipelines = _pipelines_using(session, kind, integration_id, removed=False)
    if pipelines:
        blockers.append(f"pipelines {', '.join(pipelines)}")
    if blockers:
        raise InUseError(
            f"“{row.displayName}” is used by {' and '.join(blockers)}: remove those first (a release: cancel or "
            "archive it), or disable it instead"
        )
    if ended or _pipelines_using(session, kind, integration_id, removed=True):
        row.removedAt, row.isActive = utcnow(), False  # the seed's RESTRICT keys keep the row; nothing offers it
        session.flush()
        owe_homes(session, tenant_id=tenant_id)
        return view_of(kind, row)
    view = view_of(kind, row)
    session.delete(row)
    session.flush()
    owe_homes(session, tenant_id=tenant_id)
    return view


def reencrypt_all(session: Session, *, cipher: CredentialCipher) -> int:
    """Re-encrypt every stored credential with the newest key; returns how many were rewritten."""
    count = 0
    for model in INTEGRATION_MODELS.values():
        for row in session.scalars(select(model).where(model.encryptedCredentials.is_not(None))):
            row.encryptedCredentials = cipher.rotate(row.encryptedCredentials)
            count += 1
    session.flush()
    return count
