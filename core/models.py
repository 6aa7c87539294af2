"""SQLAlchemy 2.x typed models. The schema itself is created only by the Alembic migrations.

The three release tables follow the seed's DDL column by column (camelCase names, latin1 tables,
`tenantId CHAR(36) latin1_bin`). Deliberate differences: text a person types is utf8mb4, and the
integration tables carry an index for the dropdown query (tenant, active, verified).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.enums import (
    BuildState,
    BuildStatus,
    CommunicationType,
    NotificationState,
    PipelineType,
    ReleaseStatus,
    ReleaseType,
    Role,
    ScmType,
    TargetStatus,
    TargetType,
    TaskState,
    TicketType,
    VerificationStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

_MY = ("mysql", "mariadb")
# Identifiers are ASCII: latin1 keeps them byte-compatible with the seed's latin1 foreign keys.
IdType = String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
TenantIdType = String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
# Text a person types: utf8mb4 so emoji and every script survive (the seed's latin1 would not).
NameType = String(255).with_variant(
    mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY
)
ProseType = Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)

SEED_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "latin1"}
OUR_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def new_id() -> str:
    """A fresh primary key."""
    return str(uuid.uuid4())


def enum_column(enum_cls: type, name: str) -> Enum:
    """A native ENUM on MySQL whose values are the Python enum's values."""
    return Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    """createdAt / updatedAt as the seed declares them (the ON UPDATE clause is added on MySQL)."""

    createdAt: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.current_timestamp())
    updatedAt: Mapped[datetime | None] = mapped_column(
        DateTime, server_default=func.current_timestamp(), onupdate=func.current_timestamp()
    )


# --- tenancy -------------------------------------------------------------------------------


class Tenant(Timestamped, Base):
    """A Slack workspace that installed the bot."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("slackTeamId", name="uq_tenants_slackTeamId"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(TenantIdType, primary_key=True, default=new_id)
    slackTeamId: Mapped[str] = mapped_column(IdType)
    slackEnterpriseId: Mapped[str | None] = mapped_column(IdType)
    name: Mapped[str] = mapped_column(NameType)


class Account(Timestamped, Base):
    """A Slack user of a tenant."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("tenantId", "slackUserId", name="uq_accounts_tenant_user"),
        OUR_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    slackUserId: Mapped[str] = mapped_column(IdType)
    displayName: Mapped[str] = mapped_column(NameType)
    role: Mapped[Role] = mapped_column(enum_column(Role, "account_role"), server_default=Role.MEMBER.value)


# --- integrations --------------------------------------------------------------------------


class IntegrationColumns(Timestamped):
    """What every integration row holds: ownership, state of verification, encrypted credentials."""

    # sort_order puts the shared columns first in the table, where a reader looks for them.
    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id, sort_order=-3)
    tenantId: Mapped[str] = mapped_column(
        TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"), sort_order=-2
    )
    displayName: Mapped[str] = mapped_column(NameType, sort_order=-1)
    baseUrl: Mapped[str | None] = mapped_column(String(512))
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    encryptedCredentials: Mapped[str | None] = mapped_column(Text)
    isActive: Mapped[bool] = mapped_column(Boolean, server_default=text("1"))
    verificationStatus: Mapped[VerificationStatus] = mapped_column(
        enum_column(VerificationStatus, "verification_status"), server_default=VerificationStatus.PENDING.value
    )
    lastVerifiedAt: Mapped[datetime | None] = mapped_column(DateTime)
    verificationError: Mapped[str | None] = mapped_column(ProseType)
    removedAt: Mapped[datetime | None] = mapped_column(DateTime)  # hidden, kept for the ended releases naming it


def _dropdown_index(table: str) -> Index:
    # The modal lists a tenant's active, verified integrations by name, 100 at most: one index serves that
    # query in order, so the database stops after the first 100 matches (migration 0012).
    return Index(f"ix_{table}_options", "tenantId", "isActive", "verificationStatus", "displayName", "id")


class ScmIntegration(IntegrationColumns, Base):
    """A source repository: GitHub (or Enterprise), GitLab (or self-hosted), Bitbucket Cloud."""

    __tablename__ = "tenant_scm_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    scmType: Mapped[ScmType] = mapped_column(enum_column(ScmType, "scm_type"))
    organization: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255))
    defaultBranch: Mapped[str] = mapped_column(String(255), server_default="main")


class TargetIntegration(IntegrationColumns, Base):
    """A store listing: App Store Connect app or Google Play package."""

    __tablename__ = "tenant_target_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    targetType: Mapped[TargetType] = mapped_column(enum_column(TargetType, "target_type"))
    appIdentifier: Mapped[str] = mapped_column(String(255))


class PipelineIntegration(IntegrationColumns, Base):
    """A CI job (Jenkins) or workflow (GitHub Actions); builds one SCM for one target."""

    __tablename__ = "tenant_pipeline_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    pipelineType: Mapped[PipelineType] = mapped_column(enum_column(PipelineType, "pipeline_type"))
    scmIntegrationId: Mapped[str] = mapped_column(
        IdType, ForeignKey("tenant_scm_integrations.id", ondelete="RESTRICT"), index=True
    )
    targetIntegrationId: Mapped[str] = mapped_column(
        IdType, ForeignKey("tenant_target_integrations.id", ondelete="RESTRICT"), index=True
    )
    jobPath: Mapped[str] = mapped_column(String(512))


