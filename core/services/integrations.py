"""A tenant's integrations as people and services read them: the view (never its secrets), listing, looking
one up, and its decrypted secrets. Adding, editing and removing them: core.services.integration_writes; what
their values must be: core.services.integration_rules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import CredentialCipher
from core.enums import IntegrationKind, VerificationStatus
from core.errors import NotFoundError
from core.models import INTEGRATION_MODELS

TYPE_COLUMN = {
    IntegrationKind.SCM: "scmType",
    IntegrationKind.TARGET: "targetType",
    IntegrationKind.PIPELINE: "pipelineType",
    IntegrationKind.COMMUNICATION: "communicationType",
    IntegrationKind.TICKET: "ticketType",
}
KIND_LABEL = {
    IntegrationKind.SCM: "source control",
    IntegrationKind.TARGET: "store target",
    IntegrationKind.PIPELINE: "pipeline",
    IntegrationKind.COMMUNICATION: "communication",
    IntegrationKind.TICKET: "ticket tracker",
}
DETAIL_COLUMNS = (
    "organization", "repository", "defaultBranch", "appIdentifier", "scmIntegrationId",
    "targetIntegrationId", "jobPath", "channelId", "channelName", "projectKey",
)


@dataclass(frozen=True)
class IntegrationView:
    """An integration as shown to people: never its secrets."""

    id: str
    kind: IntegrationKind
    provider: str
    displayName: str
    baseUrl: str | None
    isActive: bool
    verificationStatus: VerificationStatus
    lastVerifiedAt: datetime | None
    verificationError: str | None
    details: dict[str, Any]
    removedAt: datetime | None = None  # hidden: kept only for the ended releases that name it

    @property
    def usable(self) -> bool:
        """Active and verified: the only state in which releases may use it."""
        return self.isActive and self.verificationStatus == VerificationStatus.VALID


def view_of(kind: IntegrationKind, row) -> IntegrationView:
    """The view of a row of any integration table."""
    details = {c: getattr(row, c) for c in DETAIL_COLUMNS if hasattr(row, c)}
    details.update(row.settings or {})
    return IntegrationView(
        id=row.id, kind=kind, provider=str(getattr(row, TYPE_COLUMN[kind])), displayName=row.displayName,
        baseUrl=shown_url(row.baseUrl), isActive=bool(row.isActive), verificationStatus=row.verificationStatus,
        lastVerifiedAt=row.lastVerifiedAt, verificationError=row.verificationError, details=details,
        removedAt=row.removedAt,
    )


def shown_url(url: str | None) -> str | None:
    """A stored URL as it may be shown: a password in it (stored before they were refused) is masked."""
    if not url:
        return url
    try:
        parsed = urlparse(url)
        if parsed.password is None:
            return url
    except ValueError:  # unparseable ("http://[::1"), stored before URLs were checked: mask any userinfo
        return url if "@" not in url else "***@" + url.rpartition("@")[2]
    return parsed._replace(netloc=f"{parsed.username}:***@{parsed.netloc.rpartition('@')[2]}").geturl()


def list_integrations(
    session: Session, *, tenant_id: str, kind: IntegrationKind, usable_only: bool = False
) -> list[IntegrationView]:
    """The tenant's integrations of one kind, by name; `usable_only` keeps active, VALID ones."""
    model = INTEGRATION_MODELS[kind.value]
    query = select(model).where(model.tenantId == tenant_id, model.removedAt.is_(None))
    if usable_only:
        query = query.where(model.isActive.is_(True), model.verificationStatus == VerificationStatus.VALID)
    return [view_of(kind, row) for row in session.scalars(query.order_by(model.displayName, model.id))]


def get_row(session: Session, *, tenant_id: str, integration_id: str, kind: IntegrationKind | None = None,
            lock: bool = False):
    """(kind, row) of the tenant's integration; another tenant's id is as unknown as a made-up one. `lock`: the row
    read as committed, and locked (on MySQL a plain read gives the transaction's first snapshot: a runner's
    verification recorded since would be overwritten, or kept, by what is computed from it)."""
    kinds = [kind] if kind else list(IntegrationKind)
    for k in kinds:
        model = INTEGRATION_MODELS[k.value]
        row = session.scalar(select(model).where(model.id == integration_id, model.tenantId == tenant_id,
                                                 model.removedAt.is_(None)))
        if row is not None:
            if lock:
                session.refresh(row, with_for_update=True)
            return k, row
    raise NotFoundError(f"no integration {integration_id!r} in this workspace: see `releasebot integration list`")


def get_integration(session: Session, *, tenant_id: str, integration_id: str) -> IntegrationView:
    """The view of one of the tenant's integrations."""
    return view_of(*get_row(session, tenant_id=tenant_id, integration_id=integration_id))


def load_secrets(row, cipher: CredentialCipher) -> dict[str, str]:
    """The decrypted secrets of an integration row."""
    return cipher.decrypt(row.encryptedCredentials) if row.encryptedCredentials else {}
