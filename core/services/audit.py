"""The audit trail of admin actions: who changed which integration or admin, when, and what.

Details name what changed (fields, settings, which secrets were replaced), never a secret's value."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Account, AuditEvent

OPERATOR = "the operator (CLI)"
ADMIN_SUBJECT = "admin"


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    subject_kind: str
    subject_id: str
    subject_name: str
    action: str
    detail: str | None


def record(session: Session, *, tenant_id: str, actor: Account | None, subject_kind: str, subject_id: str,
           subject_name: str, action: str, detail: str | None = None) -> None:
    """Append one entry; `actor` None is the operator at the command line."""
    session.add(AuditEvent(
        tenantId=tenant_id, at=datetime.now(UTC).replace(tzinfo=None), actorAccountId=actor.id if actor else None,
        actorName=(actor.displayName if actor else OPERATOR)[:255], subjectKind=subject_kind, subjectId=subject_id,
        subjectName=subject_name[:255], action=action, detail=detail))
    session.flush()


def list_audit(session: Session, *, tenant_id: str, limit: int = 100) -> list[AuditEntry]:
    """The tenant's newest entries first."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.tenantId == tenant_id)
                           .order_by(AuditEvent.id.desc()).limit(limit))
    return [AuditEntry(r.at, r.actorName, r.subjectKind, r.subjectId, r.subjectName, r.action, r.detail) for r in rows]