class CommunicationIntegration(IntegrationColumns, Base):
    """Where a release is announced: a Slack channel, or an email list."""

    __tablename__ = "tenant_communication_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    communicationType: Mapped[CommunicationType] = mapped_column(
        enum_column(CommunicationType, "communication_type")
    )
    channelId: Mapped[str | None] = mapped_column(String(255))
    channelName: Mapped[str | None] = mapped_column(NameType)


class TicketIntegration(IntegrationColumns, Base):
    """Where epics are created: a Jira project or a Linear team."""

    __tablename__ = "tenant_ticket_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    ticketType: Mapped[TicketType] = mapped_column(enum_column(TicketType, "ticket_type"))
    projectKey: Mapped[str] = mapped_column(String(255))


# --- releases (the seed's three tables) ----------------------------------------------------


class Release(Timestamped, Base):
    """A release, as the seed's `releases` table."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("tenantId", "releaseKey", name="unique_tenant_release_key"),
        Index("idx_release_tenant", "tenantId", "status"),
        Index("idx_release_version", "tenantId", "version"),
        Index("idx_release_scm", "scmIntegrationId"),
        Index("idx_release_communication", "communicationIntegrationId"),
        Index("idx_release_ticket", "ticketIntegrationId"),
        SEED_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseKey: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    releaseType: Mapped[ReleaseType] = mapped_column(enum_column(ReleaseType, "release_type"))
    status: Mapped[ReleaseStatus] = mapped_column(
        enum_column(ReleaseStatus, "release_status"), server_default=ReleaseStatus.KICKOFF_PENDING.value
    )
    scmIntegrationId: Mapped[str] = mapped_column(
        String(255), ForeignKey("tenant_scm_integrations.id", ondelete="RESTRICT")
    )
    baseVersion: Mapped[str | None] = mapped_column(String(255))
    baseBranch: Mapped[str] = mapped_column(String(255))
    branchRelease: Mapped[str] = mapped_column(String(255))
    branchCodepush: Mapped[str | None] = mapped_column(String(255))
    primaryTargetId: Mapped[str | None] = mapped_column(String(255))
    communicationIntegrationId: Mapped[str | None] = mapped_column(
        String(255), ForeignKey("tenant_communication_integrations.id", ondelete="SET NULL")
    )
    ticketIntegrationId: Mapped[str | None] = mapped_column(
        String(255), ForeignKey("tenant_ticket_integrations.id", ondelete="SET NULL")
    )
    iOSEpicId: Mapped[str | None] = mapped_column(String(255))
    androidEpicId: Mapped[str | None] = mapped_column(String(255))
    webEpicId: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(ProseType)
    plannedDate: Mapped[datetime | None] = mapped_column(DateTime)
    targetReleaseDate: Mapped[datetime | None] = mapped_column(DateTime)
    releaseDate: Mapped[datetime | None] = mapped_column(DateTime)
    isDelayed: Mapped[bool | None] = mapped_column(Boolean, server_default=text("0"))
    delayedReason: Mapped[str | None] = mapped_column(ProseType)
    releasePilotId: Mapped[str | None] = mapped_column(
        String(255), ForeignKey("accounts.id", ondelete="SET NULL")
    )
    createdByAccountId: Mapped[str] = mapped_column(
        String(255), ForeignKey("accounts.id", ondelete="RESTRICT")
    )


class ReleaseTarget(Timestamped, Base):
    """A store target of a release, with its own status (the seed's `release_targets`)."""

    __tablename__ = "release_targets"
    __table_args__ = (
        UniqueConstraint("releaseId", "targetIntegrationId", name="unique_release_target"),
        Index("idx_target_release", "targetIntegrationId"),
        SEED_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True, default=new_id)
    releaseId: Mapped[str] = mapped_column(String(255), ForeignKey("releases.id", ondelete="CASCADE"))
    targetIntegrationId: Mapped[str] = mapped_column(
        String(255), ForeignKey("tenant_target_integrations.id", ondelete="RESTRICT")
    )
    buildNumber: Mapped[str | None] = mapped_column(String(255))
    submittedAt: Mapped[datetime | None] = mapped_column(DateTime)
    approvedAt: Mapped[datetime | None] = mapped_column(DateTime)
    targetStatus: Mapped[TargetStatus | None] = mapped_column(
        enum_column(TargetStatus, "target_status"), server_default=TargetStatus.PENDING.value
    )


class ReleasePipeline(Timestamped, Base):
    """A pipeline of a release and its build (the seed's `release_pipelines`)."""

    __tablename__ = "release_pipelines"
    __table_args__ = (
        UniqueConstraint("releaseId", "pipelineIntegrationId", name="unique_release_pipeline"),
        Index("idx_pipeline_release", "pipelineIntegrationId"),
        Index("idx_build_status", "buildStatus"),
        SEED_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True, default=new_id)
    releaseId: Mapped[str] = mapped_column(String(255), ForeignKey("releases.id", ondelete="CASCADE"))
    pipelineIntegrationId: Mapped[str] = mapped_column(
        String(255), ForeignKey("tenant_pipeline_integrations.id", ondelete="RESTRICT")
    )
    triggered: Mapped[bool | None] = mapped_column(Boolean, server_default=text("0"))
    triggeredAt: Mapped[datetime | None] = mapped_column(DateTime)
    buildUrl: Mapped[str | None] = mapped_column(String(512))
    buildStatus: Mapped[BuildStatus | None] = mapped_column(
        enum_column(BuildStatus, "build_status"), server_default=BuildStatus.PENDING.value
    )
    buildNumber: Mapped[str | None] = mapped_column(String(255))
    artifactUrl: Mapped[str | None] = mapped_column(String(512))
    buildLogUrl: Mapped[str | None] = mapped_column(String(512))


INTEGRATION_MODELS = {
    "scm": ScmIntegration,
    "target": TargetIntegration,
    "pipeline": PipelineIntegration,
    "communication": CommunicationIntegration,
    "ticket": TicketIntegration,
}


# --- bot bookkeeping (ours, beside the seed's tables) --------------------------------------


class ReleaseCard(Timestamped, Base):
    """A release's card: owed until posted (messageTs), then redrawn whenever `revision` moves past
    `drawnRevision`. One row per release, so however deliveries race there is one card."""

    __tablename__ = "release_cards"
    __table_args__ = (Index("ix_release_cards_due", "nextAttemptAt"), OUR_TABLE_ARGS)

    releaseId: Mapped[str] = mapped_column(
        String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY),
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True,
    )
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
    permalink: Mapped[str | None] = mapped_column(String(512).with_variant(mysql.VARCHAR(512, charset="latin1"), *_MY))


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
    releasePipelineId: Mapped[str] = mapped_column(
        String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY),
        ForeignKey("release_pipelines.id", ondelete="CASCADE"),
    )
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
    releaseId: Mapped[str] = mapped_column(
        String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY),
        ForeignKey("releases.id", ondelete="CASCADE"),
    )
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


