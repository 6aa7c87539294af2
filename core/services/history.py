"""A release's history: the append-only `release_events` table, written by every change, read back in order."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import NotificationState
from core.errors import NotFoundError
from core.models import Account, Notification, Release, ReleaseEvent, new_id

VALUE_LIMIT = 255  # fromValue / toValue are short (a status, a date, a name); the detail holds prose
# A build's own notifications (TRIGGERED, FINISHED) already tell the thread: one line per thing, not two.
SILENT_ACTIONS = frozenset({"build-triggered", "build-retried", "build-aborted"})
EVENT_KIND = "EVENT"


@dataclass(frozen=True)
class Event:
    """One line of a release's history; `at` is timezone-aware UTC, `actor` None when the bot acted."""

    at: datetime
    actor: str | None
    action: str
    from_value: str | None
    to_value: str | None
    detail: str | None

    def as_json(self) -> dict:
        """The contract's shape: {at (ISO 8601 with its zone), actor, action, from, to, detail}."""
        return {"at": self.at.isoformat(), "actor": self.actor, "action": self.action, "from": self.from_value,
                "to": self.to_value, "detail": self.detail}


def record_event(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str | None, action: str,
                 from_value: object = None, to_value: object = None, detail: str | None = None) -> ReleaseEvent:
    """Append one event and owe its thread line (in the caller's transaction: both exist exactly when the change does)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    event = ReleaseEvent(tenantId=tenant_id, releaseId=release_id, at=now, actorAccountId=actor_account_id,
                         action=str(action), fromValue=_short(from_value), toValue=_short(to_value), detail=detail)
    session.add(event)
    session.flush()
    if event.action not in SILENT_ACTIONS:
        session.add(Notification(id=new_id(), tenantId=tenant_id, releaseId=release_id, eventId=event.id, kind=EVENT_KIND,
                                 dedupeKey=f"event:{event.id}", state=NotificationState.PENDING, nextAttemptAt=utcnow()))
        session.flush()
    return event


def _short(value: object) -> str | None:
    return None if value is None else str(value)[:VALUE_LIMIT]


def list_events(session: Session, tenant_id: str, release_id: str) -> list[Event]:
    """The history of a release of this tenant, oldest first."""
    if session.scalar(select(Release.id).where(Release.id == release_id, Release.tenantId == tenant_id)) is None:
        raise NotFoundError(f"no release {release_id!r} in this workspace")
    rows = session.execute(
        select(ReleaseEvent, Account.displayName).outerjoin(Account, Account.id == ReleaseEvent.actorAccountId)
        .where(ReleaseEvent.releaseId == release_id, ReleaseEvent.tenantId == tenant_id).order_by(ReleaseEvent.id)).all()
    return [_event(row, name) for row, name in rows]


def last_event(session: Session, *, release_id: str, actions: tuple[str, ...] | None = None) -> Event | None:
    """The newest event of a release (of these actions), read past this transaction's snapshot: a loser
    of a race is told what the winner committed."""
    query = (select(ReleaseEvent, Account.displayName).outerjoin(Account, Account.id == ReleaseEvent.actorAccountId)
             .where(ReleaseEvent.releaseId == release_id).order_by(ReleaseEvent.id.desc()).limit(1)
             .with_for_update(read=True))
    if actions:
        query = query.where(ReleaseEvent.action.in_([str(a) for a in actions]))
    row = session.execute(query).first()
    return _event(*row) if row else None


def _event(row: ReleaseEvent, actor: str | None) -> Event:
    return Event(at=row.at.replace(tzinfo=UTC), actor=actor, action=row.action, from_value=row.fromValue,
                 to_value=row.toValue, detail=row.detail)
