"""Integrations and admins managed from Slack (their audit, owed verifications) and each person's App Home."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import TaskState
from core.models.base import (
    OUR_TABLE_ARGS,
    Base,
    EventTimeType,
    IdType,
    NameType,
    ProseType,
    TenantIdType,
    enum_column,
    new_id,
)


class AuditEvent(Base):
    """Who changed which integration or admin, when and what (names of what changed, never a secret)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_tenant", "tenantId", "id"), OUR_TABLE_ARGS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(EventTimeType)
    actorAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))  # None: the operator
    actorName: Mapped[str] = mapped_column(NameType)  # kept when the account goes
    subjectKind: Mapped[str] = mapped_column(String(32))  # an IntegrationKind value, or "admin"
    subjectId: Mapped[str] = mapped_column(IdType)
    subjectName: Mapped[str] = mapped_column(NameType)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(ProseType)


class IntegrationVerification(Base):
    """A verification owed to an integration (asked from Slack): the runner checks it with the provider,
    records the outcome on the integration and tells the person who asked."""

    __tablename__ = "integration_verifications"
    __table_args__ = (Index("ix_integration_verifications_due", "state", "requestedAt"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    integrationId: Mapped[str] = mapped_column(IdType)  # any of the five tables: no foreign key
    requestedByAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))
    notifySlackUserId: Mapped[str | None] = mapped_column(IdType)
    viewId: Mapped[str | None] = mapped_column(IdType)  # the modal to update with the outcome
    state: Mapped[TaskState] = mapped_column(enum_column(TaskState, "task_state"))
    outcome: Mapped[str | None] = mapped_column(ProseType)  # None: VALID; else why not
    requestedAt: Mapped[datetime] = mapped_column(DateTime)
    finishedAt: Mapped[datetime | None] = mapped_column(DateTime)
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)


class HomeView(Base):
    """A person's App Home tab: owed (published again) whenever `revision` moves past `publishedRevision`,
    never sooner than `notBefore` (Slack rate-limits views.publish per user). A row exists once the person
    opened their Home: only they are owed re-publishing when something changes."""

    __tablename__ = "home_views"
    __table_args__ = (UniqueConstraint("tenantId", "slackUserId", name="uq_home_views_tenant_user"),
                      Index("ix_home_views_due", "nextAttemptAt"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    slackUserId: Mapped[str] = mapped_column(IdType)
    revision: Mapped[int] = mapped_column(server_default=text("1"))
    publishedRevision: Mapped[int] = mapped_column(server_default=text("0"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    nextAttemptAt: Mapped[datetime | None] = mapped_column(DateTime)  # due from then; None: up to date
    notBefore: Mapped[datetime | None] = mapped_column(DateTime)  # the last publish + the per-person interval
    publishedAt: Mapped[datetime | None] = mapped_column(DateTime)
    lastError: Mapped[str | None] = mapped_column(ProseType)
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)