# --- the release's life (ours: the seed's tables get no new columns) ----------------------

ReleaseRefType = String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
# Microseconds on MySQL: two events of one click keep their order when read by time.
EventTimeType = DateTime().with_variant(mysql.DATETIME(fsp=6), *_MY)


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


# --- the stores (issue 12): what was asked of a target's store, and what the store says ------------


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


# --- Slack installations (OAuth mode) -----------------------------------------------------------


class SlackInstallation(Base):
    """The app installed in a workspace (or, org-wide, in an Enterprise Grid org) through Slack's OAuth
    flow: its bot token, encrypted. One row per workspace or org, updated on re-install and rotation;
    uninstalling clears the tokens and keeps the row (and the tenant's data)."""

    __tablename__ = "slack_installations"
    __table_args__ = (UniqueConstraint("enterpriseId", "teamId", name="uq_slack_installations_enterprise_team"),
                      Index("ix_slack_installations_tenantId", "tenantId"), OUR_TABLE_ARGS)

    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id)
    # The workspace's tenant; None for an org-wide install (each workspace of the org is its own tenant).
    tenantId: Mapped[str | None] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    enterpriseId: Mapped[str] = mapped_column(IdType, server_default="")  # "" when absent (a unique key ignores NULLs)
    teamId: Mapped[str] = mapped_column(IdType, server_default="")  # "" for an org-wide install
    isEnterpriseInstall: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    appId: Mapped[str | None] = mapped_column(IdType)
    name: Mapped[str | None] = mapped_column(NameType)  # the workspace's (or org's) name
    installerUserId: Mapped[str | None] = mapped_column(IdType)
    botId: Mapped[str | None] = mapped_column(IdType)
    botUserId: Mapped[str | None] = mapped_column(IdType)
    botScopes: Mapped[str | None] = mapped_column(Text)
    credentials: Mapped[str | None] = mapped_column(Text)  # encrypted {bot_token, bot_refresh_token}; None once revoked
    botTokenExpiresAt: Mapped[datetime | None] = mapped_column(DateTime)  # with token rotation
    isActive: Mapped[bool] = mapped_column(Boolean, server_default=text("1"))
    installedAt: Mapped[datetime] = mapped_column(DateTime)
    deactivatedAt: Mapped[datetime | None] = mapped_column(DateTime)
    deactivatedReason: Mapped[str | None] = mapped_column(String(64))


class SlackOAuthState(Base):
    """A state handed to one browser at /slack/install, consumed once at /slack/oauth_redirect."""

    __tablename__ = "slack_oauth_states"
    __table_args__ = (Index("ix_slack_oauth_states_expiresAt", "expiresAt"), OUR_TABLE_ARGS)

    state: Mapped[str] = mapped_column(IdType, primary_key=True)
    expiresAt: Mapped[datetime] = mapped_column(DateTime)


# --- integrations managed from Slack ------------------------------------------------------


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
