"""The release's life (ours: the seed's tables get no new columns): its history, regression cycles, tasks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import TaskState
from core.models.base import (
    OUR_TABLE_ARGS,
    Base,
    EventTimeType,
    IdType,
    NameType,
    ProseType,
    ReleaseRefType,
    TenantIdType,
    enum_column,
    new_id,
)


class ReleaseEvent(Base):
    """One change of a release (a transition, a target change, a build trigger, an edit): appended, never updated."""

    __tablename__ = "release_events"
    __table_args__ = (Index("ix_release_events_release", "releaseId", "id"),
                      Index("ix_release_events_release_action", "releaseId", "action"),  # where a release's stage began
                      OUR_TABLE_ARGS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)  # the order of events
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(EventTimeType)  # naive UTC, like every DATETIME here
    actorAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))  # None: the bot
    action: Mapped[str] = mapped_column(String(64))
    fromValue: Mapped[str | None] = mapped_column(NameType)
    toValue: Mapped[str | None] = mapped_column(NameType)
    detail: Mapped[str | None] = mapped_column(ProseType)


class RegressionCycle(Base):
    """A numbered regression cycle of a release: open until it passes or fails (one row per cycle)."""

    __tablename__ = "regression_cycles"
    __table_args__ = (UniqueConstraint("releaseId", "number", name="uq_regression_cycles_release_number"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    builds: Mapped[str | None] = mapped_column(ProseType)  # the builds under test, e.g. "App Store #45, Play Store #46"
    startedAt: Mapped[datetime] = mapped_column(DateTime)
    startedByAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(16))  # None while open, then PASSED or FAILED
    endedAt: Mapped[datetime | None] = mapped_column(DateTime)
    endedByAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))


class ReleaseTask(Base):
    """One piece of work of a release that the runner carries out (kickoff's release branch, its epics,
    its changelog…): claimed like a build, retried with backoff, its outcome shown on the card."""

    __tablename__ = "release_tasks"
    __table_args__ = (UniqueConstraint("releaseId", "task", name="uq_release_tasks_release_task"),
                      Index("ix_release_tasks_due", "state", "nextAttemptAt"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(32))
    state: Mapped[TaskState] = mapped_column(enum_column(TaskState, "task_state"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    nextAttemptAt: Mapped[datetime | None] = mapped_column(DateTime)
    lastError: Mapped[str | None] = mapped_column(ProseType)  # shown on the card
    errorDetail: Mapped[str | None] = mapped_column(ProseType)  # for admins only
    result: Mapped[str | None] = mapped_column(ProseType)  # e.g. the branch's sha, an epic's key
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)
    createdAt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.current_timestamp())
    updatedAt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.current_timestamp())
