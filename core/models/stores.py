"""The stores (issue 12): what was asked of a target's store and what the store says; the pilot's reminders."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import TaskState
from core.models.base import (
    OUR_TABLE_ARGS,
    Base,
    IdType,
    ProseType,
    ReleaseRefType,
    TenantIdType,
    enum_column,
    new_id,
)


class StoreRequest(Base):
    """One thing a person asked of a target's store (submit, release, pause…): owed until the runner
    did it at the store, claimed like a build, its request key making a repeated click a no-op."""

    __tablename__ = "store_actions"
    __table_args__ = (UniqueConstraint("tenantId", "requestKey", name="uq_store_actions_tenant_request"),
                      Index("ix_store_actions_due", "state", "nextAttemptAt"),
                      Index("ix_store_actions_target", "releaseTargetId", "state"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"))
    releaseTargetId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("release_targets.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requestKey: Mapped[str] = mapped_column(IdType)
    requestedByAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))
    state: Mapped[TaskState] = mapped_column(enum_column(TaskState, "store_action_state"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    nextAttemptAt: Mapped[datetime | None] = mapped_column(DateTime)
    lastError: Mapped[str | None] = mapped_column(ProseType)  # shown on the card
    errorDetail: Mapped[str | None] = mapped_column(ProseType)  # for admins and the log
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)
    createdAt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.current_timestamp())
    finishedAt: Mapped[datetime | None] = mapped_column(DateTime)


class TargetStore(Base):
    """A release target's state at its store, as last read (core.integrations.stores.StoreState), and
    when to read it again. One row per target once anything was asked of its store."""

    __tablename__ = "release_target_stores"
    __table_args__ = (Index("ix_release_target_stores_due", "nextCheckAt"),
                      Index("ix_release_target_stores_release", "releaseId"), OUR_TABLE_ARGS)

    releaseTargetId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("release_targets.id", ondelete="CASCADE"),
                                                 primary_key=True)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(16))
    line: Mapped[str | None] = mapped_column(ProseType)
    allowed: Mapped[list[str] | None] = mapped_column(JSON)
    hints: Mapped[dict[str, str] | None] = mapped_column(JSON)
    rolloutPercent: Mapped[float | None] = mapped_column(Float)
    phasedDay: Mapped[int | None] = mapped_column()
    paused: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    reason: Mapped[str | None] = mapped_column(ProseType)
    storeIds: Mapped[dict[str, str] | None] = mapped_column(JSON)
    checks: Mapped[int] = mapped_column(server_default=text("0"))  # reads since the state last changed: the backoff
    revision: Mapped[int] = mapped_column(server_default=text("0"))  # moved by every recorded state (apply_state)
    lastCheckedAt: Mapped[datetime | None] = mapped_column(DateTime)
    nextCheckAt: Mapped[datetime | None] = mapped_column(DateTime)  # None: nothing more to follow
    lastError: Mapped[str | None] = mapped_column(ProseType)
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)


class ReleaseReminder(Base):
    """A reminder the runner gave a release's pilot (its target date is near, its stage has not moved): the
    unique key makes it once per release and `reminderKey` however many workers race or crash."""

    __tablename__ = "release_reminders"
    __table_args__ = (UniqueConstraint("releaseId", "reminderKey", name="uq_release_reminders_release_key"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "due" (the day before the target date) or "stale"
    reminderKey: Mapped[str] = mapped_column(IdType)  # e.g. "due:2026-12-20" or "stale:<stage event>:<period>"
    forDate: Mapped[datetime | None] = mapped_column(DateTime)  # due: the target date it was given for
    stageEventId: Mapped[int | None] = mapped_column(ForeignKey("release_events.id", ondelete="CASCADE"))  # stale: where the stage began
    nextAfter: Mapped[datetime | None] = mapped_column(DateTime)  # stale: the next reminder of this stage is not before
    eventId: Mapped[int | None] = mapped_column(ForeignKey("release_events.id", ondelete="SET NULL"))  # the history's "reminded"
    createdAt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.current_timestamp())
