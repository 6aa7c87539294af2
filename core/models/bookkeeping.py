"""The bot's bookkeeping beside the seed's tables: cards, request keys, build attempts, owed messages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import BuildState, NotificationState
from core.models.base import (
    MYSQL_DIALECTS,
    OUR_TABLE_ARGS,
    Base,
    IdType,
    ProseType,
    ReleaseRefType,
    TenantIdType,
    Timestamped,
    enum_column,
    new_id,
)


class ReleaseCard(Timestamped, Base):
    """A release's card: owed until posted (messageTs), then redrawn whenever `revision` moves past
    `drawnRevision`. One row per release, so however deliveries race there is one card."""

    __tablename__ = "release_cards"
    __table_args__ = (Index("ix_release_cards_due", "nextAttemptAt"), OUR_TABLE_ARGS)

    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    channelId: Mapped[str] = mapped_column(IdType)
    messageTs: Mapped[str | None] = mapped_column(IdType)
    originChannelId: Mapped[str | None] = mapped_column(IdType)  # where the requester asked: told there
    requestedByAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))
    revision: Mapped[int] = mapped_column(server_default=text("1"))
    drawnRevision: Mapped[int] = mapped_column(server_default=text("0"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    nextAttemptAt: Mapped[datetime | None] = mapped_column(DateTime)
    lastError: Mapped[str | None] = mapped_column(ProseType)
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)
    # Slack's link to the card (chat.getPermalink when first posted): the epics and the App Home link it.
    permalink: Mapped[str | None] = mapped_column(String(512).with_variant(mysql.VARCHAR(512, charset="latin1"), *MYSQL_DIALECTS))


class RequestKey(Base):
    """A request already carried out (a modal submission, a button click): repeats find its result."""

    __tablename__ = "request_keys"
    __table_args__ = (UniqueConstraint("tenantId", "scope", "requestKey", name="uq_request_keys_scope_key"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(64))
    requestKey: Mapped[str] = mapped_column(IdType)
    resultId: Mapped[str] = mapped_column(IdType)
    createdAt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.current_timestamp())


class PipelineBuild(Timestamped, Base):
    """One build attempt of a release's pipeline: the intent, the CI's handle on it, its end."""

    __tablename__ = "pipeline_builds"
    __table_args__ = (
        UniqueConstraint("releasePipelineId", "attempt", name="uq_pipeline_builds_attempt"),
        UniqueConstraint("idempotencyKey", name="uq_pipeline_builds_idempotencyKey"),
        Index("ix_pipeline_builds_due", "state", "nextCheckAt"),
        OUR_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releasePipelineId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("release_pipelines.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column()
    idempotencyKey: Mapped[str] = mapped_column(IdType)
    triggeredByAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))
    state: Mapped[BuildState] = mapped_column(enum_column(BuildState, "build_state"))
    queueId: Mapped[str | None] = mapped_column(String(255))
    buildNumber: Mapped[str | None] = mapped_column(String(255))
    buildUrl: Mapped[str | None] = mapped_column(String(512))
    buildLogUrl: Mapped[str | None] = mapped_column(String(512))
    artifactUrl: Mapped[str | None] = mapped_column(String(512))
    durationSeconds: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(ProseType)  # shown to everyone on the card
    errorDetail: Mapped[str | None] = mapped_column(ProseType)  # for admins: operator detail behind `error`
    failures: Mapped[int] = mapped_column(server_default=text("0"))
    abortRequestedAt: Mapped[datetime | None] = mapped_column(DateTime)  # the runner stops it on the CI
    abortedByAccountId: Mapped[str | None] = mapped_column(IdType, ForeignKey("accounts.id", ondelete="SET NULL"))
    requestedAt: Mapped[datetime] = mapped_column(DateTime)
    finishedAt: Mapped[datetime | None] = mapped_column(DateTime)
    nextCheckAt: Mapped[datetime | None] = mapped_column(DateTime)
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)


class Notification(Timestamped, Base):
    """A message owed to a release's channel: posted once, retried until it is."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("dedupeKey", name="uq_notifications_dedupeKey"),
        Index("ix_notifications_due", "state", "nextAttemptAt"),
        Index("ix_notifications_release", "releaseId", "state"),  # a release's lines wait for the older ones
        OUR_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseId: Mapped[str] = mapped_column(ReleaseRefType, ForeignKey("releases.id", ondelete="CASCADE"))
    buildId: Mapped[str | None] = mapped_column(IdType, ForeignKey("pipeline_builds.id", ondelete="CASCADE"))
    eventId: Mapped[int | None] = mapped_column(ForeignKey("release_events.id", ondelete="CASCADE"))  # a thread line of a change
    kind: Mapped[str] = mapped_column(String(32))
    dedupeKey: Mapped[str] = mapped_column(IdType)
    state: Mapped[NotificationState] = mapped_column(enum_column(NotificationState, "notification_state"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    nextAttemptAt: Mapped[datetime | None] = mapped_column(DateTime)
    lastError: Mapped[str | None] = mapped_column(ProseType)
    messageTs: Mapped[str | None] = mapped_column(String(64))
    claimedBy: Mapped[str | None] = mapped_column(String(255))
    claimedUntil: Mapped[datetime | None] = mapped_column(DateTime)
